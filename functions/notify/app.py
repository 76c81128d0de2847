"""Notify: POST the ended job's summary to its callback URL, signed, retried with back-off (never fails the job)."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocrflow.api.deps import deps_from_env
from ocrflow.api.notifications import NotifyEvent, notify_job

logger, tracer, metrics = Logger(), Tracer(), Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=NotifyEvent)
def handler(event: NotifyEvent, context: LambdaContext) -> dict:
    logger.append_keys(job_id=event.job_id)
    report = notify_job(event.job_id, deps_from_env())
    if report is not None:
        metrics.add_metric(name="WebhooksDelivered" if report.delivered else "WebhooksFailed",
                           unit=MetricUnit.Count, value=1)
    return {"job_id": event.job_id, "webhook": report.model_dump(mode="json") if report else None}
