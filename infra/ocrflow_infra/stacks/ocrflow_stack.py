"""The whole ocrflow deployment: composes the constructs, nothing else."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from ocrflow_infra.config import DeploymentConfig
from ocrflow_infra.constructs.api import Api
from ocrflow_infra.constructs.observability import Observability
from ocrflow_infra.constructs.storage import Storage
from ocrflow_infra.constructs.workflow import Workflow
from ocrflow_infra.nag import acknowledge


class OcrflowStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.storage = Storage(self, "Storage", cors_origins=config.cors_origins)
        self.workflow = Workflow(self, "Workflow", storage=self.storage, config=config)
        self.api = Api(self, "Api", storage=self.storage, workflow=self.workflow, config=config)
        self.observability = Observability(self, "Observability", workflow=self.workflow,
                                           alarm_email=config.alarm_email)
        outputs = {  # what operators (and `make demo`) need to use the deployment
            "UploadsBucket": (self.storage.uploads.bucket_name, f"Files under {config.uploads_prefix} are OCRed"),
            "UploadsPrefix": (config.uploads_prefix, "Key prefix that starts the workflow"),
            "ResultsBucket": (self.storage.results.bucket_name, "document.json, text.txt, searchable.pdf per job"),
            "JobsTable": (self.storage.jobs.table_name, "One item per job: status, pages, error, result keys"),
            "StateMachine": (self.workflow.state_machine.state_machine_arn,
                             "Fanned-out documents and long waits on providers (started by the process function)"),
            "QuickStateMachine": (self.workflow.quick_state_machine.state_machine_arn,
                                  "Express loop: jobs waiting on an asynchronous provider, their first minutes"),
            "ProcessFunction": (self.workflow.functions["process"].function_name,
                                "Invoked by EventBridge for each upload: most jobs end in this one call"),
            "ApiUrl": (self.api.url, "Base URL of the HTTPS API (routes under /v1)"),
            "TenantsTable": (self.storage.tenants.table_name, "Tenants, hashed API keys (ocrflow tenants ...)"),
        }
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)
        acknowledge(self, "IAM4", "The step functions use the AWS-managed basic execution role: CloudWatch Logs "
                    "writes only.", ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                                     "AWSLambdaBasicExecutionRole"])
