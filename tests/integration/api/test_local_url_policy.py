"""The local stack's URL settings as its API applies them: plain http callbacks to the test receivers' ports on
127.0.0.1, and no exemption at all for source URLs - a source_url at the emulator itself (its S3 serves every
tenant's results) is refused before any request reaches it."""

from __future__ import annotations

import sys

import boto3
import pytest
from werkzeug.wrappers import Request, Response

from ocrflow.api.app import build_app
from ocrflow.api.deps import ApiDeps
from ocrflow.api.settings import ApiSettings
from ocrflow.local.deployment import LOCAL_URL_CONTEXT, WEBHOOK_RECEIVER_PORTS, free_receiver_port
from tests.aws_resources import JOBS_TABLE, RESULTS, TENANTS_TABLE, UPLOADS
from tests.conftest import REPO
from tests.http_servers import serving
from tests.integration.api.conftest import ApiHarness

#: how the infra passes its config to the API function (infra/ocrflow_infra/constructs/workflow.py)
ENVIRONMENT_OF = {"url_allow_http": "OCRFLOW_URL_ALLOW_HTTP",
                  "source_url_allowed_hosts": "OCRFLOW_SOURCE_URL_ALLOWED_HOSTS",
                  "callback_allowed_hosts": "OCRFLOW_CALLBACK_ALLOWED_HOSTS"}


@pytest.fixture
def local_api(aws, monkeypatch) -> ApiHarness:
    """The API with the settings the local deployment's cdk context gives it."""
    sys.path.insert(0, str(REPO / "infra"))
    from aws_cdk import App
    from ocrflow_infra.config import DeploymentConfig

    config = DeploymentConfig.from_context(App(context=LOCAL_URL_CONTEXT))
    for field, variable in ENVIRONMENT_OF.items():
        value = getattr(config, field)
        monkeypatch.setenv(variable, str(value).lower() if isinstance(value, bool) else value)
    settings = ApiSettings(uploads_bucket=UPLOADS, results_bucket=RESULTS, jobs_table=JOBS_TABLE,
                           tenants_table=TENANTS_TABLE)
    deps = ApiDeps.build(settings, boto3)
    return ApiHarness(deps=deps, app=build_app(lambda: deps, ["*"]))


def test_a_source_url_at_the_emulator_or_a_receiver_port_is_refused_and_never_fetched(local_api):
    requests = []

    @Request.application
    def emulator(request: Request) -> Response:  # stands in for ministack's S3 on its own port
        requests.append(request.path)
        return Response(b"%PDF-1.7 another tenant's searchable.pdf", content_type="application/pdf")

    key = local_api.tenant("mallory")
    with serving(emulator) as endpoint, serving(emulator, port=free_receiver_port()) as receiver:
        for base in (endpoint, receiver, endpoint.replace("127.0.0.1", "localhost")):
            reply = local_api.call("POST", "/v1/jobs", key, {"source_url": f"{base}/ocrflow-results/results/x.pdf"})
            assert reply.status == 400 and reply.body["error"]["code"] == "url_not_allowed", (base, reply.body)
    assert requests == []
    assert local_api.call("GET", "/v1/jobs", key).body["jobs"] == []


def test_callbacks_may_go_to_the_receivers_ports_only(local_api):
    key = local_api.tenant("acme")
    first, last = WEBHOOK_RECEIVER_PORTS[0], WEBHOOK_RECEIVER_PORTS[-1]
    for port in (first, last):
        assert local_api.create_job(key, callback_url=f"http://127.0.0.1:{port}/hooks").status == 201
    for url in (f"http://127.0.0.1:{first - 1}/hooks", f"http://127.0.0.1:{last + 1}/hooks",
                "http://127.0.0.1:4566/hooks", "http://127.0.0.1/hooks", f"http://localhost:{first}/hooks"):
        refused = local_api.create_job(key, callback_url=url)
        assert refused.status == 400 and refused.body["error"]["code"] == "url_not_allowed", url
