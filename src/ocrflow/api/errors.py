"""Errors only the API raises. Each carries the HTTP status it answers with; the codes are stable."""

from __future__ import annotations

from typing import ClassVar

from ocrflow.errors import OcrflowError


class ApiError(OcrflowError):
    status: ClassVar[int] = 400


class UnauthorizedError(ApiError):
    code = "unauthorized"
    status = 401


class ForbiddenError(ApiError):
    code = "forbidden"
    status = 403


class ProviderNotAllowedError(ForbiddenError):
    """A provider ocrflow knows, not offered by this deployment."""

    code = "provider_not_allowed"


class NotFoundError(ApiError):
    code = "not_found"
    status = 404


class JobNotFoundError(NotFoundError):
    code = "job_not_found"


class TenantNotFoundError(NotFoundError):
    code = "tenant_not_found"


class ConflictError(ApiError):
    code = "conflict"
    status = 409


class JobNotFinishedError(ConflictError):
    code = "job_not_finished"


class JobFailedError(ConflictError):
    code = "job_failed"


class JobInProgressError(ConflictError):
    code = "job_in_progress"


class IdempotencyConflictError(ConflictError):
    """The Idempotency-Key was used before with a different request."""

    code = "idempotency_key_reused"
    status = 422


class InvalidRequestError(ApiError):
    code = "invalid_request"
    status = 422


class UnsupportedMediaTypeError(ApiError):
    """A request body sent as anything but JSON."""

    code = "unsupported_media_type"
    status = 415


class RateLimitedError(ApiError):
    code = "rate_limited"
    status = 429
    retryable = True

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after
