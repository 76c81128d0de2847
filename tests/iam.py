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
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
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

    # a presigned URL is no call, but S3 authorizes the request made with it by the role that signed it
    import botocore.signers

    presign = botocore.signers.generate_presigned_url  # looked up each time a client class is made

    def presigned(client, ClientMethod, Params=None, ExpiresIn=3600, HttpMethod=None):  # noqa: ANN001, ANN202, N803
        operation = client.meta.method_to_api_mapping.get(ClientMethod, ClientMethod)
        with _lock:
            for calls in _recording:
                calls.append(Call(client.meta.service_model.service_name, operation, dict(Params or {})))
        return presign(client, ClientMethod, Params=Params, ExpiresIn=ExpiresIn, HttpMethod=HttpMethod)

    botocore.signers.generate_presigned_url = presigned


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

def _table(name: str, account: str) -> str:
    return name if name.startswith("arn:") else f"arn:aws:dynamodb:{REGION}:{account}:table/{name}"


def _function(name: str, account: str) -> str:
    """A function's ARN, from its name or ARN (a qualified ARN stays qualified: roles grant `<arn>:*` too)."""
    return name if name.startswith("arn:") else f"arn:aws:lambda:{REGION}:{account}:function:{name}"


def authorizations(call: Call, account: str = ACCOUNT) -> list[tuple[str, str]]:
    """The (action, resource ARN) pairs AWS authorizes the call with. A presigned request's are the same: S3
    authorizes it when it is used, with the role that signed it."""
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
                  "GetObjectTagging": ("s3:GetObjectTagging", obj),
                  # CDK's handler of the buckets' notification settings (EventBridge delivery)
                  "GetBucketNotificationConfiguration": ("s3:GetBucketNotification", bucket),
                  "PutBucketNotificationConfiguration": ("s3:PutBucketNotification", bucket)}
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
            return [(f"dynamodb:{op}", _table(p["TableName"], account))]
        if op == "Query":
            index = f"/index/{p['IndexName']}" if p.get("IndexName") else ""
            return [("dynamodb:Query", _table(p["TableName"], account) + index)]
        if op == "TransactWriteItems":
            kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem"}
            return [(f"dynamodb:{kinds[kind]}", _table(item[kind]["TableName"], account))
                    for item in p["TransactItems"] for kind in item]
        if op == "TransactGetItems":
            return [("dynamodb:GetItem", _table(item["Get"]["TableName"], account)) for item in p["TransactItems"]]
        if op in ("BatchWriteItem", "BatchGetItem"):
            return [(f"dynamodb:{op}", _table(table, account)) for table in p["RequestItems"]]
    if call.service == "stepfunctions" or call.service == "states":
        if op == "StartExecution":
            return [("states:StartExecution", p["stateMachineArn"])]
        if op == "DescribeExecution":
            return [("states:DescribeExecution", p["executionArn"])]
    if call.service == "lambda" and op == "Invoke":
        return [("lambda:InvokeFunction", _function(p["FunctionName"], account))]
    if call.service == "secretsmanager" and op == "GetSecretValue":
        secret = p["SecretId"]
        return [("secretsmanager:GetSecretValue", secret if secret.startswith("arn:")
                 else f"arn:aws:secretsmanager:{REGION}:{account}:secret:{secret}-??????")]
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


def role_statements(function: str, resources: dict) -> list[dict]:
    """The statements of every policy of the function's role (by its logical id), resolved later: the role's
    own and those of each AWS::IAM::Policy attached to it."""
    role = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
    inline = [s for policy in resources[role]["Properties"].get("Policies", [])
              for s in policy["PolicyDocument"]["Statement"]]
    return inline + [s for r in resources.values() if r["Type"] == "AWS::IAM::Policy"
                     and {"Ref": role} in r["Properties"]["Roles"]
                     for s in r["Properties"]["PolicyDocument"]["Statement"]]


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


def _arn(logical: str, resources: dict, names: dict[str, str], account: str) -> str:
    kind, name = resources.get(logical, {}).get("Type"), names.get(logical, f"unknown-{logical}")
    return {"AWS::S3::Bucket": f"arn:aws:s3:::{name}", "AWS::DynamoDB::Table": _table(name, account),
            "AWS::Lambda::Function": _function(name, account)}.get(kind, name)


def _resolve(value: Any, resources: dict, names: dict[str, str], account: str) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return [_resolve(v, resources, names, account) for v in value]
    if "Ref" in value:
        pseudo = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": account,
                  "AWS::URLSuffix": "amazonaws.com"}
        return pseudo.get(value["Ref"]) or names.get(value["Ref"], f"unknown-{value['Ref']}")
    if "Fn::GetAtt" in value:
        logical, attribute = value["Fn::GetAtt"]
        return _arn(logical, resources, names, account) if attribute == "Arn" else f"unknown-{logical}.{attribute}"
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(str(_resolve(p, resources, names, account)) for p in parts)
    return f"unknown-{json.dumps(value)}"


