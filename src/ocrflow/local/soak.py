"""A soak of the local stack: many documents uploaded at once - half through the HTTPS API by a tenant with
credits, half dropped in the bucket by the operator, some of them not documents at all - then every job
followed to its end. What it checks is what users would notice: no job lost or left running, each bad file a
typed failure, the tenant charged exactly one credit per page OCRed and nothing for failures, no reservation
left held, usage counted once per job. It also times the stack end to end: documents per minute from the first
upload to the last job's end, and each job's seconds from its upload to its end (`make bench` prints both;
`tests/e2e` runs a smaller soak).
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from ocrflow.local.api import api_key_for
from ocrflow.local.jobs import records_by_key
from ocrflow.local.stack import LocalStack
from ocrflow.samples import PARAGRAPHS, PageSpec, render_page
from ocrflow.workflow.models import ENDED, api_upload_key

SOAK_TENANT = "soak"
NOT_A_DOCUMENT = b"<!DOCTYPE html><html><body>this is a web page, not a scan</body></html>"


@dataclass
class SoakDocument:
    name: str
    body: bytes
    api: bool  # sent by the tenant through the API (charged), else dropped in the bucket by the operator
    bad: bool
    key: str = ""  # the upload's S3 key (an API job's is named after the tenant and the job)
    job_id: str = ""
    uploaded_at: float = 0.0  # epoch seconds, when its upload finished


@dataclass
class SoakReport:
    documents: int
    api_jobs: int
    bad: int
    outcomes: Counter[str] = field(default_factory=Counter)  # "succeeded", or the failure's error code
    unfinished: list[str] = field(default_factory=list)  # keys of jobs not ended (or never started)
    wall_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    credits_charged: int = 0
    pages_succeeded_by_tenant: int = 0
    holds: Counter[str] = field(default_factory=Counter)  # reservation states of the tenant's jobs
    tenant_usage_pages: int = 0
    warm_latencies: list[float] = field(default_factory=list)  # one document at a time, after the burst

    @property
    def documents_per_minute(self) -> float:
        return 60 * self.documents / self.wall_seconds if self.wall_seconds else 0.0

    def lines(self) -> list[str]:
        ended = sorted(self.latencies)
        quantile = statistics.quantiles(ended, n=20) if len(ended) >= 2 else ended * 19
        return [
            f"{self.documents} uploads at once ({self.api_jobs} through the API by tenant '{SOAK_TENANT}', "
            f"{self.documents - self.api_jobs} dropped in the bucket; {self.bad} not documents)",
            f"outcomes: {dict(sorted(self.outcomes.items()))}; unfinished: {len(self.unfinished)}",
            f"end to end: {self.wall_seconds:.1f} s from the first upload to the last job's end = "
            f"{self.documents_per_minute:.1f} documents per minute",
            f"seconds per document, upload to end: median {statistics.median(ended) if ended else 0:.1f}, "
            f"p95 {quantile[18] if ended else 0:.1f}, max {max(ended, default=0):.1f}",
            "one document at a time on the warm stack, upload to end: " + (", ".join(
                f"{s:.1f}" for s in self.warm_latencies) or "not measured") + " s",
            f"tenant charged {self.credits_charged} credits for {self.pages_succeeded_by_tenant} pages OCRed; "
            f"reservations {dict(self.holds)}; usage counted {self.tenant_usage_pages} pages",
        ]


def soak_documents(count: int, bad_every: int = 10, label: str = "soak") -> list[SoakDocument]:
    """`count` small one-page scans (each with its own text), every `bad_every`-th one an HTML page named .pdf;
    every other document goes through the API."""
    documents = []
    for n in range(count):
        bad = bad_every > 0 and n % bad_every == bad_every - 1
        if bad:
            body, name = NOT_A_DOCUMENT, f"{label}-{n:04d}.pdf"
        else:
            page = PageSpec([PARAGRAPHS[n % len(PARAGRAPHS)][:120]], title=f"Soak {n}", dpi=200, width_in=4.5,
                            height_in=2.2)
            buffer = _png(render_page(page, seed=n))
            body, name = buffer, f"{label}-{n:04d}.png"
        api = (n // bad_every) % 2 == 0 if bad else n % 2 == 0  # bad files alternate between API and bucket too
        documents.append(SoakDocument(name=name, body=body, api=api, bad=bad))
    return documents


def _png(image: Any) -> bytes:
    import io

    out = io.BytesIO()
    image.save(out, "PNG", dpi=(200, 200))
    return out.getvalue()


def run_soak(stack: LocalStack, count: int, timeout: float = 900.0, uploaders: int = 16, warm: int = 0,
             label: str = "soak") -> SoakReport:
    """Upload `count` documents at once (API jobs are created first, then every file is put concurrently),
    follow the jobs until all have ended or `timeout`, and check the tenant's credits. Then, if `warm`, time
    that many more documents sent one at a time (the functions warm by now)."""
    assert stack.deployment is not None
    documents = soak_documents(count, label=label)
    key = api_key_for(stack, SOAK_TENANT, credits=count)
    tenants = stack.tenants()
    if tenants.get(SOAK_TENANT).credits < count:  # a soak before this one spent them
        tenants.credit(SOAK_TENANT, count)
    balance_before = tenants.get(SOAK_TENANT).credits
    from ocrflow.workflow.usage import tenant_usage

    usage_before = sum(u.pages for u in tenant_usage(stack.tenants_table(), SOAK_TENANT) if len(u.period) == 7)
    uploads: list[tuple[SoakDocument, dict[str, Any] | None]] = []
    with httpx.Client(base_url=stack.api_base, headers={"X-Api-Key": key}, timeout=60) as api:
        for doc in documents:
            slot = None
            if doc.api:
                made = api.post("/v1/jobs", json={"filename": doc.name, "size": len(doc.body),
                                                  "content_type": "application/pdf" if doc.bad else "image/png"})
                made.raise_for_status()
                doc.job_id, slot = made.json()["job"]["id"], made.json()["upload"]
                doc.key = api_upload_key(stack.deployment.uploads_prefix, SOAK_TENANT, doc.job_id, doc.name)
            else:
                doc.key = f"{stack.deployment.uploads_prefix}{label}/{doc.name}"
            uploads.append((doc, slot))
    s3 = stack.client("s3")

    def put(item: tuple[SoakDocument, dict[str, Any] | None]) -> None:
        doc, slot = item
        if slot is not None:
            httpx.put(slot["url"], headers=slot["headers"], content=doc.body, timeout=120).raise_for_status()
        else:
            s3.put_object(Bucket=stack.deployment.uploads_bucket, Key=doc.key, Body=doc.body)
        doc.uploaded_at = time.time()

    started = time.time()
    with ThreadPoolExecutor(uploaders) as pool:
        list(pool.map(put, uploads))
    records = _follow(stack, documents, timeout)
    report = SoakReport(documents=count, api_jobs=sum(d.api for d in documents), bad=sum(d.bad for d in documents))
    last_end = started
    for doc in documents:
        record = records.get(doc.key)
        if record is None or record.get("status") not in ENDED:
            report.unfinished.append(doc.key)
            continue
        report.outcomes["succeeded" if record["status"] == "succeeded" else record["error"]["code"]] += 1
        ended = datetime.fromisoformat(record["finished_at"]).timestamp()
        report.latencies.append(max(0.0, ended - doc.uploaded_at))
        last_end = max(last_end, ended)
        if doc.api and record["status"] == "succeeded":
            report.pages_succeeded_by_tenant += int(record.get("pages") or 0)
    report.wall_seconds = last_end - started
    report.credits_charged = balance_before - tenants.get(SOAK_TENANT).credits
    table = stack.tenants_table()
    holds = table.query(KeyConditionExpression="pk = :pk AND begins_with(sk, :hold)",
                        ExpressionAttributeValues={":pk": f"TENANT#{SOAK_TENANT}", ":hold": "HOLD#"},
                        ConsistentRead=True)["Items"]
    report.holds = Counter(str(item["state"]) for item in holds if str(item["sk"])[5:] in
                           {doc.job_id for doc in documents})
    report.tenant_usage_pages = sum(u.pages for u in tenant_usage(table, SOAK_TENANT)
                                    if len(u.period) == 7) - usage_before
    for doc in soak_documents(warm, bad_every=0, label=f"{label}-warm"):
        doc.key = f"{stack.deployment.uploads_prefix}{label}-warm/{doc.name}"
        doc.api = False
        put((doc, None))
        record = _follow(stack, [doc], timeout=120).get(doc.key, {})
        if record.get("status") == "succeeded":
            report.warm_latencies.append(datetime.fromisoformat(record["finished_at"]).timestamp() - doc.uploaded_at)
    return report


def _follow(stack: LocalStack, documents: list[SoakDocument], timeout: float) -> dict[str, dict[str, Any]]:
    """The job records of the soak's documents by upload key, once all have ended or at the time limit."""
    wanted = {doc.key for doc in documents}
    deadline = time.monotonic() + timeout
    while True:
        found = {key: record for key, record in records_by_key(stack).items() if key in wanted}
        ended = sum(1 for record in found.values() if record.get("status") in ENDED)
        if ended == len(wanted) or time.monotonic() > deadline:
            return found
        time.sleep(1.0)
