"""Fan-out figures (issue 14): how long a long document takes on AWS and what it costs, from its parts measured
on this machine through the Lambda handlers of functions/ as bench/cost_model.py runs them, DynamoDB and Step
Functions on moto in-process, S3 as files (`FileStore`: moto's in-process S3 holds and copies every body in
memory, minutes and gigabytes for a 700 MB upload, and its memory would count as the function's).

Pages: the three full-page 300-dpi scans of the real corpus (/work/shared/corpus/real: linn, unlv_8087_054,
unlv_8071_093; seven pages in all there, too few for a 32-page range of distinct pages), cycled. Each page of a
big PDF is its own image stream (a copy of one of the three pages' encoded image, so the file is as big as a
real archive's): 8-bit greyscale JPEG (quality 30, ~700 KB a page) - a realistic archive scan - and, for the
sizes the deployment accepts (OCRFLOW_MAX_BYTES is 200 MB: a 2,000-page document may have ~100 KB a page),
the same pages bilevel (CCITT G4).

1. One range: the range handler over range 0 (32 pages) of a 100-page fanned-out document, as the Map calls it
   (its piece read from S3, inspected, OCRed by the embedded engine, the partial result written) - wall and
   CPU seconds per page, warm (the engine loaded by one page before).
2. The split: the process handler on the upload's EventBridge event for 100 / 1,000 / 2,000 pages (claim,
   read, inspect, reserve, slice into per-range PDFs with pikepdf, put them and the items file, start the
   state machine) - wall, CPU, and the part of both spent inside AWS calls (in this process here).
3. The merge: the finalize handler (and notify) over a partial result for every range - copies of the measured
   range's (the same words on the same real page) - wall, CPU and peak RSS, in a subprocess per document (the
   peak reset, /proc/self/clear_refs, just before finalize: what finalize adds is the merge's own).
4. A latency model of the deployed path, each measured CPU time (outside the AWS calls) scaled to the vCPU of
   its function (1 vCPU per 1,769 MB; single-threaded work gets at most one), S3 transfers and Step Functions
   overheads as stated assumptions, a cold start (handler import time measured as bench/pipeline_figures.py
   does, plus Lambda's own start) on every call of the path.
5. AWS cost per 1,000 documents of 100 and 1,000 pages fanned out, beside the one-call path for the same pages
   (one process call OCRing them all: pages x seconds per page x 2 GB), priced with bench/cost_model.py's prices.

    PYTHONPATH=src:. .venv/bin/python bench/fanout.py          (make bench runs it; ~4 minutes on 2 cores)
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "infra"), str(REPO / "bench"), str(REPO / "src")]

from cost_model import (  # noqa: E402 - found through the path above
    DYNAMO_RRU,
    DYNAMO_WRU,
    LAMBDA_GB_SECOND,
    LAMBDA_REQUEST,
    PRICES_AS_OF,
    S3_READ,
    S3_WRITE,
    S3_WRITES,
    SFN_STANDARD_TRANSITION,
    RequestCounter,
)
from ocrflow_infra import sizes  # noqa: E402
from ocrflow_infra.sizes import STEPS  # noqa: E402

from ocrflow.workflow.page_ranges import (  # noqa: E402 - the plan's s/page: 1.9 CPU-s on 1.16 vCPU
    MEASURED_EMBEDDED_SECONDS_PER_PAGE as MEASURED_S_PAGE,
)
from ocrflow.workflow.page_ranges import RangePlan  # noqa: E402

CONCURRENCY = RangePlan(seconds_per_page=MEASURED_S_PAGE).concurrency  # the deployment's rangeConcurrency

CORPUS = Path("/work/shared/corpus/real")
PAGES = ("linn", "unlv_8087_054", "unlv_8071_093")  # the corpus's full 300-dpi pages (letter size)
JPEG_QUALITY = 30
SIZES = (100, 1000, 2000)
ONE_CALL_PAGES = 10
SAVED = REPO / "bench" / "results" / "fanout.json"  # the figures of the last run (results/ is git-ignored)

# --- the model's assumptions -------------------------------------------------------------------------------
MB_PER_VCPU = 1769  # Lambda: one vCPU's worth of CPU per 1,769 MB
S3_REQUEST_S = 0.015  # first byte of one S3 request from Lambda in its region
S3_MB_PER_S = 80.0  # one stream's PutObject/GetObject throughput from Lambda (the code reads and writes serially)
LAMBDA_INIT_S = 0.35  # a new execution environment: sandbox, runtime start, layer mounted (before the imports)
EVENT_TO_LAMBDA_S = 1.0  # S3 event -> EventBridge rule -> asynchronous invocation of the process function
SFN_STATE_S = 0.3  # one state transition of a Standard execution (0.1-0.5 s)
MAP_START_S = 1.0  # the Distributed Map reads its items file and starts a wave of child executions
#: Standard transitions billed: parent ProviderDone?, OcrRanges (the Map state), Finalize, NotifySuccess,
#: JobSucceeded; per range one child execution of 3 (its start, the OcrRange task, its end; a retry adds one)
PARENT_TRANSITIONS = 5
CHILD_TRANSITIONS = 3
NOTIFY_S = 0.1  # the notify call of a job without a webhook (256 MB)
#: Lambda's /tmp beyond the free 512 MB (us-east-1; not in cost_model.py's prices): finalize's, infra's EPHEMERAL_MB
EPHEMERAL_GB_SECOND = 0.0000000309
FINALIZE_EXTRA_TMP_GB = (getattr(sizes, "EPHEMERAL_MB", {}).get("finalize", 512) - 512) / 1024
TARGETS = {1000: 90.0, 2000: 150.0}  # seconds, upload to results
LONGEST_CALL_TARGET = 300.0
COST_RATIO_TARGET = 1.15


# --- pages and PDFs ----------------------------------------------------------------------------------------


def page_streams(kind: str) -> list[tuple[bytes, dict, float, float]]:
    """The real pages encoded as `kind` ("jpeg" or "g4"): (raw stream, image dictionary, width pt, height pt)."""
    import img2pdf
    import pikepdf
    from PIL import Image

    streams = []
    for name in PAGES:
        image = Image.open(CORPUS / f"{name}.png")
        buffer = io.BytesIO()
        if kind == "jpeg":
            image.convert("L").save(buffer, "JPEG", quality=JPEG_QUALITY, dpi=(300, 300))
        else:
            image.convert("L").point(lambda v: 255 if v >= 128 else 0).convert("1").save(
                buffer, "TIFF", compression="group4", dpi=(300, 300))
        with pikepdf.open(io.BytesIO(img2pdf.convert(buffer.getvalue()))) as one:
            page = one.pages[0]
            (_, xobject), = page.Resources.XObject.items()
            entries = {k: v for k, v in xobject.items() if k != "/Length"}
            streams.append((xobject.read_raw_bytes(), {k: plain(v) for k, v in entries.items()},
                            float(page.MediaBox[2]), float(page.MediaBox[3])))
    return streams


def plain(value):  # noqa: ANN001, ANN201 - a pikepdf object as Python (names as "/Name")
    import pikepdf

    if isinstance(value, pikepdf.Dictionary):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, pikepdf.Array):
        return [plain(v) for v in value]
    if isinstance(value, pikepdf.Name):
        return str(value)
    if isinstance(value, bool):
        return value
    return int(value) if float(value).is_integer() else float(value)


def pdf_object(value):  # noqa: ANN001, ANN201 - the reverse of `plain`
    import pikepdf

    if isinstance(value, dict):
        return pikepdf.Dictionary({k: pdf_object(v) for k, v in value.items()})
    if isinstance(value, list):
        return pikepdf.Array([pdf_object(v) for v in value])
    if isinstance(value, str):
        return pikepdf.Name(value)
    return value


def build_pdf(pages: int, streams: list[tuple[bytes, dict, float, float]], path: Path) -> int:
    """A scanned PDF of `pages` pages, page i the real page i mod 3, each with its own copy of the image (no
    re-encoding, nothing shared); its size in bytes."""
    import pikepdf

    pdf = pikepdf.new()
    for i in range(pages):
        raw, entries, width, height = streams[i % len(streams)]
        image = pikepdf.Stream(pdf, raw)
        for key, value in entries.items():
            image[key] = pdf_object(value)
        content = pikepdf.Stream(pdf, f"q {width:.4f} 0 0 {height:.4f} 0 0 cm /Im0 Do Q".encode())
        page = pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=[0, 0, width, height], Contents=content,
                                  Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image)))
        pdf.pages.append(pikepdf.Page(pdf.make_indirect(page)))
    pdf.save(path)
    return path.stat().st_size


# --- the worker: one document through the handlers, in a process of its own ---------------------------------


def rss_mb(field: str = "VmRSS") -> float:
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) / 1024


def reset_peak() -> None:
    """Give freed memory back and start the peak (VmHWM) from here."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")


