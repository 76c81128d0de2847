"""Fan-out figures (issue 14): what a long document costs in time and money on AWS, from parts measured here.

Measured on this machine, on moto's S3 and DynamoDB, with the real scans of /work/shared/corpus/real (three
bilevel 300-dpi pages: unlv_8087_054, unlv_8071_093, eurotext):

1. one range: `workflow.fanout.ocr_range` over 8 real pages as the range function runs it (its piece read from
   S3, inspected, OCRed, the partial result written) - wall and CPU seconds per page;
2. the split: what the process call does for a fanned-out document of 100 / 1,000 / 2,000 pages (the upload
   read, inspected, cut into per-range PDFs with pikepdf and written, the items file) - the real pages
   repeated, each page its own CCITT G4 image as in a scanned archive (so 2,000 pages fit the 200 MB upload
   limit);
3. the merge: `steps.finalize` over the partial results of every range (each range's pages copies of the
   measured range's real readings) - its time and its peak RSS, in a subprocess of its own.

Then a latency model of the deployed path (split + slowest range + merge + cold starts and Step Functions
overheads, CPU time scaled to each function's vCPU: 1 per 1,769 MB, at most 1 for single-threaded work) and the
AWS cost per 1,000 documents of 100 and 1,000 pages, fanned out and as one call would cost for the same pages.

    .venv/bin/python bench/fanout.py            (make bench runs it)
"""

from __future__ import annotations

import io
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "infra"), str(REPO / "bench")]

from cost_model import (  # noqa: E402 - found through the path above
    DYNAMO_RRU,
    DYNAMO_WRU,
    LAMBDA_GB_SECOND,
    LAMBDA_REQUEST,
    S3_READ,
    S3_WRITE,
    SFN_STANDARD_TRANSITION,
)
from ocrflow_infra.sizes import STEPS  # noqa: E402

CORPUS = Path("/work/shared/corpus/real")
PAGES = ("unlv_8087_054.png", "unlv_8071_093.png", "eurotext.png")  # bilevel 300-dpi scans
RANGE_SAMPLE = 8  # real pages OCRed for the per-range figure
SIZES = (100, 1000, 2000)
#: assumptions of the latency model (stated, not measured here)
COLD_START_S = 2.0        # a range function's cold start: the layer's imports (bench/pipeline_figures.py) and init
SFN_OVERHEAD_S = 2.0      # the state machine: ProviderDone?, the Map run and its child executions starting, Finalize
TARGETS = {1000: 90.0, 2000: 150.0}
LONGEST_CALL_TARGET = 300.0


def vcpus(step: str) -> float:
    return STEPS[step][0] / 1769


def real_pdf(pages: int) -> bytes:
    """A scanned PDF of `pages` pages cycling through the real scans, each page its own CCITT G4 image object
    (as archive scanners write bilevel pages: ~50 KB a page, so the page limit's 2,000 fit the 200 MB limit)."""
    import img2pdf
    from PIL import Image

    images = []
    for name in PAGES:
        with Image.open(CORPUS / name) as image:
            out = io.BytesIO()
            image.convert("1").save(out, format="TIFF", compression="group4", dpi=image.info.get("dpi", (300, 300)))
            images.append(out.getvalue())
    return img2pdf.convert([images[i % len(images)] for i in range(pages)])


def aws() -> tuple:
    """moto's buckets and tables: (s3 client, jobs table, tenants table), as the workflow tests have them."""
    import boto3

    from tests.aws_resources import create_buckets, create_jobs_table, create_tenants_table

    boto3.setup_default_session()
    s3 = boto3.client("s3")
    create_buckets(s3)
    dynamodb = boto3.resource("dynamodb")
    return s3, create_jobs_table(dynamodb), create_tenants_table(dynamodb)


def start_job(tables: tuple, body: bytes, name: str, **settings):  # noqa: ANN201
    """The process call of one upload, to the hand-over: (deps, state, split seconds wall/CPU)."""
    from ocrflow.workflow.process import process_upload
    from tests.integration.workflow.harness import Clock, deps_for, owner_of, upload

    deps = deps_for(tables, Clock(), **settings)
    handed: list = []
    deps.hand_over = handed.append
    request = upload(tables, deps, name, body)
    wall, cpu = time.perf_counter(), time.process_time()
    outcome = process_upload(request, owner_of(request), deps)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert outcome.outcome == "waiting", outcome
    return deps, handed[-1], wall, cpu


