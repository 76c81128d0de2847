"""Fail: release the reservation, clean up, record the job's typed error. Called by the state machine's Catch
(the job's request and the error) and as the process function's on-failure destination (its last try failed)."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocrflow.workflow.events import CatchFailure, FailEvent, request_from_event
from ocrflow.workflow.process import fail_after_retries
from ocrflow.workflow.runtime import deps_from_env
from ocrflow.workflow.steps import fail_from_catch

logger, tracer, metrics = Logger(), Tracer(), Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=FailEvent)
def handler(event: FailEvent, context: LambdaContext) -> dict | None:
    deps = deps_from_env()
    if isinstance(event, CatchFailure):
        logger.append_keys(job_id=event.request.job_id)
        metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)
        return fail_from_catch(event.request, event.error, deps).model_dump(mode="json")
    request = request_from_event(event.requestPayload, deps.settings)
    error = event.responsePayload or None
    logger.append_keys(job_id=request.job_id, condition=event.requestContext.get("condition"))
    summary = fail_after_retries(request, event.requestPayload.id, error and error.errorType,
                                 error and error.errorMessage, deps)
    if summary is not None:
        metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)
    return summary.model_dump(mode="json") if summary else None
