"""Finalize: merge the parts, write the three results, record the job, commit credits."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocrflow.workflow.events import StateEvent
from ocrflow.workflow.runtime import deps_from_env, idempotent_step
from ocrflow.workflow.steps import finalize

logger, tracer, metrics = Logger(), Tracer(), Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@idempotent_step("finalize")
@event_parser(model=StateEvent)
def handler(event: StateEvent, context: LambdaContext) -> dict:
    logger.append_keys(job_id=event.state.request.job_id, provider=event.state.request.provider)
    summary = finalize(event.state, deps_from_env())
    metrics.add_metric(name="PagesProcessed", unit=MetricUnit.Count, value=summary.pages or 0)
    return summary.model_dump(mode="json")