def range_figures(tables: tuple) -> dict:
    """One range of real pages, as the range function runs it."""
    from ocrflow.workflow.fanout import ocr_range
    from ocrflow.workflow.models import PageRangeItem

    body = real_pdf(RANGE_SAMPLE)
    deps, state, _, _ = start_job(tables, body, "range-sample.pdf", range_pages=RANGE_SAMPLE, one_call_seconds=0.1)
    (item,) = [PageRangeItem(**i) for i in json.loads(deps.store.get(deps.settings.results_bucket,
                                                                     state.fan_out.items_key))]
    wall, cpu = time.perf_counter(), time.process_time()
    assert ocr_range(state, item, deps).outcome == "ocred"
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    part = deps.store.get(deps.settings.results_bucket, f"{deps.settings.work_prefix}{state.request.job_id}/"
                          "part-0000.json")
    return {"wall_per_page": wall / RANGE_SAMPLE, "cpu_per_page": cpu / RANGE_SAMPLE, "part": json.loads(part)}


def split_and_merge(tables: tuple, pages: int, sample_part: dict) -> dict:
    """The split of a `pages`-page upload, then the merge of its ranges (partial results copied from the
    measured range) in a subprocess: its time and peak RSS."""
    body = real_pdf(pages)
    deps, state, split_wall, split_cpu = start_job(tables, body, f"archive-{pages}.pdf")
    items = json.loads(deps.store.get(deps.settings.results_bucket, state.fan_out.items_key))
    readings = sample_part["pages"]
    for item in items:  # every range's partial result: real readings, in the real pages' order
        part = dict(sample_part, pages=[readings[(item["first_page"] + i) % len(PAGES)]
                                        for i in range(item["page_count"])], notes={})
        deps.store.put_json(deps.settings.results_bucket, f"{deps.settings.work_prefix}{state.request.job_id}/"
                            f"part-{item['index']:04d}.json", part)
    with tempfile.TemporaryDirectory() as scratch:
        dump = Path(scratch) / "state.json"
        dump.write_text(state.model_dump_json())
        merged = merge_in_subprocess(dump, deps)
    return {"pages": pages, "bytes": len(body), "ranges": len(items), "split_wall": split_wall,
            "split_cpu": split_cpu, **merged}