class AwsTime:
    """Wall and CPU seconds spent inside botocore calls (client and moto, which runs in this process), and the
    bytes the calls carried (S3 bodies)."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        self.bytes = 0

    def install(self) -> None:
        from botocore.client import BaseClient

        original, meter = BaseClient._make_api_call, self

        def timed(client, operation_name, api_params):  # noqa: ANN001, ANN202
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                result = original(client, operation_name, api_params)
            finally:
                meter.wall += time.perf_counter() - wall
                meter.cpu += time.process_time() - cpu
            body = api_params.get("Body")
            if isinstance(body, (bytes, bytearray)):
                meter.bytes += len(body)
            if operation_name == "GetObject":
                meter.bytes += int(result.get("ContentLength") or 0)
            return result

        BaseClient._make_api_call = timed

    def snapshot(self) -> tuple[float, float, int]:
        return self.wall, self.cpu, self.bytes


class FileStore:
    """S3 for the handlers, as files: each object one copy on disk, outside this process's memory as S3 keeps it
    outside the function's, so a call's peak RSS is its own. moto's in-process S3 keeps every body in memory and
    copies it on the way (a 2,000-page merge's worker peaked at 6 GB on it, a 700 MB upload's split took minutes
    in moto); DynamoDB and Step Functions stay on moto. Requests are counted by their S3 names (as
    ObjectStore makes them), bytes and time metered as those of AWS calls (replaced by the model's S3)."""

    def __init__(self, folder: Path, counter: RequestCounter, meter: AwsTime) -> None:
        self.folder, self.counter, self.meter = folder, counter, meter
        folder.mkdir(parents=True, exist_ok=True)

    def _path(self, bucket: str, key: str) -> Path:
        return self.folder / bucket / key

    @contextlib.contextmanager
    def _op(self, *ops: str) -> Iterator[None]:
        for op in ops:
            self.counter.count("s3", op, {})
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.meter.wall += time.perf_counter() - wall
            self.meter.cpu += time.process_time() - cpu

    def store(self, bucket: str, key: str, body: bytes) -> None:  # setting up: not counted
        self._path(bucket, key).parent.mkdir(parents=True, exist_ok=True)
        self._path(bucket, key).write_bytes(body)

    def read_source(self, source, max_bytes: int) -> bytes:  # noqa: ANN001
        with self._op("HeadObject", "GetObject"):
            data = self._path(source.bucket, source.key).read_bytes()
        self.meter.bytes += len(data)
        return data

    def put(self, bucket: str, key: str, body: bytes, content_type: str) -> str:
        with self._op("PutObject"):
            self.store(bucket, key, body)
        self.meter.bytes += len(body)
        return f"s3://{bucket}/{key}"

    def put_file(self, bucket: str, key: str, path: str, content_type: str) -> str:
        """ObjectStore.put_file (the streaming merge's): the file copied in parts, never whole in memory."""
        with self._op("PutObject"):
            self._path(bucket, key).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, self._path(bucket, key))
        self.meter.bytes += Path(path).stat().st_size
        return f"s3://{bucket}/{key}"

    def put_json(self, bucket: str, key: str, value: object) -> str:
        return self.put(bucket, key, json.dumps(value).encode(), "application/json")

    def get(self, bucket: str, key: str) -> bytes:
        with self._op("GetObject"):
            data = self._path(bucket, key).read_bytes()
        self.meter.bytes += len(data)
        return data

    def exists(self, bucket: str, key: str) -> bool:
        with self._op("HeadObject"):
            return self._path(bucket, key).exists()

    def delete_prefix(self, bucket: str, prefix: str) -> None:
        with self._op("ListObjectsV2", "DeleteObjects"):
            for path in list((self.folder / bucket).glob(f"{prefix}*")):
                path.unlink()


