"""IAM proven offline: every AWS call a Lambda handler makes in the tests is checked against the role policy
the CDK app synthesizes for that function - a call its role would deny fails the test.

moto does not enforce IAM on these calls, so `tests.lambda_handlers.load` wraps each handler: while it runs,
every botocore call is recorded (`BaseClient._make_api_call`, as the cost model counts them), then turned into
the IAM actions and resource ARNs AWS would authorize (`authorizations`) and evaluated with moto's policy
evaluator (`moto.iam.access_control.IAMPolicy`) against the function's statements in the synthesized template.

The template's resources are resolved to the names the test runs with through the function's own environment:
a variable the template sets to `{"Ref": bucket}` (OCRFLOW_RESULTS_BUCKET) names, in the test's environment, the
bucket that Ref stands for - so `Fn::GetAtt [bucket, Arn]` in a statement becomes `arn:aws:s3:::ocrflow-results`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from moto.iam.access_control import IAMPolicy, PermissionResult

from tests.conftest import REPO

REGION, ACCOUNT = "us-east-1", "123456789012"
#: the step -> the logical id prefix of its function in the template
FUNCTIONS = {step: f"Workflow{step.title()}Function" for step in
             ("process", "submit", "poll", "finalize", "fail", "notify", "sweep", "range")} | {"api": "ApiFunction"}


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    params: dict


class UnmappedCall(AssertionError):
    """A call `authorizations` does not know: say what IAM authorizes it with before it may be made."""


# --- the calls, recorded ---------------------------------------------------------------------------------------

_lock = threading.Lock()
_recording: list[list[Call]] = []


def _install() -> None:
    from botocore.client import BaseClient

    if getattr(BaseClient._make_api_call, "_ocrflow_iam", False):
        return
    original = BaseClient._make_api_call

    def recorded(client, operation_name, api_params):  # noqa: ANN001, ANN202
        with _lock:
            for calls in _recording:
                calls.append(Call(client.meta.service_model.service_name, operation_name, dict(api_params)))
        return original(client, operation_name, api_params)

    recorded._ocrflow_iam = True
    BaseClient._make_api_call = recorded


@contextlib.contextmanager
def recording() -> Iterator[list[Call]]:
    _install()
    calls: list[Call] = []
    with _lock:
        _recording.append(calls)
    try:
        yield calls
    finally:
        with _lock:
            _recording.remove(calls)


# --- what IAM authorizes a call with ---------------------------------------------------------------------------

def _table(name: str) -> str:
    return name if name.startswith("arn:") else f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def _function(name: str) -> str:
    """A function's ARN, from its name or ARN (a qualified ARN stays qualified: roles grant `<arn>:*` too)."""
    return name if name.startswith("arn:") else f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def authorizations(call: Call) -> list[tuple[str, str]]:
    """The (action, resource ARN) pairs AWS authorizes the call with."""
    p, op = call.params, call.operation
    if call.service == "s3":
        bucket = f"arn:aws:s3:::{p.get('Bucket')}"
        obj = f"{bucket}/{p.get('Key')}"
        versioned = "Version" if p.get("VersionId") else ""
        simple = {"PutObject": ("s3:PutObject", obj), "GetObject": (f"s3:GetObject{versioned}", obj),
                  "HeadObject": (f"s3:GetObject{versioned}", obj), "DeleteObject": (f"s3:DeleteObject{versioned}", obj),
                  "CreateMultipartUpload": ("s3:PutObject", obj), "UploadPart": ("s3:PutObject", obj),
                  "CompleteMultipartUpload": ("s3:PutObject", obj),
                  "AbortMultipartUpload": ("s3:AbortMultipartUpload", obj),
                  "ListObjectsV2": ("s3:ListBucket", bucket), "ListObjects": ("s3:ListBucket", bucket),
                  "ListObjectVersions": ("s3:ListBucketVersions", bucket),
                  "GetObjectTagging": ("s3:GetObjectTagging", obj)}
        if op in simple:
            return [simple[op]]
        if op == "DeleteObjects":
            return [("s3:DeleteObjectVersion" if o.get("VersionId") else "s3:DeleteObject", f"{bucket}/{o['Key']}")
                    for o in p["Delete"]["Objects"]]
        if op == "CopyObject":
            source = p["CopySource"]
            source = f"{source['Bucket']}/{source['Key']}" if isinstance(source, dict) else source.lstrip("/")
            return [("s3:PutObject", obj), ("s3:GetObject", f"arn:aws:s3:::{source.split('?')[0]}")]
    if call.service == "dynamodb":
        if op in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Scan", "DescribeTable"):
            return [(f"dynamodb:{op}", _table(p["TableName"]))]
        if op == "Query":
            index = f"/index/{p['IndexName']}" if p.get("IndexName") else ""
            return [("dynamodb:Query", _table(p["TableName"]) + index)]
        if op == "TransactWriteItems":
            kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem"}
            return [(f"dynamodb:{kinds[kind]}", _table(item[kind]["TableName"]))
                    for item in p["TransactItems"] for kind in item]
        if op == "TransactGetItems":
            return [("dynamodb:GetItem", _table(item["Get"]["TableName"])) for item in p["TransactItems"]]
        if op in ("BatchWriteItem", "BatchGetItem"):
            return [(f"dynamodb:{op}", _table(table)) for table in p["RequestItems"]]
    if call.service == "stepfunctions" or call.service == "states":
        if op == "StartExecution":
            return [("states:StartExecution", p["stateMachineArn"])]
        if op == "DescribeExecution":
            return [("states:DescribeExecution", p["executionArn"])]
    if call.service == "lambda" and op == "Invoke":
        return [("lambda:InvokeFunction", _function(p["FunctionName"]))]
    if call.service == "secretsmanager" and op == "GetSecretValue":
        secret = p["SecretId"]
        return [("secretsmanager:GetSecretValue", secret if secret.startswith("arn:")
                 else f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret}-??????")]
    raise UnmappedCall(f"{call.service}:{op} has no IAM mapping in tests/iam.py")


# --- the synthesized roles -------------------------------------------------------------------------------------

@cache
def template() -> dict:
    """The stack's template as `make test`'s infra tests synthesize it (no layer needed: synth only hashes it)."""
    import tempfile

    sys.path.insert(0, str(REPO / "infra"))
    from aws_cdk import App
    from ocrflow_infra.config import DeploymentConfig
    from ocrflow_infra.stacks.ocrflow_stack import OcrflowStack

    scratch = tempfile.mkdtemp(prefix="ocrflow-iam-")
    os.makedirs(f"{scratch}/layer/python")
    context = json.loads((REPO / "cdk.json").read_text())["context"]
    app = App(context=context, outdir=f"{scratch}/cdk.out")
    config = DeploymentConfig(layer_dir=f"{scratch}/layer", route="pdfmage:0.01,ocrspace:0.002",
                              provider_secrets={"pdfmage": "ocrflow/pdfmage", "ocrspace": "ocrflow/ocrspace"})
    OcrflowStack(app, "Ocrflow", config=config)
    return app.synth().get_stack_by_name("Ocrflow").template


def function_id(step: str, resources: dict) -> str:
    (found,) = [k for k, v in resources.items()
                if k.startswith(FUNCTIONS[step]) and v["Type"] == "AWS::Lambda::Function"]
    return found


def statements(step: str, resources: dict) -> list[dict]:
    """The statements of every policy attached to the step's role (resolved later, per environment)."""
    role = resources[function_id(step, resources)]["Properties"]["Role"]["Fn::GetAtt"][0]
    return [s for r in resources.values() if r["Type"] == "AWS::IAM::Policy"
            and {"Ref": role} in r["Properties"]["Roles"] for s in r["Properties"]["PolicyDocument"]["Statement"]]


def _names(step: str, resources: dict, environ: dict[str, str]) -> dict[str, str]:
    """Logical id -> the name (or ARN, for a state machine) it stands for in this environment: what the
    function's variables name here, else the tests' own buckets and tables (tests/aws_resources.py)."""
    from tests import aws_resources as names_of

    env = resources[function_id(step, resources)]["Properties"].get("Environment", {}).get("Variables", {})
    defaults = {("AWS::S3::Bucket", "Uploads"): names_of.UPLOADS, ("AWS::S3::Bucket", "Results"): names_of.RESULTS,
                ("AWS::DynamoDB::Table", "Jobs"): names_of.JOBS_TABLE,
                ("AWS::DynamoDB::Table", "Tenants"): names_of.TENANTS_TABLE,
                ("AWS::DynamoDB::Table", "Idempotency"): names_of.IDEMPOTENCY_TABLE}
    names = {logical: name for logical, resource in resources.items() for (kind, word), name in defaults.items()
             if resource["Type"] == kind and word in logical}
    for variable, value in env.items():
        if isinstance(value, dict) and "Ref" in value and variable in environ:
            names[value["Ref"]] = environ[variable]
    return names


def _arn(logical: str, resources: dict, names: dict[str, str]) -> str:
    kind, name = resources.get(logical, {}).get("Type"), names.get(logical, f"unknown-{logical}")
    return {"AWS::S3::Bucket": f"arn:aws:s3:::{name}", "AWS::DynamoDB::Table": _table(name),
            "AWS::Lambda::Function": _function(name)}.get(kind, name)


def _resolve(value: Any, resources: dict, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return [_resolve(v, resources, names) for v in value]
    if "Ref" in value:
        pseudo = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
                  "AWS::URLSuffix": "amazonaws.com"}
        return pseudo.get(value["Ref"]) or names.get(value["Ref"], f"unknown-{value['Ref']}")
    if "Fn::GetAtt" in value:
        logical, attribute = value["Fn::GetAtt"]
        return _arn(logical, resources, names) if attribute == "Arn" else f"unknown-{logical}.{attribute}"
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(str(_resolve(p, resources, names)) for p in parts)
    return f"unknown-{json.dumps(value)}"


def policy_of(step: str, environ: dict[str, str] | None = None, resources: dict | None = None) -> IAMPolicy:
    resources = resources if resources is not None else template()["Resources"]
    names = _names(step, resources, dict(os.environ) if environ is None else environ)
    resolved = [{**s, "Resource": _resolve(s.get("Resource", "*"), resources, names)}
                for s in statements(step, resources)]
    return IAMPolicy(json.dumps({"Version": "2012-10-17", "Statement": resolved}))


def denied(step: str, calls: list[Call], policy: IAMPolicy | None = None) -> list[str]:
    """The calls the step's role would not allow, as 'action on resource (service:Operation)'."""
    policy = policy or policy_of(step)
    return [f"{action} on {resource} ({call.service}:{call.operation})" for call in calls
            for action, resource in authorizations(call)
            if policy.is_action_permitted(action, resource) is not PermissionResult.PERMITTED]


@contextlib.contextmanager
def checking(step: str) -> Iterator[None]:
    """The AWS calls made inside the block checked against the step's role (core calls the tests make as the
    step's function would: the harness's process, range and finalize)."""
    with recording() as calls:
        yield
    problems = denied(step, calls)
    if problems:
        raise AssertionError(f"the {step} function's role would deny: " + "; ".join(problems))


def checked(step: str, handler):  # noqa: ANN001, ANN201 - a Lambda handler, as tests.lambda_handlers loads it
    """The handler, its AWS calls checked against the step's synthesized role after every invocation."""
    if step not in FUNCTIONS:
        return handler

    def invoke(event, context):  # noqa: ANN001, ANN202
        with recording() as calls:
            try:
                return handler(event, context)
            finally:
                problems = denied(step, calls)
                if problems:
                    raise AssertionError(f"the {step} function's role would deny: " + "; ".join(problems))

    return invoke
