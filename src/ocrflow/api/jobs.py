"""The API's job operations, scoped to the calling tenant: every read and write checks that the job is the
caller's, and a job of another tenant is answered exactly like a job that does not exist."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from ocrflow.api.deps import ApiDeps
from ocrflow.api.errors import (
    IdempotencyConflictError,
    InvalidRequestError,
    JobFailedError,
    JobInProgressError,
    JobNotFinishedError,
    JobNotFoundError,
    ProviderNotAllowedError,
)
from ocrflow.api.languages import check_job_languages
from ocrflow.api.models import (
    CreatedJob,
    CreateJobBody,
    JobPage,
    JobResult,
    JobView,
    SourceUrlJobBody,
    UploadJobBody,
    UploadSlot,
    Usage,
)
from ocrflow.api.tenants import Caller
from ocrflow.errors import FileTooLargeError
from ocrflow.inputs.inspection import sniff_media_type
from ocrflow.net.safe_http import check_url
from ocrflow.workflow.models import JobStatus, api_upload_key
from ocrflow.workflow.routing import AUTO, RouteEntry, candidates, parse_route, tenant_route
from ocrflow.workflow.storage import ObjectStore, parse_s3_uri

JOB_ID = re.compile(r"^[0-9a-f]{32}$")


# --- create -----------------------------------------------------------------------------------------------


def create_job(caller: Caller, body: CreateJobBody, idempotency_key: str | None, deps: ApiDeps) -> CreatedJob:
    """A new job: an upload slot the file goes to (the upload starts the workflow), or the file fetched from
    source_url. With an Idempotency-Key the same request gives the same job (and a fresh upload slot while the
    file has not arrived); the same key with another request is refused."""
    settings = deps.settings
    tenant = caller.tenant.tenant_id
    provider = body.provider.value if body.provider else settings.provider
    if provider not in settings.allowed_providers:
        raise ProviderNotAllowedError(f"provider {provider!r} is not offered here; choose one of "
                                      f"{', '.join(sorted(settings.allowed_providers))}")
    language = body.language or settings.lang
    ocr_mode = body.ocr_mode or settings.ocr_mode
    check_job_languages(language, _route(provider, tenant, deps))
    source_url = body.source_url if isinstance(body, SourceUrlJobBody) else None
    if body.callback_url is not None:
        check_url(body.callback_url, settings.callback_policy)
    if source_url is not None:
        check_url(source_url, settings.source_url_policy)
    max_bytes = deps.limits.max_bytes
    if isinstance(body, UploadJobBody) and body.size > max_bytes:
        raise FileTooLargeError(f"the file is {body.size:,} bytes; the limit is {max_bytes:,}", limit=max_bytes)
    fingerprint = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
    if idempotency_key is not None:
        job_id = hashlib.sha256(f"{tenant}\n{idempotency_key}".encode()).hexdigest()[:32]
        earlier = _replay(caller, job_id, fingerprint, deps)
        if earlier is not None:
            return earlier
    else:
        job_id = secrets.token_hex(16)

    fetched = None
    if isinstance(body, UploadJobBody):
        filename, content_type, size = body.filename, body.content_type, body.size
    else:
        fetched = deps.fetch(body.source_url, settings.source_url_policy, max_bytes=max_bytes,
                             timeout=min(settings.source_read_seconds, settings.source_fetch_seconds),
                             deadline_seconds=settings.source_fetch_seconds)
        content_type = sniff_media_type(fetched.data)
        filename = urlsplit(fetched.final_url).path.rsplit("/", 1)[-1] or "document"
        size = len(fetched.data)
    now = deps.now()
    record = {
        "job_id": job_id, "tenant": tenant, "status": JobStatus.AWAITING_UPLOAD.value, "filename": filename,
        "content_type": str(content_type), "size": size, "provider": provider, "languages": language,
        "ocr_mode": ocr_mode.value, "outputs": body.outputs, "callback_url": body.callback_url,
        "source_url": source_url,
        "upload_key": api_upload_key(settings.uploads_prefix, tenant, job_id, filename or "document"),
        "request_hash": fingerprint, "created_at": now.isoformat(), "updated_at": now.isoformat(),
        "expires_at": int((now + timedelta(hours=settings.upload_wait_hours)).timestamp()),
    }
    if not deps.jobs.create(record):  # the same Idempotency-Key, concurrently
        earlier = _replay(caller, job_id, fingerprint, deps)
        if earlier is not None:
            return earlier
        raise IdempotencyConflictError("this Idempotency-Key is in use by a request that is still being made")
    if fetched is not None:
        deps.s3.put_object(Bucket=settings.uploads_bucket, Key=record["upload_key"], Body=fetched.data,
                           ContentType=str(content_type), ServerSideEncryption="AES256")
        return CreatedJob(job=job_view(record))
    return CreatedJob(job=job_view(record), upload=_upload_slot(record, deps))


def _route(provider: str, tenant: str, deps: ApiDeps) -> list[RouteEntry]:
    """The providers the job may go to, as the workflow will route it (see `workflow.routing`)."""
    settings = deps.settings
    own_route = tenant_route(deps.tenants.table, tenant) if provider == AUTO else None
    return candidates(provider, own_route, parse_route(settings.route), settings.embedded_fallback)


def _replay(caller: Caller, job_id: str, fingerprint: str, deps: ApiDeps) -> CreatedJob | None:
    record = deps.jobs.get(job_id)
    if record is None or record.get("tenant") != caller.tenant.tenant_id:
        return None
    if record.get("request_hash") != fingerprint:
        raise IdempotencyConflictError("this Idempotency-Key was used with a different request")
    waiting = record["status"] == JobStatus.AWAITING_UPLOAD.value and not record.get("source_url")
    return CreatedJob(job=job_view(record), upload=_upload_slot(record, deps) if waiting else None)


def _upload_slot(record: dict[str, Any], deps: ApiDeps) -> UploadSlot:
    """A presigned PUT bound to the declared type and exact size (both are signed headers: S3 refuses any
    other), valid for a short time."""
    seconds = deps.settings.upload_url_seconds
    url = deps.s3.generate_presigned_url("put_object", ExpiresIn=seconds, Params={
        "Bucket": deps.settings.uploads_bucket, "Key": record["upload_key"], "ContentType": record["content_type"],
        "ContentLength": record["size"], "ServerSideEncryption": "AES256"})
    return UploadSlot(url=url, headers={"Content-Type": record["content_type"],
                                        "x-amz-server-side-encryption": "AES256"},
                      max_bytes=record["size"], expires_at=deps.now() + timedelta(seconds=seconds))


# --- read -------------------------------------------------------------------------------------------------


def job_view(record: dict[str, Any]) -> JobView:
    error = record.get("error")
    cost = None
    if record.get("status") == JobStatus.SUCCEEDED.value:
        cost = {"pages": record.get("pages"), "provider_credits": record.get("credits_used")}
    return JobView(
        id=record["job_id"], status=record["status"], filename=record.get("filename"),
        content_type=record.get("content_type") or record.get("media_type"), size=record.get("size"),
        pages=record.get("pages"), pages_done=_pages_done(record), provider=record.get("provider", ""),
        language=record.get("languages", ""), ocr_mode=record.get("ocr_mode", "auto"),
        outputs=record.get("outputs") or ["json", "txt", "pdf"], created_at=record["created_at"],
        started_at=record.get("started_at"), finished_at=record.get("finished_at"), seconds=record.get("seconds"),
        error={"code": error.get("code", "internal_error"), "message": error.get("message", "")} if error else None,
        cost=cost, callback_url=record.get("callback_url"), webhook=record.get("webhook"),
        routing=record.get("routing") or [],
    )


def _pages_done(record: dict[str, Any]) -> int | None:
    """The pages counted done, never more than the document has (a count is an ADD: a page range counted
    twice by a retried step must not show 12 of 10)."""
    done = record.get("pages_done")
    if done is None:
        return None
    pages = record.get("pages")
    return min(int(done), int(pages)) if pages is not None else int(done)


def _own_record(caller: Caller, job_id: str, deps: ApiDeps) -> dict[str, Any]:
    record = deps.jobs.get(job_id) if JOB_ID.match(job_id) else None
    if record is None or record.get("tenant") != caller.tenant.tenant_id:
        raise JobNotFoundError(f"no job {job_id!r}")
    return record


def get_job(caller: Caller, job_id: str, deps: ApiDeps) -> JobView:
    return job_view(_own_record(caller, job_id, deps))


def list_jobs(caller: Caller, limit: int, cursor: str | None, deps: ApiDeps) -> JobPage:
    items, following = deps.jobs.list_for_tenant(caller.tenant.tenant_id, limit, _decode_cursor(cursor))
    return JobPage(jobs=[job_view(item) for item in items],
                   next_cursor=_encode_cursor(following) if following else None)


CURSOR = re.compile(r"^([0-9]{1,16})\.([0-9a-f]{32})$")


def _encode_cursor(position: dict[str, str]) -> str:
    """`<created_at in microseconds>.<job id>`: opaque to callers, and any string of this shape is a valid
    position (so the spec can state the shape exactly)."""
    created = datetime.fromisoformat(position["created_at"])
    return f"{round(created.timestamp() * 1_000_000)}.{position['job_id']}"


def _decode_cursor(cursor: str | None) -> dict[str, str] | None:
    """The position a cursor names. Only the position travels: the tenant always comes from the caller."""
    if not cursor:
        return None
    match = CURSOR.match(cursor)
    if not match:
        raise InvalidRequestError("the cursor is not one this API gave out")
    created = datetime.fromtimestamp(int(match[1]) / 1_000_000, UTC)
    return {"created_at": created.isoformat(), "job_id": match[2]}


def job_result(caller: Caller, job_id: str, deps: ApiDeps) -> JobResult:
    """The normalized document and text (inline when small, else presigned links) and the searchable PDF."""
    record = _own_record(caller, job_id, deps)
    status = record["status"]
    if status == JobStatus.FAILED.value:
        error = record.get("error") or {}
        raise JobFailedError(f"the job failed: {error.get('code', 'internal_error')}: {error.get('message', '')}")
    if status != JobStatus.SUCCEEDED.value:
        raise JobNotFinishedError(f"the job is {status}; ask again when it has succeeded")
    seconds = deps.settings.download_url_seconds
    results = {kind: parse_s3_uri(uri) for kind, uri in (record.get("results") or {}).items()}
    result = JobResult(job_id=job_id, expires_at=deps.now() + timedelta(seconds=seconds))
    if "json" in results:
        body = _inline(results["json"], deps)
        result.document = json.loads(body) if body is not None else None
        result.document_url = None if body is not None else _download_url(results["json"], deps)
    if "txt" in results:
        body = _inline(results["txt"], deps)
        result.text = body.decode() if body is not None else None
        result.text_url = None if body is not None else _download_url(results["txt"], deps)
    if "pdf" in results:
        result.searchable_pdf_url = _download_url(results["pdf"], deps)
    if "hocr" in results:
        result.hocr_url = _download_url(results["hocr"], deps)
    if "alto" in results:
        result.alto_url = _download_url(results["alto"], deps)
    return result


def _inline(location: tuple[str, str], deps: ApiDeps) -> bytes | None:
    """The object's bytes when small enough to answer inline (one GET; a large body is left unread)."""
    bucket, key = location
    found = deps.s3.get_object(Bucket=bucket, Key=key)
    with found["Body"] as body:
        return body.read() if found["ContentLength"] <= deps.settings.inline_result_bytes else None


