"""The webhook of an ended job, as the notify function delivers it: the delivery ends within its deadline (well
inside the function's 300 s) and the job's `webhook` says exactly what happened."""

from __future__ import annotations

import time

import boto3
from werkzeug.wrappers import Request, Response

from ocrflow.api.app import build_app
from ocrflow.api.deps import ApiDeps
from ocrflow.api.notifications import notify_job
from ocrflow.webhooks import verify
from tests.http_servers import serving, trickling
from tests.integration.api.conftest import ApiHarness, api_settings


def harness(**settings) -> ApiHarness:
    deps = ApiDeps.build(api_settings(url_allow_http=True, callback_allowed_hosts="127.0.0.1", **settings), boto3)
    return ApiHarness(deps=deps, app=build_app(lambda: deps, ["*"]))


def ended_job(api: ApiHarness, key: str, callback_url: str) -> str:
    job = api.create_job(key, callback_url=callback_url).body["job"]["id"]
    api.deps.jobs.update(job, status="succeeded", pages=1)
    return job


def test_a_trickling_receiver_is_given_up_on_and_the_job_says_how_many_posts_it_got(aws):
    api = harness(webhook_deadline_seconds=1.5)
    key = api.tenant("acme")
    with trickling("headers", interval=0.05, for_seconds=8.0) as slow:
        job = ended_job(api, key, f"{slow.url}/hooks")
        started = time.monotonic()
        notify_job(job, api.deps)
        took = time.monotonic() - started
        posts = slow.requests
    assert 1.4 <= took < 4.0, took  # the deadline, with slack: the receiver trickles for 8 s per POST
    webhook = api.call("GET", f"/v1/jobs/{job}", key).body["webhook"]
    assert webhook["delivered"] is False and webhook["attempts"] == posts >= 1
    assert webhook["error_code"] == "deadline_exceeded" and webhook["status_code"] is None
    assert 1.4 <= webhook["seconds"] < 4.0


def test_a_delivered_webhook_is_reported_once_with_its_status(aws):
    api = harness()
    key = api.tenant("acme")
    secret = api.deps.tenants.get("acme").webhook_secret
    got = []

    @Request.application
    def hooks(request: Request) -> Response:
        got.append(verify(secret, request.get_data(), request.headers["X-Ocrflow-Signature"]))
        return Response("thanks", status=202)

    with serving(hooks) as base:
        job = ended_job(api, key, f"{base}/hooks")
        notify_job(job, api.deps)
        notify_job(job, api.deps)  # delivered already: not sent again
    assert got == [True]
    webhook = api.call("GET", f"/v1/jobs/{job}", key).body["webhook"]
    assert (webhook["delivered"], webhook["attempts"], webhook["status_code"], webhook["error"]) == (True, 1, 202, None)



def test_a_second_notify_call_counts_the_posts_of_the_first(aws):
    """Lambda runs an asynchronous invocation again when one fails: the report counts every POST of the job."""
    api = harness()
    key = api.tenant("acme")

    @Request.application
    def down(request: Request) -> Response:
        return Response("not now", status=400)  # final: one POST per call

    with serving(down) as base:
        job = ended_job(api, key, f"{base}/hooks")
        notify_job(job, api.deps)
        notify_job(job, api.deps)
    webhook = api.call("GET", f"/v1/jobs/{job}", key).body["webhook"]
    assert (webhook["delivered"], webhook["attempts"], webhook["status_code"]) == (False, 2, 400)
