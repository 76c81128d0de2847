"""Typed errors. Every failure a user can cause or meet has a class, a stable code and one clear line.

Handlers, the CLI and the workflow turn these into records (`to_record`) - never into tracebacks.
"""

from __future__ import annotations

from typing import Any, ClassVar


class OcrflowError(Exception):
    """Base of every error ocrflow reports to a user."""

    code: ClassVar[str] = "internal_error"
    #: True when trying the same thing again later may succeed.
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, retryable: bool | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if retryable is not None:
            self.retryable = retryable  # type: ignore[misc]  # this one instance differs from its class

    def to_record(self) -> dict[str, Any]:
        """Plain-JSON form, for job records, workflow state and API bodies."""
        return {"code": self.code, "message": self.message, "retryable": self.retryable, **self.details}

    def __str__(self) -> str:
        return self.message


# --- bad input: never retried ------------------------------------------------------------------------------


class InputError(OcrflowError):
    """The document itself cannot be OCRed. Retrying will not help."""

    code = "bad_input"


class EmptyFileError(InputError):
    code = "empty_file"


class NotADocumentError(InputError):
    code = "not_a_document"


class UnsupportedTypeError(InputError):
    code = "unsupported_type"


class DamagedPdfError(InputError):
    code = "damaged_pdf"


class PasswordProtectedError(InputError):
    code = "password_protected"

    def __init__(self, message: str = "the PDF is password-protected; remove the password and send it again",
                 **details: Any) -> None:
        super().__init__(message, **details)


class ImageTooLargeError(InputError):
    code = "image_too_large"


class FileTooLargeError(InputError):
    code = "file_too_large"


class NoPagesError(InputError):
    code = "no_pages"


class TooManyPagesError(InputError):
    code = "too_many_pages"


# --- local input files (`ocrflow ocr`) -----------------------------------------------------------------------


class MissingFileError(InputError):
    code = "not_found"


class NotAFileError(InputError):
    """A directory, FIFO, device or socket: only regular files are read (a FIFO could block forever, a device
    never end)."""

    code = "not_a_file"


class UnreadableFileError(InputError):
    code = "unreadable"


# --- configuration -----------------------------------------------------------------------------------------


class ConfigError(OcrflowError):
    """ocrflow or a provider is configured wrongly (unknown provider, missing language data, bad setting)."""

    code = "config_error"


class ProviderNotAvailableError(ConfigError):
    code = "provider_not_available"


class LanguageNotAvailableError(ConfigError):
    code = "language_not_available"


# --- provider outcomes (filled in by the provider clients) ------------------------------------------------


class ProviderError(OcrflowError):
    code = "provider_error"


class ThrottledError(ProviderError):
    code = "throttled"
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **details: Any) -> None:
        super().__init__(message, retry_after=retry_after, **details)
        self.retry_after = retry_after


class ProviderUnavailableError(ProviderError):
    code = "provider_unavailable"
    retryable = True


class InsufficientCreditsError(OcrflowError):
    """The tenant's prepaid credits do not cover the job. Adding credits and sending it again helps."""

    code = "insufficient_credits"


class LedgerBusyError(OcrflowError):
    """Too many concurrent updates of one tenant's credits (DynamoDB transaction conflicts) for now: the same
    step a moment later succeeds, so the workflow retries it. Many of these mean the tenant needs more credit
    shards (`ocrflow tenants shards`)."""

    code = "ledger_busy"
    retryable = True


class JobDeadlineError(OcrflowError):
    """The job did not end within its deadline (`OCRFLOW_JOB_DEADLINE_SECONDS`): whatever ran it died or
    stalled, and the sweeper ended it. Sending the document again may succeed."""

    code = "timeout"
    retryable = True


class NotEnoughTimeError(OcrflowError):
    """A call found less time left (its Lambda context) than the work it was about to start is estimated to
    take, and did not start it: a fresh call has the function's whole time-out, so another try may succeed."""

    code = "timeout"
    retryable = True


class QuotaExhaustedError(ProviderError):
    code = "quota_exhausted"


class ProviderAuthError(ProviderError):
    code = "provider_auth"


class ProviderRejectedInputError(InputError):
    code = "provider_rejected_input"


class OcrEngineError(OcrflowError):
    """The embedded engine failed on a page it should have read."""

    code = "engine_error"


class DamagedImageError(InputError):
    code = "damaged_image"
