"""Process: one upload from its S3 event to its results in this call (validate, submit, finalize), or handed to
the state machine when its provider makes it wait. Invoked asynchronously by EventBridge; a passing error is
raised so Lambda tries the event again, and after the last try the fail function records the job."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocrflow.workflow.events import request_from_event
from ocrflow.workflow.process import process_upload
from ocrflow.workflow.runtime import deps_from_env, idempotent_step

logger, tracer, metrics = Logger(), Tracer(), Metrics()
METRIC = {"duplicate": "DuplicateNotifications", "deleted": "LateUploadsRemoved", "succeeded": "JobsSucceeded",
          "failed": "JobsFailed", "waiting": "JobsHandedToStateMachine"}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@idempotent_step("process", key="id")  # the EventBridge event's id: the same in Lambda's retries
@event_parser(model=S3EventNotificationEventBridgeModel)
def handler(event: S3EventNotificationEventBridgeModel, context: LambdaContext) -> dict:
    deps = deps_from_env()
    request = request_from_event(event, deps.settings)
    logger.append_keys(job_id=request.job_id)
    # the call looks at the time it has left before it starts OCR it could not finish (it fans out instead)
    outcome = process_upload(request, event.id, deps, lambda: context.get_remaining_time_in_millis() / 1000)
    metrics.add_metric(name=METRIC[outcome.outcome], unit=MetricUnit.Count, value=1)
    if outcome.summary is not None and outcome.summary.pages:
        metrics.add_metric(name="PagesProcessed", unit=MetricUnit.Count, value=outcome.summary.pages)
    return outcome.model_dump(mode="json")
