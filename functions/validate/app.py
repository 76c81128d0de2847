"""Validate: claim the job for this object version (duplicates stop here), inspect the document, reserve."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocrflow.workflow.events import ValidateEvent, request_from_event
from ocrflow.workflow.runtime import deps_from_env
from ocrflow.workflow.steps import validate

logger, tracer, metrics = Logger(), Tracer(), Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ValidateEvent)
def handler(event: ValidateEvent, context: LambdaContext) -> dict:
    deps = deps_from_env()
    request = request_from_event(event.event, deps.settings)
    logger.append_keys(job_id=request.job_id)
    result = validate(request, event.execution, deps)
    metrics.add_metric(name="DuplicateNotifications" if result["duplicate"] else "JobsStarted",
                       unit=MetricUnit.Count, value=1)
    return result
