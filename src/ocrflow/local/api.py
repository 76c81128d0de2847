"""`ocrflow api`: the local stack with its HTTPS API and the web page, up until stopped (Ctrl-C, SIGTERM, SIGHUP),
with a test tenant."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ocrflow.api.tenants import TenantExistsError
from ocrflow.local.stack import LocalStack, local_stack
from ocrflow.workflow.models import ENDED
from ocrflow.workflow.routing import AUTO

TEST_TENANT = "local"


def api_key_for(stack: LocalStack, tenant: str = TEST_TENANT, credits: int = 1000) -> str:
    """An API key of `tenant` on the local stack (created with `credits` if it is new)."""
    tenants = stack.tenants()
    try:
        return tenants.create(tenant, name="local test tenant", credits=credits).api_key
    except TenantExistsError:
        return tenants.add_key(tenant)


def serve_local_api(provider: str = AUTO) -> int:
    from ocrflow.web import find_web_root, serve_web

    print("ocrflow: starting the local stack (emulator, cdk deploy) ...", flush=True)
    with local_stack(provider) as stack:
        assert stack.deployment is not None
        key = api_key_for(stack)
        server, page = serve_web(find_web_root(), {"apiBase": stack.api_base, "apiKey": key})
        try:
            env = stack.emulator.client_env()
            print(f"\nAPI base URL:  {stack.api_base}")
            print(f"test API key:  {key}   (tenant {TEST_TENANT})")
            print(f"OpenAPI:       {stack.api_base}/openapi.json")
            print(f"web page:      {page}")
            print(f"\ntry:  curl -H 'X-Api-Key: {key}' {stack.api_base}/v1/jobs")
            print("admin (another shell):")
            print(f"  export {' '.join(f'{k}={v}' for k, v in env.items())} "
                  f"OCRFLOW_TENANTS_TABLE={stack.deployment.tenants_table}")
            print("  .venv/bin/ocrflow tenants list\n\nCtrl-C (or SIGTERM, SIGHUP) stops everything.", flush=True)
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            with contextlib.suppress(OSError):  # after SIGHUP there may be no terminal left to write to
                print("stopping: the emulator, its Lambda workers and its temporary files ...", flush=True)
            raise
        finally:
            server.shutdown()
            server.server_close()


@dataclass
class ApiJob:
    """One document taken through the HTTPS API as a web frontend would: what each step answered."""

    job: dict[str, Any]
    result: dict[str, Any] | None
    seconds: float


def wait_for_job(api: httpx.Client, job_id: str, timeout: float) -> dict[str, Any]:
    """GET /v1/jobs/{id} until the job has ended; the last answer (still running when `timeout` ran out)."""
    deadline = time.monotonic() + timeout
    job = api.get(f"/v1/jobs/{job_id}").json()
    while job["status"] not in ENDED and time.monotonic() < deadline:
        time.sleep(0.5)
        job = api.get(f"/v1/jobs/{job_id}").json()
    return job


def ocr_over_api(base: str, key: str, document: Path, content_type: str, timeout: float = 300.0) -> ApiJob:
    """POST /v1/jobs, PUT the file to the presigned upload, poll GET /v1/jobs/{id}, GET its result."""
    headers = {"X-Api-Key": key}
    body = document.read_bytes()
    started = time.monotonic()
    with httpx.Client(base_url=base, headers=headers, timeout=30) as api:
        made = api.post("/v1/jobs", json={"filename": document.name, "content_type": content_type,
                                          "size": len(body)})
        made.raise_for_status()
        slot = made.json()["upload"]
        httpx.put(slot["url"], headers=slot["headers"], content=body, timeout=60).raise_for_status()
        job_id = made.json()["job"]["id"]
        job = wait_for_job(api, job_id, timeout - (time.monotonic() - started))
        result = api.get(f"/v1/jobs/{job_id}/result").json() if job["status"] == "succeeded" else None
    return ApiJob(job=job, result=result, seconds=time.monotonic() - started)
