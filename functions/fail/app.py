"""Fail (the Catch path): release the reservation, clean up, record the job's typed error."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocrflow.workflow.events import FailEvent, request_from_event
from ocrflow.workflow.runtime import deps_from_env
from ocrflow.workflow.steps import fail_from_catch

logger, tracer, metrics = Logger(), Tracer(), Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=FailEvent)
def handler(event: FailEvent, context: LambdaContext) -> dict:
    deps = deps_from_env()
    request = request_from_event(event.event, deps.settings)
    logger.append_keys(job_id=request.job_id)
    metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)
    return fail_from_catch(request, event.error, deps).model_dump(mode="json")
