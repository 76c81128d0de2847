"""The API's routes on Powertools' APIGatewayRestResolver: request validation from the pydantic models, the
OpenAPI document generated from the same routes (served at /openapi.json), and one JSON error shape
`{"error": {"code", "message"}}` for every 4xx and 5xx - never a stack trace, never a secret."""


import json
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, Server
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query

from ocrflow import __version__
from ocrflow.api import jobs
from ocrflow.api.deps import ApiDeps
from ocrflow.api.errors import ApiError, InvalidRequestError, RateLimitedError, UnsupportedMediaTypeError
from ocrflow.api.models import (
    BODY_KINDS,
    CreatedJob,
    CreateJobBody,
    ErrorBody,
    JobPage,
    JobResult,
    JobView,
    Usage,
)
from ocrflow.api.tenants import Caller
from ocrflow.errors import ConfigError, FileTooLargeError, InputError, LanguageNotAvailableError, OcrflowError
from ocrflow.net.safe_http import UrlUnreachableError

logger = logging.getLogger(__name__)

API_KEY_HEADER = "X-Api-Key"
#: the query parameters each operation takes; any other is refused
QUERY_PARAMETERS = {("GET", "/v1/jobs"): {"limit", "cursor"}}
TITLE = "ocrflow API"


JobId = Annotated[str, Path(pattern=jobs.JOB_ID.pattern, description="The job's id (32 hex digits)")]


def _responses(ok: int, model: type | None, description: str, *errors: int) -> dict[int, Any]:
    """The success answer and the error answers (all ErrorBody) an operation documents."""
    answers: dict[int, Any] = {ok: {"description": description}}
    if model is not None:
        answers[ok]["content"] = {"application/json": {"model": model}}
    for status in errors:
        answers[status] = {"description": HTTPStatus(status).phrase,
                           "content": {"application/json": {"model": ErrorBody}}}
    return answers


def status_for(error: OcrflowError) -> int:
    if isinstance(error, ApiError):
        return error.status
    if isinstance(error, FileTooLargeError):
        return 413
    if isinstance(error, UrlUnreachableError | LanguageNotAvailableError):
        return 422
    if isinstance(error, InputError | ConfigError):
        return 400
    return 500


def read_json_body(text: str) -> Any:
    """A request body parsed as JSON, or json.JSONDecodeError (which the validation answers as a 422) for
    anything Python's parser would otherwise fail on in other ways: nesting deep enough to exhaust the stack,
    integers with more digits than Python converts, NaN and Infinity (not JSON)."""

    def refuse_constant(name: str) -> Any:
        raise json.JSONDecodeError(f"{name} is not a JSON value", text, 0)

    try:
        return json.loads(text, parse_constant=refuse_constant)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None
    except json.JSONDecodeError:
        raise
    except ValueError:  # "Exceeds the limit (4300 digits) for integer string conversion"
        raise json.JSONDecodeError("a number has too many digits", text, 0) from None