def _for_moto(pattern: Any) -> Any:
    """An IAM resource pattern as moto's evaluator must be given it: it makes a regular expression of it by
    turning `*` into `.*` and nothing else, so every other character is escaped here and IAM's `?` (any one
    character; a secret's ARN ends in `-??????`) becomes `.`."""
    if isinstance(pattern, list):
        return [_for_moto(p) for p in pattern]
    return "".join("*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


def policy(statements: list[dict], resources: dict, names: dict[str, str], account: str = ACCOUNT) -> IAMPolicy:
    """The statements, their resources resolved to `names` (logical id -> name), as moto's evaluator."""
    resolved = [{**s, "Resource": _for_moto(_resolve(s.get("Resource", "*"), resources, names, account))}
                for s in statements]
    return IAMPolicy(json.dumps({"Version": "2012-10-17", "Statement": resolved}))


def policy_of(step: str, environ: dict[str, str] | None = None, resources: dict | None = None) -> IAMPolicy:
    resources = resources if resources is not None else template()["Resources"]
    names = _names(step, resources, dict(os.environ) if environ is None else environ)
    return policy(role_statements(function_id(step, resources), resources), resources, names)


def denied(step: str, calls: list[Call], role: IAMPolicy | None = None, account: str = ACCOUNT) -> list[str]:
    """The calls the role would not allow, as 'action on resource (service:Operation)': the step's synthesized
    role unless `role` is given (then `step` only names the function)."""
    role = role or policy_of(step)
    return [f"{action} on {resource} ({call.service}:{call.operation})" for call in calls
            for action, resource in authorizations(call, account)
            if role.is_action_permitted(action, resource) is not PermissionResult.PERMITTED]


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


# --- the local stack's functions (end-to-end tests) ------------------------------------------------------------

#: on the emulator's PYTHONPATH: its sitecustomize records the AWS calls of every Python Lambda worker
HOOK = REPO / "tests" / "iam_hook"


@dataclass
class Deployed:
    """What one deployment of the local stack's roles allow: its template and its resources' names."""

    resources: dict
    names: dict[str, str]  # logical id -> physical id
    account: str

    def function(self, name: str) -> str | None:
        """A function's logical id from its name (or ARN)."""
        name = name.rsplit(":", 1)[-1]
        return next((logical for logical, physical in self.names.items()
                     if self.resources.get(logical, {}).get("Type") == "AWS::Lambda::Function"
                     and physical.rsplit(":", 1)[-1] == name), None)

    def role(self, function: str, resources: dict | None = None) -> IAMPolicy:
        resources = resources if resources is not None else self.resources
        return policy(role_statements(function, resources), resources, self.names, self.account)


class StackCalls:
    """The AWS calls of the local stack's functions, checked against their roles.

    The emulator's Python Lambda workers record each call (tests/iam_hook) into `folder`, one JSON line each;
    `check` reads the lines not read yet and evaluates each against its function's role in the template of the
    deployment it ran in (`before_deploy` checks what the previous deployment's functions did).
    """

    def __init__(self, folder: Path) -> None:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.folder = folder
        self._offsets: dict[Path, int] = {}
        self.deployment: Deployed | None = None
        #: function logical id -> its calls checked in the current deployment (all allowed, or check raised)
        self.checked: dict[str, list[Call]] = {}
        #: function logical id -> service:Operation -> how many were checked, over every deployment
        self.counts: dict[str, dict[str, int]] = {}

    def environment(self) -> dict[str, str]:
        return {"PYTHONPATH": str(HOOK), "OCRFLOW_TEST_IAM_CALLS": str(self.folder)}

    def new_calls(self) -> list[tuple[str, Call]]:
        """(function name, call) of every line written since the last read (a line being written waits)."""
        found = []
        for path in sorted(self.folder.glob("calls-*.jsonl")):
            start = self._offsets.get(path, 0)
            with open(path, "rb") as lines:
                lines.seek(start)
                data = lines.read()
            data = data[:data.rfind(b"\n") + 1]
            self._offsets[path] = start + len(data)
            for line in data.splitlines():
                record = json.loads(line)
                found.append((record["function"], Call(record["service"], record["operation"], record["params"])))
        return found

    # LocalStack's watcher protocol
    def deployed(self, stack) -> None:  # noqa: ANN001 - ocrflow.local.stack.LocalStack
        from ocrflow.local.deployment import STACK
        from ocrflow.local.emulator import ACCOUNT as EMULATOR_ACCOUNT

        resources = json.loads((stack.tools.work_dir / "cdk.out" / f"{STACK}.template.json").read_text())["Resources"]
        pages = stack.client("cloudformation").get_paginator("list_stack_resources").paginate(StackName=STACK)
        names = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                 for page in pages for r in page["StackResourceSummaries"]}
        self.deployment = Deployed(resources, names, EMULATOR_ACCOUNT)
        self.checked = {}

    def before_deploy(self, stack) -> None:  # noqa: ANN001, ARG002
        self.check()

    def check(self) -> None:
        """Raises AssertionError naming every new call its function's role would deny."""
        assert self.deployment is not None, "no deployment seen"
        problems = []
        for name, call in self.new_calls():
            function = self.deployment.function(name)
            if function is None:
                problems.append(f"{call.service}:{call.operation} by {name}, a function not in the stack")
                continue
            self.checked.setdefault(function, []).append(call)
            counts = self.counts.setdefault(function, {})
            counts[f"{call.service}:{call.operation}"] = counts.get(f"{call.service}:{call.operation}", 0) + 1
            problems += [f"{function}: {problem}" for problem in
                         denied(function, [call], self.deployment.role(function), self.deployment.account)]
        if problems:
            raise AssertionError("the local stack's roles would deny: " + "; ".join(sorted(set(problems))))

    def write_summary(self) -> Path:
        """What was checked, per function and operation, as `checked.json` in the folder."""
        path = self.folder / "checked.json"
        path.write_text(json.dumps(self.counts, indent=1, sort_keys=True))
        return path


_install()  # clients made from now on record their presigned URLs too
