"""The HTTPS API: API Gateway (REST, proxy) -> Powertools APIGatewayRestResolver -> ocrflow.api.jobs."""

import os

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocrflow.api.app import build_app
from ocrflow.api.deps import deps_from_env

logger, tracer = Logger(), Tracer()
app = build_app(deps_from_env, [o.strip() for o in os.environ.get("OCRFLOW_CORS_ORIGINS", "*").split(",")])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