def is_json_media_type(content_type: str | None) -> bool:
    """application/json, with parameters (charset) or as a +json suffix type."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/")
                                                 and media_type.endswith("+json"))


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type="application/json", headers=headers,
                    body=json.dumps({"error": {"code": code, "message": message}}))


def build_app(deps: Callable[[], ApiDeps], cors_origins: list[str] | None = None) -> APIGatewayRestResolver:
    """The resolver with every route. `deps` is called per request (cached by the caller as it likes)."""
    origins = cors_origins or ["*"]
    cors = CORSConfig(allow_origin=origins[0], extra_origins=origins[1:],
                      allow_headers=[API_KEY_HEADER, "Idempotency-Key", "Content-Type"],
                      expose_headers=["Retry-After"], max_age=600)
    app = APIGatewayRestResolver(enable_validation=True, cors=cors, json_body_deserializer=read_json_body)

    def require_json_body() -> None:
        """Bodies are JSON: Powertools would also read a form-encoded one, or one with no Content-Type."""
        if not is_json_media_type(app.current_event.headers.get("content-type")):
            raise UnsupportedMediaTypeError("send the body as JSON, with Content-Type: application/json")

    def caller() -> Caller:
        """The authenticated tenant; every request also counts against its key's rate limit."""
        current = deps()
        who = current.tenants.authenticate(app.current_event.headers.get(API_KEY_HEADER))  # case-insensitive
        limit = who.tenant.rate_limit_per_minute or current.settings.rate_limit_per_minute
        current.throttle.admit(who.key_id, limit)
        return who

    def strict_query(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
        """Unknown query parameters are refused (a typo such as ?limt=5 should not pass silently)."""
        event = app.current_event
        known = QUERY_PARAMETERS.get((event.http_method, event.path), set())
        unknown = set(event.query_string_parameters or {}) - known
        if unknown:
            return error_response(422, InvalidRequestError.code,
                                  f"unknown query parameter(s): {', '.join(sorted(unknown))[:200]}")
        return next_middleware(app)

    app.use(middlewares=[strict_query])
    Authenticated = Annotated[Caller, Depends(caller)]  # noqa: N806 - a type alias, named like one
    common = (400, 401, 429, 500)

    @app.post("/v1/jobs", status_code=201, summary="Create a job", tags=["jobs"],
              responses=_responses(201, CreatedJob, "The job, and where to upload its file", *common, 403, 413, 415,
                                   422))
    def create_job(body: Annotated[CreateJobBody, Body()], who: Authenticated,
                   idempotency_key: Annotated[str | None, Header(alias="idempotency-key", min_length=1,
                                                                 max_length=255)] = None) -> CreatedJob:
        require_json_body()
        return jobs.create_job(who, body, idempotency_key, deps())

    @app.get("/v1/jobs", summary="List your jobs, newest first", tags=["jobs"],
             responses=_responses(200, JobPage, "One page of jobs", *common, 422))
    def list_jobs(who: Authenticated, limit: Annotated[int, Query(ge=1, le=100)] = 20,
                  cursor: Annotated[str | None, Query(pattern=jobs.CURSOR.pattern,
                                                      description="next_cursor of the previous page")] = None
                  ) -> JobPage:
        return jobs.list_jobs(who, limit, cursor, deps())

    @app.get("/v1/jobs/<job_id>", summary="A job's status", tags=["jobs"],
             responses=_responses(200, JobView, "The job", *common, 404, 422))
    def get_job(job_id: JobId, who: Authenticated) -> JobView:
        return jobs.get_job(who, job_id, deps())

    @app.get("/v1/jobs/<job_id>/result", summary="A finished job's document, text and searchable PDF",
             tags=["jobs"], responses=_responses(200, JobResult, "The results", *common, 404, 409, 422))
    def get_result(job_id: JobId, who: Authenticated) -> JobResult:
        return jobs.job_result(who, job_id, deps())

    @app.delete("/v1/jobs/<job_id>", status_code=204, summary="Delete a job's input and results", tags=["jobs"],
                responses=_responses(204, None, "Deleted", *common, 404, 409, 422))
    def delete_job(job_id: JobId, who: Authenticated):  # noqa: ANN202 - a Response: no model to validate
        jobs.delete_job(who, job_id, deps())
        return Response(status_code=204, body="")

    @app.get("/v1/usage", summary="Credits balance and consumption", tags=["usage"],
             responses=_responses(200, Usage, "Balance and usage", *common, 422))
    def get_usage(who: Authenticated) -> Usage:
        return jobs.usage(who, deps())

    @app.get("/openapi.json", include_in_schema=False)
    def openapi():  # noqa: ANN202 - a Response: no model to validate
        return Response(status_code=200, content_type="application/json", body=openapi_json(app))

    @app.exception_handler(RateLimitedError)
    def rate_limited(error: RateLimitedError) -> Response:
        return error_response(429, error.code, error.message, {"Retry-After": str(error.retry_after)})

    @app.exception_handler(OcrflowError)
    def typed_error(error: OcrflowError) -> Response:
        status = status_for(error)
        if status >= 500:
            logger.error("request failed: %s: %s", error.code, error.message)
            return error_response(status, "internal_error", "internal error; nothing was changed")
        return error_response(status, error.code, error.message)

    @app.exception_handler(RequestUnsupportedContentType)
    def unsupported_body(_: Exception) -> Response:
        refused = UnsupportedMediaTypeError("send the body as JSON, with Content-Type: application/json")
        return error_response(refused.status, refused.code, refused.message)

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response:
        event = app.current_event
        if event.body and not is_json_media_type(event.headers.get("content-type")):
            return unsupported_body(error)  # a form-encoded body read by Powertools: the type is the mistake
        problems = []
        for item in error.errors()[:5]:
            if item.get("type") == "json_invalid":
                problems.append(f"the body is not valid JSON: {item.get('ctx', {}).get('error', 'invalid')}")
                continue
            # the body's kind (upload or source_url) leads the location: not a field
            where = ".".join(str(part) for part in item.get("loc", ()) if part != "body" and part not in BODY_KINDS)
            problems.append(f"{where or 'body'}: {item.get('msg', 'invalid')}")
        return error_response(422, InvalidRequestError.code, "; ".join(problems) or "the request is not valid")

    @app.exception_handler(UnicodeDecodeError)
    def undecodable_body(error: UnicodeDecodeError) -> Response:
        """A base64-encoded body that is not UTF-8 text (Powertools decodes it before any validation)."""
        event = app.current_event
        try:
            event.decoded_body  # noqa: B018 - raises again if the body is what failed
        except UnicodeDecodeError:
            return error_response(422, InvalidRequestError.code, "the body is not UTF-8 text")
        return unexpected(error)

    @app.not_found
    def not_found(_: Exception) -> Response:
        return error_response(404, "not_found", "no such resource")

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response:
        where = error.__traceback__
        while where is not None and where.tb_next is not None:
            where = where.tb_next
        origin = f"{where.tb_frame.f_code.co_filename}:{where.tb_lineno}" if where else "?"
        logger.error("unexpected %s at %s", type(error).__name__, origin)  # no trace: it may carry request data
        return error_response(500, "internal_error", "internal error; nothing was changed")

    return app


def openapi_document() -> str:
    """The committed OpenAPI document (schemas/openapi.json; `make schema` writes it, a test checks it)."""
    return openapi_json(build_app(lambda: None))  # type: ignore[arg-type,return-value] - no request is served


def openapi_json(app: APIGatewayRestResolver, server_url: str | None = None) -> str:
    """The OpenAPI document of the routes. Validation failures answer with our error body, so the 422s
    Powertools adds (its own HTTPValidationError) are rewritten to ErrorBody."""
    spec = json.loads(app.get_openapi_json_schema(
        title=TITLE, version=__version__, description="Upload documents, follow OCR jobs, fetch results.",
        servers=[Server(url=server_url or "/")],
        security_schemes={"apiKey": APIKey(name=API_KEY_HEADER, in_=APIKeyIn.header)},
        security=[{"apiKey": []}]))
    schemas = spec.get("components", {}).get("schemas", {})
    for operation in (op for path in spec["paths"].values() for op in path.values()):
        if "422" in operation.get("responses", {}):
            operation["responses"]["422"] = {"description": "The request is not valid", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    return json.dumps(spec, indent=2, sort_keys=True) + "\n"