class Ctx:
    """A Lambda context with the step's own memory and time-out."""

    def __init__(self, step: str) -> None:
        self.memory_limit_in_mb, timeout = STEPS[step]
        self.function_name = f"ocrflow-{step}"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:ocrflow-{step}"
        self.aws_request_id = f"req-{step}"
        self.deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - time.monotonic()) * 1000)


def worker(spec: dict) -> dict:
    """One document through the handlers on moto: the split (process), optionally range 0 for real, optionally
    the merge (finalize, notify) over copies of a stored partial result; each call's figures."""
    from cost_model import handler_environment

    os.environ.update({**handler_environment(), "OCRFLOW_PROVIDER": "tesseract",
                       "OCRFLOW_MAX_BYTES": str(spec["max_bytes"])})
    import logging
    import warnings

    import boto3
    from moto import mock_aws

    from tests.aws_resources import (
        RESULTS,
        UPLOADS,
        create_buckets,
        create_idempotency_table,
        create_jobs_table,
        create_tenants_table,
    )

    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    out: dict = {"pages": spec["pages"]}
    with mock_aws():
        from cost_model import Usage, handed_state

        from tests.lambda_handlers import load

        boto3.setup_default_session()
        s3 = boto3.client("s3")
        create_buckets(s3)
        dynamodb = boto3.resource("dynamodb")
        create_jobs_table(dynamodb), create_tenants_table(dynamodb), create_idempotency_table(dynamodb)
        os.environ["OCRFLOW_WAIT_STATE_MACHINE"] = boto3.client("stepfunctions").create_state_machine(
            name="ocrflow-standard", roleArn="arn:aws:iam::123456789012:role/bench", type="STANDARD",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}))["stateMachineArn"]
        handlers = {step: load(step) for step in ("process", "range", "finalize", "notify")}
        out["rss_imports_mb"] = rss_mb()
        counter, meter = RequestCounter(), AwsTime()
        counter.install()
        meter.install()
        from ocrflow.workflow.runtime import deps_from_env

        store = FileStore(Path(spec["folder"]), counter, meter)
        deps_from_env().store = store  # the handlers' deps (cached per container): S3 as files, see FileStore

        def call(step: str, payload: dict) -> tuple[dict, dict]:
            counter.usage = Usage()
            aws0, wall, cpu = meter.snapshot(), time.perf_counter(), time.process_time()
            with contextlib.redirect_stdout(io.StringIO()):  # the handlers' metrics (EMF) lines
                result = handlers[step](payload, Ctx(step))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            aws = [b - a for a, b in zip(aws0, meter.snapshot(), strict=True)]
            usage = counter.usage
            s3w = sum(n for k, n in usage.requests.items() if k.startswith("s3:") and k[3:] in S3_WRITES)
            s3r = sum(n for k, n in usage.requests.items() if k.startswith("s3:")) - s3w
            return result, {"wall": wall, "cpu": cpu, "aws_wall": aws[0], "aws_cpu": aws[1], "s3_bytes": aws[2],
                            "s3_writes": s3w, "s3_reads": s3r, "wru": usage.wru, "rru": usage.rru,
                            "requests": dict(usage.requests), "peak_mb": rss_mb("VmHWM")}

        def upload(name: str, path: str) -> dict:
            store.store(UPLOADS, f"uploads/{name}", Path(path).read_bytes())  # the caller's: not counted
            event = json.loads((REPO / "events" / "s3" / "object-created.eventbridge.json").read_text())
            event["detail"]["object"].update({"key": f"uploads/{name}", "size": Path(path).stat().st_size,
                                              "etag": f"etag-{name}", "version-id": f"v-{name}"})
            event["id"] = f"event-{name}"
            return event

        if spec.get("warm"):  # imports, the engine and its models: not counted
            call("process", upload("warm.pdf", spec["warm"]))
        if spec.get("one_call"):  # the one-call path of a short document, for comparison
            outcome, out["one_call"] = call("process", upload("one-call.pdf", spec["one_call"]))
            assert outcome["outcome"] == "succeeded", outcome
        event = upload("long.pdf", spec["pdf"])
        reset_peak()
        out["rss_before_split_mb"] = rss_mb()
        outcome, out["split"] = call("process", event)
        assert outcome["outcome"] == "waiting", outcome
        with counter.paused():
            state = handed_state(counter, outcome["job_id"])
            items = json.loads(store.get(RESULTS, state["fan_out"]["items_key"]))
        out["ranges"] = len(items)
        out["range_pages"] = state["fan_out"]["range_pages"]
        if spec.get("ocr_range"):
            result, out["range"] = call("range", {"state": state, "range": items[0]})
            assert result["outcome"] == "ocred", result
            out["range"]["pages"] = items[0]["page_count"]
            with counter.paused():
                key = f"work/{state['request']['job_id']}/part-0000.json"
                Path(spec["ocr_range"]).write_bytes(store.get(RESULTS, key))
        if spec.get("partial"):
            job = state["request"]["job_id"]
            partial = json.loads(Path(spec["partial"]).read_text())
            for item in items:
                store.store(RESULTS, f"work/{job}/part-{item['index']:04d}.json", copy_for(partial, item))
            del partial
            reset_peak()
            out["rss_before_merge_mb"] = rss_mb()
            summary, out["merge"] = call("finalize", {"state": state})
            assert summary["status"] == "succeeded", summary
            _, out["notify"] = call("notify", {"job_id": summary["job_id"]})
    return out


