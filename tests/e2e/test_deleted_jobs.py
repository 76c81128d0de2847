"""A deleted job's upload URL on the local stack: the presigned PUT still works after DELETE (S3 cannot revoke
it), but the file it brings is deleted on arrival, every version, and never OCRed."""

from __future__ import annotations

import time

import httpx
import pytest

from ocrflow.local.api import api_key_for
from tests.conftest import sample_bytes

pytestmark = pytest.mark.e2e


def test_a_file_put_after_its_job_was_deleted_is_removed_and_never_ocred(stack):
    key = api_key_for(stack, "e2e-deleted")
    api = httpx.Client(base_url=stack.api_base, headers={"X-Api-Key": key}, timeout=30)
    body = sample_bytes("receipt.png")
    credits_before = api.get("/v1/usage").json()["credits"]
    made = api.post("/v1/jobs", json={"filename": "receipt.png", "content_type": "image/png", "size": len(body)})
    assert made.status_code == 201, made.text
    job, upload = made.json()["job"], made.json()["upload"]
    assert api.delete(f"/v1/jobs/{job['id']}").status_code == 204
    assert httpx.put(upload["url"], headers=upload["headers"], content=body, timeout=30).status_code == 200

    s3 = stack.client("s3")
    key_prefix = f"uploads/tenants/e2e-deleted/{job['id']}/"

    def versions() -> list:
        listed = s3.list_object_versions(Bucket=stack.deployment.uploads_bucket, Prefix=key_prefix)
        return listed.get("Versions", []) + listed.get("DeleteMarkers", [])

    deadline = time.monotonic() + 120
    while versions() and time.monotonic() < deadline:
        time.sleep(1)
    assert versions() == [], "the late upload is still in the bucket"
    assert api.get(f"/v1/jobs/{job['id']}").status_code == 404  # not brought back as a job
    results = s3.list_objects_v2(Bucket=stack.deployment.results_bucket, Prefix=f"results/e2e-deleted/{job['id']}/")
    assert results.get("KeyCount", 0) == 0
    assert api.get("/v1/usage").json()["credits"] == credits_before
