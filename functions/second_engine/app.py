"""Second engine: RapidOCR's reading of one weak page, for the process and range functions (invoked
synchronously, `engines.remote`). A container-image function: RapidOCR, onnxruntime and OpenCV do not fit in
the 250 MB of a zip function (docs/ARCHITECTURE.md)."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocrflow.engines.remote import SecondReadingRequest, read_page

logger, tracer, metrics = Logger(), Tracer(), Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=SecondReadingRequest)
def handler(event: SecondReadingRequest, context: LambdaContext) -> dict:
    reading = read_page(event)
    metrics.add_metric(name="SecondEnginePages", unit=MetricUnit.Count, value=1)
    return reading.model_dump(mode="json")
