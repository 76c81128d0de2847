"""Range: OCR one page range of a fanned-out document and store its partial result (once: a retried or
repeated call finds it stored and OCRs nothing). Called by the state machine's Map, one call per range."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocrflow.workflow.events import RangeEvent
from ocrflow.workflow.fanout import ocr_range
from ocrflow.workflow.runtime import deps_from_env

logger, tracer, metrics = Logger(), Tracer(), Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=RangeEvent)
def handler(event: RangeEvent, context: LambdaContext) -> dict:
    logger.append_keys(job_id=event.state.request.job_id, range=event.range.index)
    outcome = ocr_range(event.state, event.range, deps_from_env(),
                        lambda: context.get_remaining_time_in_millis() / 1000)
    if outcome.outcome == "ocred":
        metrics.add_metric(name="RangePagesOcred", unit=MetricUnit.Count, value=outcome.pages)
    return outcome.model_dump(mode="json")