def merge_in_subprocess(state_file: Path, deps) -> dict:  # noqa: ANN001
    """finalize in a forked child (moto's in-process state comes along); its peak RSS and the RSS it started
    with (the parent's pages it shares: moto's copies of the upload and the partial results)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the merge alone, its peak RSS its own (from the fork's baseline)
        os.close(read)
        from ocrflow.workflow.models import JobState
        from ocrflow.workflow.steps import finalize

        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        state = JobState.model_validate_json(state_file.read_text())
        wall, cpu = time.perf_counter(), time.process_time()
        summary = finalize(state, deps)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        sizes = {kind: deps.store.s3.head_object(Bucket=uri.split("/", 3)[2], Key=uri.split("/", 3)[3])[
            "ContentLength"] / 1e6 for kind, uri in summary.results.items()}
        os.write(write, json.dumps({"merge_wall": wall, "merge_cpu": cpu, "status": summary.status.value,
                                    "merge_peak_mb": peak / 1024, "baseline_mb": base / 1024,
                                    "json_mb": sizes.get("json", 0), "pdf_mb": sizes.get("pdf", 0)}).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    result = json.loads(data)
    assert result["status"] == "succeeded", result
    return result


def latency(pages: int, per_page_cpu: float, measured: dict | None, range_pages: int, concurrency: int) -> dict:
    """Seconds on AWS: split + the slowest wave of ranges + merge (+ cold start, Step Functions)."""
    if measured is None:  # 10 pages: the one-call path (0.92 s/page estimate <= 90 s)
        one_call = pages * per_page_cpu / min(vcpus("process"), 1.0)
        return {"path": "one call", "ranges": 0, "split": 0.0, "range": 0.0, "merge": 0.0, "total": one_call,
                "longest": one_call}
    ranges = -(-pages // range_pages)
    waves = -(-ranges // concurrency)
    # a range's OCR runs on a thread pool: it uses the function's whole 1.16 vCPU
    one_range = range_pages * per_page_cpu / vcpus("range") + COLD_START_S
    split = measured["split_cpu"] / min(vcpus("process"), 1.0)
    merge = measured["merge_cpu"] / min(vcpus("finalize"), 1.0)
    total = split + waves * one_range + merge + SFN_OVERHEAD_S
    return {"path": "fan-out", "ranges": ranges, "split": split, "range": one_range, "merge": merge,
            "total": total, "longest": max(split, one_range, merge)}


def cost_per_1000(pages: int, per_page_cpu: float, measured: dict, range_pages: int) -> tuple[float, float]:
    """(fanned out, one call) AWS dollars per 1,000 documents of `pages` pages."""
    gb = {step: STEPS[step][0] / 1024 for step in STEPS}
    ocr_gbs = pages * per_page_cpu / vcpus("range") * gb["range"]
    ranges = -(-pages // range_pages)
    fixed = 0.00005  # the one-call path's own overhead per document (cost model: ~$0.05 per 1,000 documents)
    one_call = ocr_gbs * LAMBDA_GB_SECOND + fixed
    one_call += COLD_START_S * gb["process"] * LAMBDA_GB_SECOND  # its init, billed
    # every range is a call of its own: its init billed too (a burst of ranges starts new containers)
    lam = (measured["split_cpu"] * gb["process"] + ocr_gbs + ranges * COLD_START_S * gb["range"]
           + measured["merge_cpu"] * gb["finalize"] + 0.2 * gb["notify"]) * LAMBDA_GB_SECOND
    lam += (3 + ranges) * LAMBDA_REQUEST
    transitions = 5 + 2 * ranges  # parent: ProviderDone?, OcrRanges, Finalize, NotifySuccess, JobSucceeded;
    sfn = transitions * SFN_STANDARD_TRANSITION  # a Standard child: its OcrRange task entered and exited
    s3 = (ranges * 2 + 3) * S3_WRITE + (ranges * 3 + 2 * ranges + 4) * S3_READ  # pieces, parts, items, results
    dynamo = ranges * 1 * DYNAMO_WRU + ranges * 2 * 0.5 * DYNAMO_RRU  # a progress ADD, two job reads per range
    return (lam + sfn + s3 + dynamo + fixed) * 1000, one_call * 1000


def main() -> int:
    import logging
    import warnings

    from moto import mock_aws

    logging.getLogger().setLevel(logging.WARNING)
    warnings.simplefilter("ignore")
    os.environ.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench",
                       "AWS_SECRET_ACCESS_KEY": "bench"})
    from ocrflow.workflow.settings import WorkflowSettings

    plan = WorkflowSettings(results_bucket="r", jobs_table="j").range_plan
    with mock_aws():
        tables = aws()
        sample = range_figures(tables)
        measured = {pages: split_and_merge(tables, pages, sample["part"]) for pages in SIZES}
    per_page = sample["cpu_per_page"]
    lines = [f"fan-out figures (bench/fanout.py): {len(PAGES)} real scans repeated; one range measured on "
             f"{RANGE_SAMPLE} real pages: {sample['wall_per_page']:.2f} s wall, {per_page:.2f} CPU-s per page "
             f"(this machine, 2 cores, shared)", "",
             f"{'pages':>6} {'MB':>6} {'ranges':>6} {'split s (CPU)':>13} {'merge s (CPU)':>13} "
             f"{'merge peak RSS MB':>17} {'of it at start':>14} {'document.json MB':>16} {'PDF MB':>7}"]
    for pages, m in measured.items():
        lines.append(f"{pages:>6} {m['bytes'] / 1e6:>6.1f} {m['ranges']:>6} {m['split_wall']:>6.1f} "
                     f"({m['split_cpu']:>4.1f}) {m['merge_wall']:>6.1f} ({m['merge_cpu']:>4.1f}) "
                     f"{m['merge_peak_mb']:>17.0f} {m['baseline_mb']:>14.0f} {m['json_mb']:>16.1f} "
                     f"{m['pdf_mb']:>7.1f}")
    lines += ["", f"latency model on AWS (range {plan.range_pages} pages, {plan.concurrency} at a time; CPU time "
              f"scaled to the functions' vCPU; + {COLD_START_S:g} s cold start per range wave, "
              f"{SFN_OVERHEAD_S:g} s Step Functions)",
              f"{'pages':>6} {'path':>9} {'ranges':>6} {'split':>6} {'range':>6} {'merge':>6} {'total':>6} "
              f"{'longest call':>12} {'target':>7} {'met?':>5}"]
    for pages in (10, *SIZES):
        m = latency(pages, per_page, measured.get(pages), plan.range_pages, plan.concurrency)
        target = TARGETS.get(pages)
        met = ("yes" if m["total"] <= target and m["longest"] <= LONGEST_CALL_TARGET else "NO") if target else "-"
        lines.append(f"{pages:>6} {m['path']:>9} {m['ranges']:>6} {m['split']:>6.1f} {m['range']:>6.1f} "
                     f"{m['merge']:>6.1f} {m['total']:>6.1f} {m['longest']:>12.1f} "
                     f"{target if target else '-':>7} {met:>5}")
    lines += ["", "AWS cost per 1,000 documents (us-east-1 list prices; cost_model.py's prices): fanned out "
              "against one call for the same pages (the one-call path cannot take them past ~97 pages: a model)",
              f"{'pages':>6} {'fan-out $':>10} {'one call $':>10} {'per page ratio':>14} {'target <= 1.15':>14}"]
    for pages in (100, 1000):
        fanned, single = cost_per_1000(pages, per_page, measured[pages], plan.range_pages)
        lines.append(f"{pages:>6} {fanned:>10.2f} {single:>10.2f} {fanned / single:>14.3f} "
                     f"{'met' if fanned / single <= 1.15 else 'MISSED':>14}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    import contextlib

    with contextlib.redirect_stderr(io.StringIO()):
        sys.exit(main())
