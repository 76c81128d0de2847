"""Storage: the uploads bucket (versioned, announces new objects to EventBridge), the results bucket (never
announces anything, so results can't retrigger the pipeline), access logs, and the DynamoDB tables."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ocrflow_infra.nag import acknowledge


def _bucket(scope: Construct, name: str, logs: s3.IBucket | None, **kwargs) -> s3.Bucket:
    return s3.Bucket(
        scope, name, encryption=s3.BucketEncryption.S3_MANAGED, block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True, object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        server_access_logs_bucket=logs, server_access_logs_prefix=f"{name.lower()}/" if logs else None,
        removal_policy=RemovalPolicy.RETAIN, **kwargs,
    )


def _table(scope: Construct, name: str, sort_key: str | None = None, ttl: str | None = None) -> dynamodb.Table:
    return dynamodb.Table(
        scope, name, partition_key=dynamodb.Attribute(name="pk" if sort_key else "job_id" if name == "Jobs" else "id",
                                                       type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING) if sort_key else None,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST, encryption=dynamodb.TableEncryption.AWS_MANAGED,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True),
        time_to_live_attribute=ttl, removal_policy=RemovalPolicy.RETAIN,
    )


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, cors_origins: list[str]) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = _bucket(self, "AccessLogs", None,
                                   lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))])
        acknowledge(self.access_logs, "S1", "This is the access-log bucket itself; logging it would loop.")
        # browsers PUT uploads straight to S3 (presigned) and GET results: CORS for the frontends' origins
        self.uploads = _bucket(self, "Uploads", self.access_logs, versioned=True, event_bridge_enabled=True,
                               lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(7))],
                               cors=[_cors(cors_origins, s3.HttpMethods.PUT)])
        self.results = _bucket(self, "Results", self.access_logs, versioned=False, lifecycle_rules=[
            s3.LifecycleRule(prefix="work/", expiration=Duration.days(2))],  # parts of jobs that died mid-way
            cors=[_cors(cors_origins, s3.HttpMethods.GET)])
        self.jobs = _table(self, "Jobs", ttl="expires_at")  # API jobs whose file never came expire
        self.jobs.add_global_secondary_index(  # a tenant's jobs, newest first
            index_name="by-tenant", partition_key=dynamodb.Attribute(name="tenant", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="created_at", type=dynamodb.AttributeType.STRING))
        # sparse: only jobs carrying a deadline slot (running, or ended with credits unsettled) are in it, so the
        # sweeper queries the overdue ones by deadline instead of scanning every job (ocrflow.workflow.jobs);
        # keys only, so a job's updates while it runs do not write the index (two index writes per job)
        self.jobs.add_global_secondary_index(
            index_name="by-deadline", projection_type=dynamodb.ProjectionType.KEYS_ONLY,
            partition_key=dynamodb.Attribute(name="deadline_slot", type=dynamodb.AttributeType.NUMBER),
            sort_key=dynamodb.Attribute(name="deadline_epoch", type=dynamodb.AttributeType.NUMBER))
        self.tenants = _table(self, "Tenants", sort_key="sk", ttl="expires_at")  # tenants, key hashes, rate windows
        self.idempotency = _table(self, "Idempotency", ttl="expiration")


def _cors(origins: list[str], method: s3.HttpMethods) -> s3.CorsRule:
    return s3.CorsRule(allowed_methods=[method], allowed_origins=origins, allowed_headers=["*"],
                       exposed_headers=["ETag"], max_age=600)
