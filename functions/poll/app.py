"""Poll: ask the provider once about every part still in flight."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocrflow.workflow.events import StateEvent
from ocrflow.workflow.runtime import deps_from_env
from ocrflow.workflow.steps import poll

logger, tracer, metrics = Logger(), Tracer(), Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=StateEvent)
def handler(event: StateEvent, context: LambdaContext) -> dict:
    logger.append_keys(job_id=event.state.request.job_id, provider=event.state.request.provider)
    return {"state": poll(event.state, deps_from_env()).model_dump(mode="json")}