def copy_for(partial: dict, item: dict) -> bytes:
    """The measured range's partial result as range `item`'s: each page the measured reading of the same real
    page (pages cycle over the three), as many pages as the range has."""
    count, first = item["page_count"], item["first_page"]
    known = len(partial["pages"])
    pages = []
    for j in range(count):
        base = (first + j) % len(PAGES)
        source = j - j % len(PAGES) + base  # a page of the measured range showing the same real page
        while source >= known:
            source -= len(PAGES)
        pages.append(partial["pages"][source])
    return json.dumps({**partial, "pages": pages, "notes": {}}).encode()


def run_worker(spec: dict) -> dict:
    done = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])})
    if done.returncode:
        raise SystemExit(f"worker failed ({spec}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the model -------------------------------------------------------------------------------------------


def vcpu(step: str) -> float:
    return STEPS[step][0] / MB_PER_VCPU


def on_lambda(figures: dict, step: str, threads: int = 1) -> float:
    """Seconds the call would take on AWS: its CPU outside the AWS calls at the function's vCPU (at most
    `threads` of them), its S3 requests and bytes at the assumed latency and throughput, DynamoDB requests at
    the S3 request time too."""
    own = max(0.0, figures["cpu"] - figures["aws_cpu"])
    requests = sum(figures["requests"].values())
    return (own / min(vcpu(step), threads) + requests * S3_REQUEST_S
            + figures["s3_bytes"] / (S3_MB_PER_S * 1024 * 1024))


def import_times() -> dict[str, float]:
    """Handler import seconds with bytecode, as bench/pipeline_figures.py measures them (median of 3)."""
    from pipeline_figures import import_seconds

    return {step: import_seconds(step, True, runs=3) for step in ("process", "range", "finalize")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--no-g4", action="store_true", help="skip the bilevel (CCITT G4) series")
    parser.add_argument("--all", action="store_true", help="merge the greyscale documents over 200 MB too")
    parser.add_argument("--report", type=Path, help="print the report of a saved run (results/fanout.json)")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    started = time.perf_counter()

    def say(line: str = "") -> None:
        print(line, flush=True)

    if args.report:
        saved = json.loads(args.report.read_text())
        report(say, saved["first"], {(k.split(":")[0], int(k.split(":")[1])): v for k, v in saved["results"].items()},
               {(k.split(":")[0], int(k.split(":")[1])): (Path(v[0]), v[1]) for k, v in saved["files"].items()},
               saved["imports"], saved["sizes"], saved["kinds"])
        return 0

    with tempfile.TemporaryDirectory(prefix="ocrflow-fanout-") as tmp:
        folder = Path(tmp)
        kinds = ["jpeg"] + ([] if args.no_g4 else ["g4"])
        streams = {kind: page_streams(kind) for kind in kinds}
        files: dict[tuple[str, int], tuple[Path, int]] = {}
        for kind in kinds:
            for pages in sorted({*sizes, 100}):
                path = folder / f"{kind}-{pages}.pdf"
                files[kind, pages] = path, build_pdf(pages, streams[kind], path)
        warm, one_call = folder / "warm.pdf", folder / "one-call.pdf"
        build_pdf(1, streams["jpeg"], warm)
        build_pdf(ONE_CALL_PAGES, streams["jpeg"], one_call)
        partial = folder / "partial.json"
        max_bytes = 4 * 1024**3  # above OCRFLOW_MAX_BYTES's 200 MB: see the report
        results: dict[tuple[str, int], dict] = {}
        first = run_worker({"pages": 100, "pdf": str(files["jpeg", 100][0]), "max_bytes": max_bytes,
                            "warm": str(warm), "one_call": str(one_call), "ocr_range": str(partial),
                            "partial": str(partial), "folder": str(folder / "s3-jpeg-100")})
        print("... range, one call, 100 grey pages measured", file=sys.stderr, flush=True)
        results["jpeg", 100] = first
        for kind in kinds:
            for pages in sizes:
                if (kind, pages) in results:
                    continue
                # the deployment takes at most 200 MB: greyscale documents of 1,000 pages and more are split
                # (to see the time) but not merged unless asked (--all), the bilevel ones are merged
                merged = kind == "g4" or args.all or files[kind, pages][1] <= 200 * 1024**2
                results[kind, pages] = run_worker({
                    "pages": pages, "pdf": str(files[kind, pages][0]), "max_bytes": max_bytes,
                    "folder": str(folder / f"s3-{kind}-{pages}"), **({"partial": str(partial)} if merged else {})})
                shutil.rmtree(folder / f"s3-{kind}-{pages}", ignore_errors=True)
                print(f"... {pages:,} pages ({kind}) measured", file=sys.stderr, flush=True)
        imports = import_times()
        SAVED.parent.mkdir(parents=True, exist_ok=True)
        SAVED.write_text(json.dumps({
            "first": first, "results": {f"{k}:{p}": v for (k, p), v in results.items()},
            "files": {f"{k}:{p}": [str(v[0]), v[1]] for (k, p), v in files.items()}, "imports": imports,
            "sizes": sizes, "kinds": kinds}, indent=1))
        report(say, first, results, files, imports, sizes, kinds)
    say()
    say(f"(bench/fanout.py ran {time.perf_counter() - started:.0f} s on {os.cpu_count()} CPUs)")
    return 0


def report(say, first: dict, results: dict, files: dict, imports: dict, sizes: list[int],  # noqa: ANN001, C901
           kinds: list[str]) -> None:
    rng, oc = first["range"], first["one_call"]
    ocr_threads = 2  # the embedded engine's threads on a 2,048 MB function (two cores visible)
    range_s_page = on_lambda(rng, "range", ocr_threads) / rng["pages"]
    label = {"jpeg": f"grey JPEG q{JPEG_QUALITY}", "g4": "bilevel G4"}
    limit = 200 * 1024**2  # OCRFLOW_MAX_BYTES as deployed

    def merged(kind: str, pages: int) -> bool:
        return "merge" in results[kind, pages]

    say(f"Fan-out figures, measured on this machine ({os.cpu_count()} CPUs, shared; CPU seconds are what is "
        f"scaled, wall seconds here vary with the load). Pages: the real 300-dpi scans "
        f"{', '.join(PAGES)} of {CORPUS} cycled, each page its own copy of the image:")
    for kind in kinds:
        size = files[kind, max(sizes)][1]
        say(f"  {label[kind]}: {size / max(sizes) / 1024:.0f} KB per page ({max(sizes):,} pages = "
            f"{size / 1024**2:,.0f} MB; the deployment accepts at most 200 MB: "
            + ", ".join(f"{p:,} pages {'fit' if files[kind, p][1] <= limit else 'REFUSED'}" for p in sizes) + ")")
    say("")
    say(f"1. one range: range 0 ({rng['pages']} pages) of the 100-page grey document, the range handler, warm")
    say(f"   here: wall {rng['wall']:.1f} s ({rng['wall'] / rng['pages']:.2f} s/page), CPU {rng['cpu']:.1f} s = "
        f"{rng['cpu'] / rng['pages']:.2f} CPU-s/page; {sum(rng['requests'].values())} AWS requests "
        f"({rng['aws_wall']:.2f} s); peak RSS {rng['peak_mb']:.0f} MB")
    say(f"   on the range function (2,048 MB = {vcpu('range'):.2f} vCPU, {ocr_threads} OCR threads): "
        f"{range_s_page:.2f} s/page, {range_s_page * rng['pages']:.1f} s per {rng['pages']}-page range; "
        f"page_ranges.py plans {MEASURED_S_PAGE:.2f} s/page (1.07 CPU-s/page): ratio "
        f"{range_s_page / MEASURED_S_PAGE:.2f}")
    say(f"   one-call path, {ONE_CALL_PAGES} grey pages through the process handler (warm): wall {oc['wall']:.1f} s, "
        f"CPU {oc['cpu']:.1f} s = {oc['cpu'] / ONE_CALL_PAGES:.2f} CPU-s/page")
    say("")
    say("2./3. the split (process handler) and the merge (finalize handler); seconds here, and modelled on AWS")
    say(f"{'pages':>6} {'pages as':<14} {'MB':>6} {'ranges':>6} | {'split wall':>10} {'CPU':>6} {'in AWS':>6} "
        f"{'AWS s':>6} {'on λ MB':>7} | {'merge wall':>10} {'CPU':>6} {'in AWS':>6} {'AWS s':>6} "
        f"{'on λ MB':>7}")
    for kind in kinds:
        for pages in sizes:
            r = results[kind, pages]
            sp = r["split"]
            row = (f"{pages:>6} {label[kind]:<14} {files[kind, pages][1] / 1024**2:>6.0f} {r['ranges']:>6} | "
                   f"{sp['wall']:>10.2f} {sp['cpu']:>6.2f} {sp['aws_cpu']:>6.2f} {on_lambda(sp, 'process'):>6.2f} "
                   f"{grown_mb(r, 'split'):>7.0f} | ")
            if merged(kind, pages):
                mg = r["merge"]
                row += (f"{mg['wall']:>10.2f} {mg['cpu']:>6.2f} {mg['aws_cpu']:>6.2f} "
                        f"{on_lambda(mg, 'finalize'):>6.2f} {grown_mb(r, 'merge'):>7.0f}")
            else:
                row += f"{'not run (over 200 MB; --all)':>38}"
            say(row)
    say(f"   in AWS: CPU seconds inside AWS calls (S3 as files, DynamoDB and Step Functions on moto, in this "
        f"process), replaced in 'AWS s' by {S3_REQUEST_S * 1000:.0f} ms a request + {S3_MB_PER_S:.0f} MB/s. "
        "on λ MB: the handlers' import RSS + the call's growth of the peak RSS (VmHWM reset just before it): "
        "the memory the 2,048 MB function would need")
    say("")

    cold = {step: LAMBDA_INIT_S + seconds for step, seconds in imports.items()}
    say("4. latency on AWS (model): S3 event -> process (split) -> Step Functions -> slowest range -> finalize "
        f"(merge); every call cold: Lambda start {LAMBDA_INIT_S} s + handler import (" +
        ", ".join(f"{k} {v:.2f} s" for k, v in imports.items()) + f"); S3 event to the call {EVENT_TO_LAMBDA_S} s; "
        f"{SFN_STATE_S} s per Step Functions state on the path (ProviderDone?, OcrRanges, the child's "
        f"{CHILD_TRANSITIONS}, Finalize), {MAP_START_S} s to start a wave of the Map; range_concurrency {CONCURRENCY}")
    say(f"{'pages':>6} {'pages as':<14} {'path':<8} {'ranges':>6} {'split s':>7} {'slowest range s':>15} "
        f"{'merge s':>7} {'total s':>7} {'longest call s':>14} {'target':>10} {'met?':>5}  memory")
    one_call_s = cold["process"] + on_lambda(oc, "process", ocr_threads)
    say(f"{ONE_CALL_PAGES:>6} {label['jpeg']:<14} {'one call':<8} {'-':>6} {'-':>7} {'-':>15} {'-':>7} "
        f"{one_call_s + EVENT_TO_LAMBDA_S:>7.1f} {one_call_s:>14.1f} {'-':>10} {'-':>5}  "
        f"(estimate {ONE_CALL_PAGES * MEASURED_S_PAGE:.1f} s <= 90 s: one call)")
    latency: dict[tuple[str, int], dict] = {}
    verdicts: list[str] = []
    for kind in kinds:
        for pages in sizes:
            r = results[kind, pages]
            if not merged(kind, pages):
                continue
            waves = math.ceil(r["ranges"] / CONCURRENCY)
            split = cold["process"] + on_lambda(r["split"], "process")
            slowest = cold["range"] + range_s_page * r["range_pages"]  # every range alike: the same real pages
            merge = cold["finalize"] + on_lambda(r["merge"], "finalize")
            states = 2 + CHILD_TRANSITIONS + 1
            total = EVENT_TO_LAMBDA_S + split + states * SFN_STATE_S + waves * (MAP_START_S + slowest) + merge
            longest = max(split, slowest, merge)
            target = TARGETS.get(pages)
            met = "-"
            if target is not None:
                ok = total <= target and (pages < 2000 or longest <= LONGEST_CALL_TARGET)
                met = "yes" if ok else "NO"
                verdicts.append(f"{pages:,} pages ({label[kind]}): {total:.0f} s against <= {target:.0f} s"
                                + (f", longest call {longest:.0f} s against <= {LONGEST_CALL_TARGET:.0f} s"
                                   if pages >= 2000 else "") + f": {'met' if ok else 'MISSED'}")
            need = grown_mb(r, "merge")
            fits = "fits" if need <= STEPS["finalize"][0] else "OVER"
            latency[kind, pages] = {"split": split, "range": slowest, "merge": merge, "total": total}
            say(f"{pages:>6} {label[kind]:<14} {'fan-out':<8} {r['ranges']:>6} {split:>7.1f} {slowest:>15.1f} "
                f"{merge:>7.1f} {total:>7.1f} {longest:>14.1f} {(f'<= {target:.0f}' if target else '-'):>10} "
                f"{met:>5}  merge {need:,.0f} MB: {fits} 2,048")
    for line in verdicts:
        say(f"   target: {line}")
    # what the plan would cut with the s/page measured here (page_ranges.RangePlan, range_seconds 30)
    calibrated = RangePlan(seconds_per_page=round(range_s_page, 2))
    for kind, pages in latency:
        if pages < 1000:
            continue
        lat, count = latency[kind, pages], len(calibrated.ranges(pages))
        slowest = cold["range"] + range_s_page * calibrated.range_pages
        base = EVENT_TO_LAMBDA_S + lat["split"] + (2 + CHILD_TRANSITIONS + 1) * SFN_STATE_S + lat["merge"]
        at_100 = base + math.ceil(count / CONCURRENCY) * (MAP_START_S + slowest)
        say(f"   what if: ranges sized by the measured {range_s_page:.2f} s/page ({calibrated.range_pages} pages): "
            f"{pages:,} pages ({label[kind]}) = {count} ranges, slowest {slowest:.1f} s, total {at_100:.1f} s at "
            f"range_concurrency {CONCURRENCY} ({math.ceil(count / CONCURRENCY)} wave(s)), "
            f"{base + MAP_START_S + slowest:.1f} s with "
            f"all {count} at once; the merge stays {lat['merge']:.1f} s")
    say("")

    say(f"5. AWS cost per 1,000 documents (bench/cost_model.py's us-east-1 prices, {PRICES_AS_OF}): Lambda GB-s "
        "from the model's durations (cold starts billed), requests counted per call (one range's x ranges, + the "
        f"Map's read of the items file), finalize's {FINALIZE_EXTRA_TMP_GB:.1f} GB of /tmp over the free 512 MB, "
        f"Standard transitions {PARENT_TRANSITIONS} + {CHILD_TRANSITIONS} per "
        "range (child: start, OcrRange, end); the one-call path: pages x its s/page x 2 GB, requests of the "
        f"{ONE_CALL_PAGES}-page one-call document")
    say(f"{'pages':>6} {'pages as':<14} {'path':<8} {'λ calls':>7} {'GB-s':>8} {'trans.':>6} {'S3 w/r':>8} "
        f"{'WRU/RRU':>10} {'λ $':>8} {'SFN $':>6} {'S3 $':>6} {'DDB $':>6} {'total $':>8} {'$/1k pages':>10} "
        f"{'ratio':>6} {'<= 1.15':>7}")
    gb = STEPS["process"][0] / 1024
    for kind in kinds:
        for pages in (p for p in (100, 1000) if p in sizes):
            if (kind, pages) not in latency:
                continue
            r, lat = results[kind, pages], latency[kind, pages]
            calls = [r["split"], *[rng] * r["ranges"], r["merge"], r["notify"]]
            range_gbs = sum(cold["range"] + range_s_page * n for n in range_sizes(pages, r["range_pages"])) * gb
            gbs = (lat["split"] + lat["merge"]) * gb + range_gbs + NOTIFY_S * STEPS["notify"][0] / 1024
            fan = {"calls": len(calls), "gbs": gbs, "trans": PARENT_TRANSITIONS + CHILD_TRANSITIONS * r["ranges"],
                   "tmp_gbs": FINALIZE_EXTRA_TMP_GB * lat["merge"],
                   "s3w": sum(c["s3_writes"] for c in calls), "s3r": sum(c["s3_reads"] for c in calls) + 1,
                   "wru": sum(c["wru"] for c in calls), "rru": sum(c["rru"] for c in calls)}
            one = {"calls": 1, "gbs": pages * range_s_page * gb, "trans": 0, "s3w": oc["s3_writes"],
                   "s3r": oc["s3_reads"], "wru": oc["wru"], "rru": oc["rru"]}
            totals = {path: sum(priced(u).values()) for path, u in (("fan-out", fan), ("one call", one))}
            ratio = totals["fan-out"] / totals["one call"]
            for path, u in (("fan-out", fan), ("one call", one)):
                c = priced(u)
                verdict = "met" if ratio <= COST_RATIO_TARGET else "MISSED"
                tail = f"{ratio:>6.3f} {verdict:>7}" if path == "fan-out" else ""
                s3 = f"{u['s3w']}/{u['s3r']}"
                ddb = f"{u['wru']:.0f}/{u['rru']:.1f}"
                say(f"{pages:>6} {label[kind]:<14} {path:<8} {u['calls']:>7} {u['gbs']:>8.1f} {u['trans']:>6} "
                    f"{s3:>8} {ddb:>10} "
                    f"{c['lambda'] * 1000:>8.2f} {c['sfn'] * 1000:>6.2f} {c['s3'] * 1000:>6.2f} "
                    f"{c['ddb'] * 1000:>6.2f} {totals[path] * 1000:>8.2f} {totals[path] * 1000 / pages:>10.4f} {tail}")
    say(f"   $/1k pages: the cost of 1,000 pages of such documents; ratio: fan-out's over the one-call path's, "
        f"per page (target <= {COST_RATIO_TARGET}). The one-call "
        f"path of 1,000 pages is hypothetical: its {1000 * range_s_page:.0f} s of OCR exceed the process "
        "function's 900 s time-out")


def grown_mb(r: dict, call: str) -> float:
    """What the call would need on its function: the handlers' imports + what the call added to the RSS."""
    return r["rss_imports_mb"] + r[call]["peak_mb"] - r[f"rss_before_{call}_mb"]


def priced(u: dict) -> dict[str, float]:
    priced = cost(u["calls"], u["gbs"], u["trans"], u["s3w"], u["s3r"], u["wru"], u["rru"])
    priced["lambda"] += u.get("tmp_gbs", 0.0) * EPHEMERAL_GB_SECOND
    return priced


def range_sizes(pages: int, size: int) -> list[int]:
    return [min(size, pages - first) for first in range(0, pages, size)]


def cost(calls: int, gbs: float, transitions: int, s3w: int, s3r: int, wru: float, rru: float) -> dict[str, float]:
    return {"lambda": calls * LAMBDA_REQUEST + gbs * LAMBDA_GB_SECOND, "sfn": transitions * SFN_STANDARD_TRANSITION,
            "s3": s3w * S3_WRITE + s3r * S3_READ, "ddb": wru * DYNAMO_WRU + rru * DYNAMO_RRU}


if __name__ == "__main__":
    sys.exit(main())
