"""The report's charts (matplotlib, PNG): clear titles, labelled axes with units."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from socialcredit.catalog.models import Catalog
from socialcredit.report.data import ReportData

GRADE_ORDER = ("AAA", "AA", "A", "B", "C", "D")
COLOURS = ("#1f5f8b", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d96a3", "#2e4057", "#b56576", "#6d597a")


def _figure(width: float = 9.0, height: float = 4.5) -> tuple[Figure, Axes]:
    fig, ax = plt.subplots(figsize=(width, height), dpi=110)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)
    return fig, ax


def _save(fig: Figure, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path.name


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#666666")
    ax.set_xticks([])
    ax.set_yticks([])


def _hbar(path: Path, items: list[tuple[str, int]], title: str, xlabel: str, empty: str) -> str:
    longest = max((len(k) for k, _ in items), default=0)
    fig, ax = _figure(9.0 + max(0, longest - 30) * 0.07, max(2.5, 0.42 * len(items) + 1.4))
    ax.grid(axis="y", alpha=0)
    ax.grid(axis="x", alpha=0.3)
    if not items:
        _empty(ax, empty)
    else:
        labels = [k for k, _ in items][::-1]
        values = [v for _, v in items][::-1]
        bars = ax.barh(labels, values, color=COLOURS[0])
        ax.bar_label(bars, labels=[f"{v:,}" for v in values], padding=3, fontsize=8)
        ax.set_xlabel(xlabel)
        ax.margins(x=0.12)
    fig.suptitle(title, x=0.01, ha="left", fontweight="bold")
    return _save(fig, path)


def scores(path: Path, data: ReportData, catalog: Catalog) -> str:
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.5), dpi=110, gridspec_kw={"width_ratios": [2.2, 1]})
    for a in (ax, bx):
        a.spines[["top", "right"]].set_visible(False)
        a.grid(axis="y", alpha=0.3)
    if not data.scores:
        _empty(ax, "no subject has consented to scoring")
        _empty(bx, "no grades")
    else:
        ax.hist(data.scores, bins=60, color=COLOURS[0])
        ax.set_yscale("log")
        if catalog.points is not None:
            lo, hi = ax.get_xlim()
            for band in catalog.points.grades:
                if band.min is not None and lo < band.min < hi:
                    ax.axvline(band.min - 0.5, color="#999999", lw=0.8, ls="--")
                left = max(lo, band.min if band.min is not None else lo)
                right = min(hi, band.max + 1 if band.max is not None else hi)
                if right <= left:
                    continue
                narrow = (right - left) < 0.08 * (hi - lo)
                ax.text(
                    (left + right) / 2,
                    0.98,
                    band.grade,
                    transform=ax.get_xaxis_transform(),
                    fontsize=8,
                    color="#333333",
                    ha="center",
                    va="top",
                    rotation=90 if narrow else 0,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1, "alpha": 0.85},
                )
        ax.set_xlabel("score (points; base 1000)")
        ax.set_ylabel("subjects (log scale)")
        total = sum(data.grades.values())
        grades = [g for g in GRADE_ORDER if g in data.grades] + [g for g in data.grades if g not in GRADE_ORDER]
        shares = [100 * data.grades[g] / total for g in grades]
        bars = bx.bar(grades, shares, color=COLOURS[3])
        bx.bar_label(bars, labels=[f"{s:.1f}%" for s in shares], fontsize=8)
        bx.set_ylabel("share of consenting subjects (%)")
        bx.set_xlabel("grade")
        bx.margins(y=0.15)
    ax.set_title(f"Score distribution of consenting subjects ({len(data.scores):,})", loc="left", fontweight="bold")
    bx.set_title("Grade shares", loc="left", fontweight="bold")
    return _save(fig, path)


def _lines(path: Path, series: dict[str, list[tuple[Any, int]]], title: str, ylabel: str, empty: str) -> str:
    fig, ax = _figure()
    shown = {k: v for k, v in series.items() if any(n for _, n in v)}
    if not shown:
        _empty(ax, empty)
    else:
        for i, (name, points) in enumerate(sorted(shown.items())):
            xs: list[Any] = [d for d, _ in points]
            ax.plot(xs, [n for _, n in points], label=name, color=COLOURS[i % len(COLOURS)], lw=1.8)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))  # type: ignore[no-untyped-call]
        ax.set_xlabel("month")
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        ax.legend(frameon=False, fontsize=8, ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    ax.set_title(title, loc="left", fontweight="bold")
    return _save(fig, path)


def lists_over_time(path: Path, data: ReportData) -> str:
    series = {k: [(d, n) for d, n in v] for k, v in data.list_sizes_monthly.items()}
    return _lines(path, series, "List sizes over time (month ends)", "subjects on the list", "no list entries")


def _grouped(series: dict[str, list[tuple[Any, int]]]) -> dict[str, list[tuple[Any, int]]]:
    """Measures with the same series (attached to the same lists) as one line."""
    groups: dict[tuple[tuple[Any, int], ...], list[str]] = {}
    for name, points in sorted(series.items()):
        groups.setdefault(tuple(points), []).append(name)
    out = {}
    for key, names in groups.items():
        label = textwrap.fill(", ".join(names), 60) if len(names) > 1 else names[0]
        out[label] = list(key)
    return out


def new_restrictions(path: Path, data: ReportData) -> str:
    series = _grouped({k: [(d, n) for d, n in v] for k, v in data.new_restrictions_monthly.items()})
    return _lines(
        path,
        series,
        "New restrictions per month by measure (directly listed subjects)",
        "restrictions starting in the month",
        "no restriction started in the period",
    )


def incentives(path: Path, data: ReportData) -> str:
    items = list(data.incentives_by_measure.items())
    return _hbar(path, items, f"Incentives in force on {data.as_of}", "subjects granted the incentive", "no incentives")


def reasons(path: Path, data: ReportData) -> str:
    return _hbar(
        path, data.top_reasons, "Top reasons for listing (current entries)", "list entries", "nobody is listed"
    )


def rejects(path: Path, data: ReportData) -> str:
    items = list(data.rejects_by_reason.items())[:12]
    return _hbar(path, items, "Rejected rows by reason", "rejected rows (by error)", "no row was rejected")


def wrong_person(path: Path, data: ReportData) -> str:
    w = data.wrong_person
    items: list[tuple[str, int]] = []
    if w is not None:
        items = [
            ("transposed codes in the files", w.injected),
            ("accepted (the check passes)", w.accepted),
            ("innocent subjects listed", w.listed_subjects),
            ("innocent subjects restricted", w.restricted_subjects),
            ("restriction measures on them", w.restrictions),
            ("innocent scores lowered", w.scored_subjects),
        ]
    return _hbar(
        path,
        items,
        "Wrong-person harm from injected errors",
        "count",
        "no ground truth (run on a simulated city to measure this)",
    )
