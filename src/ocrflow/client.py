"""A client of a deployed ocrflow API, for web backends and for `ocrflow submit`.

`OcrflowClient(base_url, api_key)` speaks the API as its OpenAPI document says (the answers are validated into
the API's own models: `CreatedJob`, `JobView`, `JobResult`):

    with OcrflowClient("https://abc.execute-api.eu-west-1.amazonaws.com/prod", key) as client:
        done = client.ocr_file(Path("scan.pdf"), outputs=["json", "txt", "pdf", "alto"])
        done.files["alto"]  # the bytes of document.alto.xml

A file's job is created with an Idempotency-Key made from its bytes and the job's options: the same file sent
again with the same options - after a crash, a lost answer, a re-run of a folder - finds its job (a fresh
upload slot, never a second job). A job that already succeeded is not uploaded again; one still waiting for its
upload gets it. Errors are typed (`ApiError` with the API's `code`), never an httpx exception.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from ocrflow.api.models import CreatedJob, JobResult, JobView
from ocrflow.cli.inputs import read_input
from ocrflow.errors import OcrflowError
from ocrflow.inputs.inspection import sniff_media_type
from ocrflow.inputs.limits import InputLimits
from ocrflow.workflow.models import ENDED

Answer = TypeVar("Answer", bound=BaseModel)


class ApiError(OcrflowError):
    """The API refused or failed a request, or could not be reached; `code` is the API's own where it gave one."""

    code = "api_error"

    def __init__(self, message: str, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code
        self.status = status


@dataclass
class FileResult:
    """A file's job once it ended: its view, and the bytes of each output it asked for (by kind)."""

    job: JobView
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.job.status.value == "succeeded"


class OcrflowClient:
    def __init__(self, base_url: str, api_key: str, *, timeout: float = 30.0, poll_seconds: float = 1.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.poll_seconds = poll_seconds
        retries = httpx.HTTPTransport(retries=3) if transport is None else transport  # connection errors only
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers={"X-Api-Key": api_key},
                                  timeout=timeout, transport=retries)
        self._files = httpx.Client(timeout=max(timeout, 120.0), transport=transport)  # presigned S3 URLs

    def __enter__(self) -> OcrflowClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()
        self._files.close()

    # --- the API's calls ---------------------------------------------------------------------------------

    def create_job(self, filename: str, content_type: str, size: int, *, idempotency_key: str | None = None,
                   **options: object) -> CreatedJob:
        body = {"filename": filename, "content_type": content_type, "size": size,
                **{k: v for k, v in options.items() if v is not None}}
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return _answer(CreatedJob, self._call("POST", "/v1/jobs", json=body, headers=headers))

    def job(self, job_id: str) -> JobView:
        return _answer(JobView, self._call("GET", f"/v1/jobs/{job_id}"))

    def result(self, job_id: str) -> JobResult:
        return _answer(JobResult, self._call("GET", f"/v1/jobs/{job_id}/result"))

    def upload(self, created: CreatedJob, data: bytes) -> None:
        if created.upload is None:
            raise ApiError("the job has no upload slot (it was made from a source_url)", "no_upload_slot")
        try:
            answer = self._files.request(created.upload.method, created.upload.url, headers=created.upload.headers,
                                         content=data)
        except httpx.HTTPError as exc:
            raise ApiError(f"the upload did not arrive: {exc}", "upload_failed") from None
        if answer.status_code >= 300:
            raise ApiError(f"the upload was refused (HTTP {answer.status_code})", "upload_failed",
                           answer.status_code)

    def wait(self, job_id: str, timeout: float = 900.0,
             on_progress: Callable[[JobView], None] | None = None) -> JobView:
        """The job once it ended; ApiError `timeout` when it has not within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            view = self.job(job_id)
            if on_progress:
                on_progress(view)
            if view.status in ENDED:
                return view
            if time.monotonic() >= deadline:
                raise ApiError(f"the job {job_id} is still {view.status.value} after {timeout:.0f} s", "timeout")
            time.sleep(self.poll_seconds)

    def outputs_of(self, result: JobResult, kinds: Sequence[str]) -> dict[str, bytes]:
        """The bytes of each output asked for, inline or fetched from its presigned link."""
        files: dict[str, bytes] = {}
        for kind in kinds:
            if kind == "json":
                files[kind] = (json.dumps(result.document, indent=2, ensure_ascii=False).encode("utf-8")
                               if result.document is not None else self._download(result.document_url, kind))
            elif kind == "txt":
                files[kind] = ((result.text + "\n").encode("utf-8") if result.text is not None
                               else self._download(result.text_url, kind))
            else:
                url = {"pdf": result.searchable_pdf_url, "hocr": result.hocr_url, "alto": result.alto_url}[kind]
                files[kind] = self._download(url, kind)
        return files

    # --- one file, start to end --------------------------------------------------------------------------

    def ocr_file(self, path: Path, *, outputs: Sequence[str] = ("json", "txt", "pdf"), language: str | None = None,
                 provider: str | None = None, ocr_mode: str | None = None, timeout: float = 900.0,
                 on_progress: Callable[[JobView], None] | None = None) -> FileResult:
        """Create (or find again) the file's job, upload it if it is still waiting for it, wait for its end and
        fetch its outputs. Raises the typed input errors for a file that is no document, ApiError otherwise."""
        data = read_input(path, InputLimits().max_bytes)
        content_type = sniff_media_type(data)
        options = {"outputs": list(outputs), "language": language, "provider": provider, "ocr_mode": ocr_mode}
        created = self.create_job(path.name, str(content_type), len(data),
                                  idempotency_key=idempotency_key(data, options), **options)
        if created.job.status.value == "awaiting_upload":
            self.upload(created, data)
        job = self.wait(created.job.id, timeout, on_progress)
        if job.status.value != "succeeded":
            return FileResult(job)
        return FileResult(job, self.outputs_of(self.result(job.id), outputs))

    # --- plumbing ----------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: object) -> dict:
        try:
            answer = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(f"the API did not answer: {exc}", "api_unreachable") from None
        try:
            body = answer.json()
        except ValueError:
            body = None
        if answer.status_code >= 400:
            error = (body or {}).get("error") if isinstance(body, dict) else None
            error = error if isinstance(error, dict) else {}
            raise ApiError(error.get("message") or f"HTTP {answer.status_code}", error.get("code") or "api_error",
                           answer.status_code)
        if not isinstance(body, dict):
            raise ApiError(f"the API answered {method} {path} with no JSON object", "bad_answer", answer.status_code)
        return body

    def _download(self, url: str | None, kind: str) -> bytes:
        if not url:
            raise ApiError(f"the job's result has no {kind} (was it asked for?)", "missing_output")
        try:
            answer = self._files.get(url)
        except httpx.HTTPError as exc:
            raise ApiError(f"the {kind} result could not be fetched: {exc}", "download_failed") from None
        if answer.status_code != 200:
            raise ApiError(f"the {kind} result could not be fetched (HTTP {answer.status_code})", "download_failed",
                           answer.status_code)
        return answer.content


def _answer(model: type[Answer], body: dict) -> Answer:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise ApiError(f"the API's answer is not a {model.__name__}: {exc.error_count()} problems",
                       "bad_answer") from None


def idempotency_key(data: bytes, options: dict[str, object]) -> str:
    """The same file with the same options: the same key, whatever its name or when it is sent."""
    digest = hashlib.sha256(data)
    digest.update(json.dumps(options, sort_keys=True).encode())
    return f"ocrflow-submit-{digest.hexdigest()[:48]}"


__all__ = ["ApiError", "FileResult", "OcrflowClient", "idempotency_key"]
