"""Prometheus metrics of the HTTP service (``GET /api/v1/metrics``, text exposition format).

Requests are counted and timed by route template (``/api/v1/check/{subject_id}/{action}``),
never by concrete path, so no identity code reaches the metrics. Decisions, screened rows and
submitted rows are counted where they are logged or written; readiness figures (data version,
age of the last derive, staleness, live screening jobs) are read when the metrics are scraped."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ServiceMetrics:
    """The service's own registry and its counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "socialcredit_http_requests",
            "HTTP requests answered, by method, route template and status code",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "socialcredit_http_request_duration_seconds",
            "Time from the request's arrival to the end of its response, by route template",
            ["route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.decisions = Counter(
            "socialcredit_decisions",
            "Check decisions logged, by answer (allowed or restricted)",
            ["answer"],
            registry=self.registry,
        )
        self.fast_checks = Counter(
            "socialcredit_fast_path_checks",
            "GET checks answered by the fast path (from the decision index, without the store)",
            registry=self.registry,
        )
        self.screened = Counter(
            "socialcredit_screened_rows",
            "Screened rows logged, by answer (allowed, restricted, invalid)",
            ["answer"],
            registry=self.registry,
        )
        self.jobs = Counter(
            "socialcredit_screening_jobs_finished",
            "Screening jobs finished, by status (done or failed)",
            ["status"],
            registry=self.registry,
        )
        self.submitted = Counter(
            "socialcredit_submitted_rows",
            "Rows submitted by agencies, by outcome (accepted, duplicate, rejected)",
            ["outcome"],
            registry=self.registry,
        )

    def watch(self, status: Callable[[], dict[str, Any]]) -> None:
        """Report the readiness figures ``status()`` returns at every scrape."""
        self.registry.register(_StatusCollector(status))

    def job_finished(self, job: dict[str, Any]) -> None:
        """Count a finished screening job and its rows."""
        self.jobs.labels(job["status"]).inc()
        for answer in ("allowed", "restricted", "invalid"):
            if job.get(answer):
                self.screened.labels(answer).inc(job[answer])


class _StatusCollector(Collector):
    def __init__(self, status: Callable[[], dict[str, Any]]) -> None:
        self.status = status

    def collect(self) -> Any:
        ready = self.status()
        yield GaugeMetricFamily(
            "socialcredit_published_seq", "Last published event of the log", value=ready["published_seq"]
        )
        yield GaugeMetricFamily(
            "socialcredit_stale", "1 when checks are answered by deriving on the fly", value=int(ready["stale"])
        )
        derived_at = ready["derived_at"]
        age = (datetime.now(UTC) - derived_at).total_seconds() if derived_at is not None else float("nan")
        yield GaugeMetricFamily("socialcredit_derive_age_seconds", "Seconds since the last derive", value=age)
        jobs = GaugeMetricFamily(
            "socialcredit_screening_jobs_live", "Screening jobs queued or running", labels=["status"]
        )
        for status, count in ready["jobs"].items():
            jobs.add_metric([status], count)
        yield jobs
        yield CounterMetricFamily(
            "socialcredit_decision_log_commits",
            "Commits of the decision log writer (each writes the checks of a group of requests)",
            value=ready["log_commits"],
        )
        yield GaugeMetricFamily("socialcredit_api_keys_active", "API keys not revoked", value=ready["keys"])


class RequestMetrics:
    """ASGI middleware counting and timing every HTTP request by its route template."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = getattr(route, "path_format", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], template, str(status)).inc()
            self.metrics.latency.labels(template).observe(time.perf_counter() - start)
