"""Screening jobs: upload a file of identity codes and an action, follow the job, fetch the
result (CSV or Parquet). Relying parties screen only actions matching their purposes and see
only their own jobs; operators may screen any action and see every job."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from socialcredit.api.auth import Principal, allow, platform
from socialcredit.api.errors import ApiError, error_responses
from socialcredit.api.models import IsoDate, ScreeningJob
from socialcredit.api.platform import Platform
from socialcredit.api.routes.check import known_action, purpose_for
from socialcredit.api.screenings import UploadError, read_upload

router = APIRouter(tags=["screenings"])
Screener = Annotated[Principal, Depends(allow("relying_party", "operator"))]
Serving = Annotated[Platform, Depends(platform)]
JobId = Annotated[str, Path(description="The job's id", examples=["job-3f9c2a61b0d4"], max_length=64)]
_ACCESS = ("unauthorized", "invalid_key", "forbidden")
_MEDIA = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


def _out(job: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in job.items() if k != "key_id"}
    shown["result"] = f"/api/v1/screenings/{job['job_id']}/result" if job["status"] == "done" else None
    return shown


def _own_job(who: Principal, serving: Platform, job_id: str) -> dict[str, Any]:
    job = serving.jobs.get(job_id)
    visible = job is not None and (who.role == "operator" or (who.key is not None and job["key_id"] == who.key.id))
    if job is None or not visible:
        raise ApiError("not_found", f"no screening job {job_id!r} of this key", {"job_id": job_id})
    return job


@router.post(
    "/screenings",
    response_model=ScreeningJob,
    status_code=202,
    responses=error_responses(
        *_ACCESS, "purpose_not_allowed", "unknown_action", "invalid_file", "invalid_request", "body_too_large"
    ),
)
def submit_screening(
    who: Screener,
    serving: Serving,
    file: Annotated[UploadFile, File(description="CSV (optionally gzipped) or Parquet file of identity codes")],
    action: Annotated[str, Form(description="The action to check for every code", examples=["flight.economy"])],
    column: Annotated[
        str | None, Form(max_length=200, description="Column of the codes (default: subject_id, else the first)")
    ] = None,
    as_of: Annotated[IsoDate | None, Form(description="Date of the action (default: today when the job runs)")] = None,
    purpose: Annotated[
        str | None, Form(max_length=200, description="Operators: why the screening is done (logged)")
    ] = None,
) -> dict[str, Any]:
    """Queue a screening of every code of the file for one action (202 with the job). Every
    screened row is logged with its own decision id before the job is reported done."""
    known_action(serving, action)
    logged = purpose_for(who, action, purpose)
    try:
        codes = read_upload(file.filename or "", file.file, column, serving.jobs.uploads)
    except UploadError as exc:
        raise ApiError("invalid_file", str(exc), {"file": file.filename}) from None
    job = serving.jobs.submit(
        key_id=who.key.id if who.key else None,
        party=who.name,
        purpose=logged,
        action=action,
        as_of=as_of,
        file=file.filename or "upload",
        codes=codes,
    )
    return _out(job)


@router.get(
    "/screenings/{job_id}",
    response_model=ScreeningJob,
    responses=error_responses(*_ACCESS, "not_found", "invalid_request"),
)
def screening_status(who: Screener, serving: Serving, job_id: JobId) -> dict[str, Any]:
    """A job's status, stage and progress; its counts and result address once done."""
    return _out(_own_job(who, serving, job_id))


@router.get(
    "/screenings/{job_id}/result",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The screened rows: row, subject_id, valid, code, known, allowed, restrictions, "
            "lists, until, incentives, decision_id",
            "content": {"text/csv": {}, "application/vnd.apache.parquet": {}},
        },
        **error_responses(*_ACCESS, "not_found", "not_finished", "screening_failed", "invalid_request"),
    },
)
def screening_result(
    who: Screener,
    serving: Serving,
    job_id: JobId,
    format: Annotated[Literal["csv", "parquet"], Query(description="File format of the result")] = "csv",
) -> FileResponse:
    """The result of a finished job, one row per screened code in file order, read from the
    screening log."""
    job = _own_job(who, serving, job_id)
    if job["status"] == "failed":
        raise ApiError("screening_failed", f"the job failed: {job['error']}", {"job_id": job_id})
    if job["status"] != "done":
        raise ApiError("not_finished", f"the job is {job['status']}; try again later", {"job_id": job_id})
    path = serving.jobs.result_file(job, format)
    name = f"{FilePath(job['file']).name.split('.')[0] or 'screening'}-{job['screen_id']}.{format}"
    return FileResponse(
        path, media_type=_MEDIA[format], filename=name, background=BackgroundTask(path.unlink, missing_ok=True)
    )
