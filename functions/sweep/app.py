"""Sweep: run by a schedule (EventBridge, every minute): every job still running past its deadline is failed
(`timeout`, or the error noted on it), its credits released and its webhook asked for; ended jobs whose credits
were left unsettled are settled. Nothing stays `running`, whatever died."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocrflow.workflow.runtime import deps_from_env
from ocrflow.workflow.sweeper import sweep

logger, tracer, metrics = Logger(), Tracer(), Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=EventBridgeModel)
def handler(event: EventBridgeModel, context: LambdaContext) -> dict:
    report = sweep(deps_from_env())
    metrics.add_metric(name="JobsTimedOut", unit=MetricUnit.Count, value=len(report.timed_out))
    metrics.add_metric(name="JobsSettledBySweeper", unit=MetricUnit.Count, value=len(report.settled))
    return report.model_dump(mode="json")
