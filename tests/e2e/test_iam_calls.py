"""IAM proven on the local stack: the emulator enforces no IAM, so every AWS call its Python functions make is
recorded inside the Lambda workers (tests/iam_hook) and checked against the function's role in the template
the stack was deployed from (tests.iam.StackCalls; conftest checks after every test). Here: a job through the
API reaches the functions it should, each call of theirs is checked, and the check bites on this deployment."""

from __future__ import annotations

import copy

import pytest

from ocrflow.client import OcrflowClient
from ocrflow.local.api import api_key_for
from ocrflow.local.jobs import upload, wait_for_jobs
from tests.conftest import sample_bytes
from tests.iam import denied

pytestmark = pytest.mark.e2e


def logical(stack_calls, prefix: str) -> str:
    (found,) = [f for f in stack_calls.deployment.resources if f.startswith(prefix)
                and stack_calls.deployment.resources[f]["Type"] == "AWS::Lambda::Function"]
    return found


def test_an_api_job_s_calls_are_each_checked_against_the_deployed_role(stack, stack_calls, tmp_path):
    stack_calls.check()  # what earlier tests left
    receipt = tmp_path / "receipt.png"
    receipt.write_bytes(sample_bytes("receipt.png"))
    with OcrflowClient(stack.api_base, api_key_for(stack, "e2e-iam")) as client:
        result = client.ocr_file(receipt, outputs=("json", "alto"), timeout=240)
    assert result.succeeded and result.files["alto"].startswith(b"<?xml")
    stack_calls.check()
    api, process = logical(stack_calls, "ApiFunction"), logical(stack_calls, "WorkflowProcessFunction")
    operations = {name: {(c.service, c.operation) for c in stack_calls.checked.get(name, [])}
                  for name in (api, process)}
    # the API read the tenant, stored the job and signed the upload and the downloads (S3 authorizes those
    # with its role); the process function read the upload, claimed the job and wrote the results
    assert {("s3", "PutObject"), ("s3", "GetObject"), ("dynamodb", "GetItem"), ("dynamodb", "PutItem")} \
        <= operations[api]
    assert {("s3", "GetObject"), ("s3", "PutObject"), ("dynamodb", "UpdateItem")} <= operations[process]


def test_the_check_bites_on_the_deployed_template(stack, stack_calls):
    """The process function's calls of one upload, against its deployed role with s3:PutObject taken out:
    denied."""
    tracked = upload(stack, "iam-letter.pdf", sample_bytes("letter.pdf"), folder="e2e/")
    assert wait_for_jobs(stack, [tracked], timeout=240) and tracked.record["status"] == "succeeded"
    stack_calls.check()
    process = logical(stack_calls, "WorkflowProcessFunction")
    calls = stack_calls.checked.get(process)
    assert calls, "no call of the process function was recorded"
    deployment = stack_calls.deployment
    assert denied(process, calls, deployment.role(process), deployment.account) == []
    resources = copy.deepcopy(deployment.resources)
    for resource in resources.values():
        if resource["Type"] == "AWS::IAM::Policy":
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                statement["Action"] = [a for a in actions if a != "s3:PutObject"] or ["none:None"]
    problems = denied(process, calls, deployment.role(process, resources), deployment.account)
    assert problems and all(p.startswith("s3:PutObject on arn:aws:s3:::") for p in problems)
