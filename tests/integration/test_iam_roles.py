"""IAM proven offline (tests/iam.py): the calls a function makes, checked against its synthesized role. Every
handler the tests load, and the harness's process, range and finalize calls, are checked that way; here the
check itself is shown to bite - a permission taken out of the template fails it, a call no role allows fails
it, and a call nobody mapped to IAM fails it."""

from __future__ import annotations

import copy
import json

import boto3
import pytest
from moto import mock_aws

from ocrflow.workflow.runtime import deps_from_env
from tests.aws_resources import (
    IDEMPOTENCY_TABLE,
    JOBS_TABLE,
    RESULTS,
    TENANTS_TABLE,
    UPLOADS,
    create_buckets,
    create_idempotency_table,
    create_jobs_table,
    create_tenants_table,
)
from tests.conftest import REPO, sample_bytes
from tests.iam import Call, UnmappedCall, authorizations, denied, policy_of, recording, template
from tests.lambda_handlers import Context, load

EVENT = json.loads((REPO / "events" / "s3" / "object-created.eventbridge.json").read_text())


@pytest.fixture(scope="module")
def process_calls():
    """The AWS calls of one upload read by the process function, from event to results (moto)."""
    environ = {"AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true",
               "POWERTOOLS_METRICS_NAMESPACE": "ocrflow", "POWERTOOLS_SERVICE_NAME": "ocrflow",
               "OCRFLOW_RESULTS_BUCKET": RESULTS, "OCRFLOW_UPLOADS_BUCKET": UPLOADS, "OCRFLOW_JOBS_TABLE": JOBS_TABLE,
               "OCRFLOW_TENANTS_TABLE": TENANTS_TABLE, "OCRFLOW_IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE,
               "OCRFLOW_PROVIDER": "tesseract"}
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for key, value in environ.items():
            patch.setenv(key, value)
        deps_from_env.cache_clear()
        s3 = boto3.client("s3")
        create_buckets(s3)
        dynamodb = boto3.resource("dynamodb")
        create_jobs_table(dynamodb), create_tenants_table(dynamodb), create_idempotency_table(dynamodb)
        body = sample_bytes("receipt.png")
        put = s3.put_object(Bucket=UPLOADS, Key="uploads/receipt.png", Body=body)
        event = json.loads(json.dumps(EVENT))
        event["detail"]["object"].update({"key": "uploads/receipt.png", "size": len(body),
                                          "etag": put["ETag"].strip('"'), "version-id": put["VersionId"]})
        with recording() as calls:
            assert load("process")(event, Context())["outcome"] == "succeeded"
        yield calls, environ
    deps_from_env.cache_clear()


def test_every_call_of_a_job_is_one_the_process_role_allows(process_calls):
    calls, environ = process_calls
    actions = {action for call in calls for action, _ in authorizations(call)}
    assert {"s3:GetObjectVersion", "s3:PutObject", "dynamodb:UpdateItem", "dynamodb:PutItem"} <= actions
    assert denied("process", calls, policy_of("process", environ)) == []


def test_a_permission_taken_out_of_the_role_fails_the_check(process_calls):
    calls, environ = process_calls
    resources = copy.deepcopy(template()["Resources"])
    for resource in resources.values():
        if resource["Type"] == "AWS::IAM::Policy":
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                statement["Action"] = [a for a in actions if a != "dynamodb:UpdateItem"] or ["none:None"]
    problems = denied("process", calls, policy_of("process", environ, resources))
    assert problems and all(p.startswith("dynamodb:UpdateItem on arn:aws:dynamodb:") for p in problems)


def test_a_call_outside_the_role_is_denied():
    put = Call("s3", "PutObject", {"Bucket": RESULTS, "Key": "results/t/j/document.json"})
    assert denied("notify", [put], policy_of("notify", {})) == [
        f"s3:PutObject on arn:aws:s3:::{RESULTS}/results/t/j/document.json (s3:PutObject)"]
    assert denied("finalize", [put], policy_of("finalize", {})) == []  # finalize writes results
    outside = Call("s3", "PutObject", {"Bucket": UPLOADS, "Key": "uploads/elsewhere.pdf"})
    assert denied("finalize", [outside], policy_of("finalize", {}))  # but not into the uploads bucket


def test_a_call_with_no_iam_mapping_fails_loudly():
    with pytest.raises(UnmappedCall, match="ec2:RunInstances"):
        authorizations(Call("ec2", "RunInstances", {}))


def test_a_presigned_url_is_checked_as_the_request_it_signs():
    """S3 authorizes a presigned PUT, when it is used, with the role that signed it: the API's."""
    environ = {"OCRFLOW_UPLOADS_BUCKET": UPLOADS, "OCRFLOW_RESULTS_BUCKET": RESULTS}
    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    with recording() as calls:
        s3.generate_presigned_url("put_object", Params={"Bucket": UPLOADS, "Key": "uploads/tenants/t/j/a.pdf"})
        s3.generate_presigned_url("get_object", Params={"Bucket": RESULTS, "Key": "results/t/j/document.json"})
    assert [(c.service, c.operation) for c in calls] == [("s3", "PutObject"), ("s3", "GetObject")]
    assert denied("api", calls, policy_of("api", environ)) == []
    # the sweeper signs nothing: a URL it signed would be refused when used
    assert len(denied("sweep", calls, policy_of("sweep", environ))) == 2


def test_a_secret_s_arn_pattern_is_matched_as_iam_matches_it():
    """`secret:ocrflow/pdfmage-??????`: `?` is one character (the suffix Secrets Manager adds), nothing else is
    a pattern - a secret by name or by its full ARN is allowed, another secret is not."""
    role = policy_of("process", {})
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ocrflow/pdfmage"
    read = lambda secret: Call("secretsmanager", "GetSecretValue", {"SecretId": secret})  # noqa: E731
    assert denied("process", [read("ocrflow/pdfmage"), read(f"{arn}-AbC1eF")], role) == []
    assert denied("process", [read(f"{arn}-AbC1eFx")], role)  # seven characters
    assert denied("process", [read("ocrflow/pdfmagex")], role)
    assert denied("process", [read("ocrflow/adobe")], role)  # the deployment routes no job to Adobe
