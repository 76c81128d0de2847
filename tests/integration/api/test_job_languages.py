"""A job's languages are checked when it is created, against the providers it may go to: a language nothing on
the route reads is refused at once (422, listing what is read), instead of failing after the upload."""

from __future__ import annotations

import json

import boto3
import pytest

from ocrflow.api.app import build_app
from ocrflow.api.deps import ApiDeps
from ocrflow.engines.tesseract import default_tessdata_path
from ocrflow.workflow.jobs import JobRepository
from ocrflow.workflow.models import JobState
from ocrflow.workflow.settings import WorkflowSettings
from ocrflow.workflow.steps import Deps, claim_and_reserve, fail_from_catch, submit
from ocrflow.workflow.storage import ObjectStore
from tests.aws_resources import JOBS_TABLE, RESULTS
from tests.conftest import sample_bytes
from tests.integration.api.conftest import ApiHarness, api_settings
from tests.integration.api.test_api_jobs_in_workflow import land

INSTALLED = sorted(path.stem for path in default_tessdata_path().glob("*.traineddata") if path.stem != "osd")


def harness(**settings) -> ApiHarness:
    deps = ApiDeps.build(api_settings(**settings), boto3)
    return ApiHarness(deps=deps, app=build_app(lambda: deps, ["*"]))


def test_a_language_the_embedded_engine_has_no_model_for_is_refused_when_the_job_is_made(aws):
    api = harness()
    key = api.tenant("acme")
    assert "fra" not in INSTALLED and "deu" in INSTALLED  # the tessdata-fast packages this project installs
    for language in ("xyz", "fra", "eng+xyz"):
        refused = api.create_job(key, language=language)
        assert refused.status == 422, refused.body
        assert refused.body["error"]["code"] == "language_not_available"
        message = refused.body["error"]["message"]
        assert all(code in message for code in INSTALLED), message  # what it can read
        assert str(default_tessdata_path()) not in message and "/" not in message, message  # no paths
    assert api.call("GET", "/v1/jobs", key).body["jobs"] == []
    assert api.create_job(key, language="deu").status == 201


def test_a_language_a_provider_on_the_route_reads_is_accepted(aws):
    routed = harness(route="ocrspace")  # OCR.space reads French; the embedded engine after it does not
    assert routed.create_job(routed.tenant("acme"), language="fra").status == 201
    refused = routed.create_job(routed.deps.tenants.add_key("acme"), language="xyz")
    assert refused.status == 422 and "ocrspace" in refused.body["error"]["message"]
    embedded_only = harness(route="ocrspace", embedded_fallback=False, provider="tesseract")
    refused = embedded_only.create_job(embedded_only.tenant("globex"), language="fra")  # pinned to the engine
    assert refused.status == 422 and "ocrspace" not in refused.body["error"]["message"]


def test_a_language_the_route_promised_but_nothing_delivered_fails_without_paths(aws):
    """OCR.space could read French but is not configured here, so the job falls to the embedded engine, which
    has no French model: the failure the user sees names languages, not the function's folders."""
    api = harness(route="ocrspace")
    key = api.tenant("acme", credits=5)
    body = sample_bytes("notice.jpg")
    job = api.create_job(key, filename="notice.jpg", content_type="image/jpeg", size=len(body),
                         language="fra").body["job"]["id"]
    deps = Deps(settings=WorkflowSettings(results_bucket=RESULTS, jobs_table=JOBS_TABLE, route="ocrspace"),
                store=ObjectStore(boto3.client("s3")), jobs=JobRepository(boto3.resource("dynamodb").Table(JOBS_TABLE)))
    request = land(f"uploads/tenants/acme/{job}/notice.jpg", body, deps)
    started, _, _ = claim_and_reserve(request, "exec-1", deps)
    with pytest.raises(Exception) as raised:
        submit(JobState.model_validate_json(started.model_dump_json()), deps)
    fail_from_catch(request, {"Error": type(raised.value).__name__,
                              "Cause": json.dumps({"errorMessage": str(raised.value)})}, deps)
    view = api.call("GET", f"/v1/jobs/{job}", key).body
    assert view["status"] == "failed", view
    shown = json.dumps([view["error"], view["routing"]])
    assert "fra" in shown and str(default_tessdata_path()) not in shown and "site-packages" not in shown, shown
