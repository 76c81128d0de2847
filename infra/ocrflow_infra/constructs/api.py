"""The HTTPS API: API Gateway (REST) proxying every route to one Lambda running Powertools'
APIGatewayRestResolver. Keys are checked and throttled per key in the function (hashed keys and rate windows
in the tenants table); the stage throttles the whole API; CORS preflights are answered by the function."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from ocrflow_infra.config import REPO, DeploymentConfig
from ocrflow_infra.constructs.storage import Storage
from ocrflow_infra.constructs.workflow import Workflow, architecture, retention
from ocrflow_infra.nag import acknowledge, arn_token

STAGE = "prod"


class Api(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, storage: Storage, workflow: Workflow,
                 config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        environment = {**workflow.environment, "OCRFLOW_CORS_ORIGINS": ",".join(config.cors_origins),
                       "OCRFLOW_RATE_LIMIT_PER_MINUTE": str(config.key_rate_limit_per_minute),
                       "POWERTOOLS_SERVICE_NAME": "ocrflow-api"}
        self.function = lambda_.Function(
            self, "Function", runtime=lambda_.Runtime.PYTHON_3_12, architecture=architecture(config),
            handler="app.handler", code=lambda_.Code.from_asset(str(REPO / "functions" / "api")),
            layers=[workflow.layer], memory_size=512, timeout=Duration.seconds(29), environment=environment,
            tracing=lambda_.Tracing.ACTIVE, description="ocrflow HTTPS API",
            log_group=logs.LogGroup(self, "Logs", retention=retention(config.log_retention_days),
                                    removal_policy=RemovalPolicy.DESTROY))
        acknowledge(self.function, "L1", "python3.12 is pinned to match the shared layer's compiled wheels.")
        storage.jobs.grant_read_write_data(self.function)
        storage.tenants.grant_read_write_data(self.function)  # keys (read), rate windows (write)
        storage.uploads.grant_put(self.function, f"{config.uploads_prefix}*")  # presigned PUTs, fetched source_urls
        storage.uploads.grant_delete(self.function, f"{config.uploads_prefix}*")
        storage.uploads.grant_read(self.function, f"{config.uploads_prefix}*")  # object versions, to delete them
        storage.results.grant_read(self.function)  # inline results, presigned GETs
        storage.results.grant_delete(self.function)
        acknowledge(self.function, "IAM5", "Object-level grants on the uploads prefix and the results bucket "
                    "(presigned uploads and downloads, deleting a job's files); X-Ray has no resource-level "
                    "permissions; the by-tenant index of the jobs table.", [
                        "Action::s3:GetObject*", "Action::s3:GetBucket*", "Action::s3:List*", "Action::s3:Abort*",
                        "Action::s3:DeleteObject*", "Resource::*", f"Resource::{arn_token(storage.results)}/*",
                        f"Resource::{arn_token(storage.uploads)}/{config.uploads_prefix}*",
                        f"Resource::{arn_token(storage.jobs)}/index/*"])

        access_logs = logs.LogGroup(self, "AccessLogs", retention=retention(config.log_retention_days),
                                    removal_policy=RemovalPolicy.DESTROY)
        self.rest_api = apigateway.LambdaRestApi(
            self, "RestApi", handler=self.function, proxy=True, description="ocrflow: jobs, results, usage",
            endpoint_types=[apigateway.EndpointType.REGIONAL], cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.DESTROY,
            deploy_options=apigateway.StageOptions(
                stage_name=STAGE, throttling_rate_limit=config.api_rate_limit,
                throttling_burst_limit=config.api_burst_limit, tracing_enabled=True,
                logging_level=apigateway.MethodLoggingLevel.ERROR, data_trace_enabled=False,
                access_log_destination=apigateway.LogGroupLogDestination(access_logs),
                access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                    caller=False, http_method=True, ip=True, protocol=True, request_time=True,
                    resource_path=True, response_length=True, status=True, user=False)))
        for rule, reason in {
            "APIG2": "Requests are validated by the function against the OpenAPI models (Powertools validation), "
                     "which answers with the API's JSON error body.",
            "APIG3": "WAF is an account-level choice (cost, managed rule sets); attach a web ACL to the stage "
                     "where required. Per-key throttling and stage throttling are on.",
            "APIG4": "Every route but /openapi.json needs an API key, checked by the function against hashed keys "
                     "in DynamoDB (tenants are ocrflow's own, not IAM or Cognito users).",
            "COG4": "Tenants authenticate with ocrflow API keys, not Cognito user pools.",
        }.items():
            acknowledge(self.rest_api, rule, reason)
        acknowledge(self.rest_api, "IAM4", "API Gateway's account-level CloudWatch role uses the AWS-managed "
                    "push-to-CloudWatch-Logs policy.", ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                                                       "AmazonAPIGatewayPushToCloudWatchLogs"])

    @property
    def url(self) -> str:
        return self.rest_api.url