def _download_url(location: tuple[str, str], deps: ApiDeps) -> str:
    bucket, key = location
    return deps.s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                          ExpiresIn=deps.settings.download_url_seconds)


# --- delete -----------------------------------------------------------------------------------------------


def delete_job(caller: Caller, job_id: str, deps: ApiDeps) -> None:
    """Delete the job's input (every stored version of it) and its results, then the job (its tombstone
    stays: a file its presigned PUT still brings is removed on arrival). A running job is refused: it would
    write its results again."""
    record = _own_record(caller, job_id, deps)
    if record["status"] == JobStatus.RUNNING.value:
        raise JobInProgressError("the job is running; delete it when it has ended")
    settings = deps.settings
    store = ObjectStore(deps.s3)
    source = record.get("source") or {}
    if record.get("upload_key"):
        store.delete_versions(settings.uploads_bucket, record["upload_key"])
    elif source.get("key"):
        extra = {"VersionId": source["version_id"]} if source.get("version_id") else {}
        deps.s3.delete_object(Bucket=source["bucket"], Key=source["key"], **extra)
    store.delete_prefix(settings.results_bucket, f"{settings.results_prefix}{record['tenant']}/{job_id}/")
    if not deps.jobs.delete(job_id, expected_status=record["status"],
                            upload_url_seconds=settings.upload_url_seconds):
        raise JobInProgressError("the job started while it was being deleted; delete it when it has ended")


# --- usage ------------------------------------------------------------------------------------------------


def usage(caller: Caller, deps: ApiDeps) -> Usage:
    """The balance as authentication read it for this request, and the usage counted so far."""
    tenant = caller.tenant
    return Usage(tenant=tenant.tenant_id, credits=tenant.credits, periods=deps.tenants.usage(tenant.tenant_id))

