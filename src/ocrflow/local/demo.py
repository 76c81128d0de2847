"""`make demo`: deploy the CDK app into the local emulator, upload the samples to the uploads bucket, let the
S3 trigger and the workflow OCR them, then fetch the results and show them. The emulator stops at the end."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ocrflow.cli.demo import SAMPLE_SUFFIXES
from ocrflow.cli.usage import usage_report
from ocrflow.document import Document
from ocrflow.local.api import TEST_TENANT, api_key_for, ocr_over_api
from ocrflow.local.jobs import ProgressLines, TrackedUpload, fetch_result, upload_files, wait_for_jobs
from ocrflow.local.stack import local_stack
from ocrflow.providers.names import ProviderName
from ocrflow.quality import word_recall
from ocrflow.workflow.routing import AUTO

STYLE = {"waiting": "dim", "running": "yellow", "succeeded": "green", "failed": "red"}


#: `make demo`'s route: pdfmage's fake first, with a prepaid balance for three pages (0.01 USD each), then the
#: embedded engine - so the demo shows routing: the first pages go to pdfmage, then pdfmage answers 402 and
#: the rest fall back, each job recording why
DEMO_ROUTE = "pdfmage:0.01"
DEMO_FAKES = {ProviderName.PDFMAGE: {"balance": "0.03"}}


def run_stack_demo(samples: Path, out_dir: Path, provider: str = AUTO, timeout: float = 600.0) -> int:
    console = Console(highlight=False)  # the terminal's width (80 columns when not a terminal); the report fits
    route = DEMO_ROUTE if provider == AUTO else ""
    files = sorted(p for p in samples.iterdir() if p.suffix.lower() in SAMPLE_SUFFIXES)
    started = time.monotonic()
    with contextlib.ExitStack() as running:
        running.callback(console.print, "emulator stopped")  # runs last, after the stack's own exit
        with console.status("starting the emulator, cdk bootstrap, cdk deploy (about a minute)"):
            stack = running.enter_context(local_stack(provider, route, fake_options=DEMO_FAKES))
        deployed = stack.deployment
        console.print(f"[bold]local stack[/bold] on {stack.emulator.endpoint}, CDK app deployed in "
                      f"{time.monotonic() - started:.0f} s")
        console.print(f"  provider {provider}" + (f": route {route} (provider:USD per page), then the embedded "
                                                  "engine" if route else ""))
        for name, fake in stack.fakes.items():
            console.print(f"  {name.value}'s fake on {fake.base_url} (access log: {stack.fakes_log})")
        console.print(f"\n[bold]{len(files)} samples uploaded[/bold] to s3://{deployed.uploads_bucket}/"
                      f"{deployed.uploads_prefix}demo/; the S3 trigger starts a job for each")
        uploads = upload_files(stack, files)
        with console.status("") as waiting:
            def show(tracked: TrackedUpload) -> None:
                ended = [u for u in uploads if u.done]
                waiting.update(f"{len(ended)} of {len(uploads)} jobs ended")
                if tracked.done:
                    console.print(f"  {tracked.name:<14} [{STYLE.get(tracked.status, '')}]{tracked.status}[/] "
                                  f"{tracked.finished_at - tracked.uploaded_at:.1f} s after its upload")

            progress = ProgressLines()

            def show_progress(tracked: TrackedUpload) -> None:  # pages done of pages while a job runs
                line = progress.line(tracked)
                if line:
                    console.print(line, markup=False, highlight=False)

            finished = wait_for_jobs(stack, uploads, timeout=timeout, on_change=show, on_poll=show_progress)
        console.print()
        console.print(_results_table(stack, uploads, files, out_dir, provider))
        console.print(_result_keys(uploads, out_dir))
        failed = [u for u in uploads if u.status != "succeeded"]
        failed += _api_demo(console, stack, samples / API_SAMPLE, out_dir)
        console.print("\n[bold]credits and usage[/bold] (ocrflow usage)")
        console.print("\n".join(usage_report(stack.tenants_table())), markup=False, highlight=False,
                      overflow="fold")
        if not finished:
            console.print(f"[red]{len(failed)} job(s) had not ended after {timeout:.0f} s[/red]")
        return 1 if failed else 0


API_SAMPLE = "receipt.png"


def _api_demo(console: Console, stack, sample: Path, out_dir: Path) -> list[str]:  # noqa: ANN001
    """One more document, through the HTTPS API as a web frontend sends it. The failures, if any."""
    key = api_key_for(stack)
    console.print(f"\n[bold]HTTPS API[/bold] {stack.api_base}\n  as a web frontend uses it: tenant {TEST_TENANT}, "
                  f"key {key[:16]}..., {sample.name}")
    done = ocr_over_api(stack.api_base, key, sample, "image/png")
    job = done.job
    cost = f" ({job['pages']} page, {job['cost']['pages']} credit)" if job.get("cost") else ""
    console.print(f"  POST /v1/jobs            -> job {job['id']}\n"
                  f"  PUT the presigned upload\n"
                  f"  GET /v1/jobs/{{id}}        -> [{STYLE.get(job['status'], '')}]{job['status']}[/] "
                  f"{done.seconds:.1f} s after the POST{cost}")
    if done.result is None:
        error = job.get("error") or {}
        console.print(f"  [red]{error.get('code')}: {error.get('message')}[/red]")
        return [sample.name]
    text = done.result.get("text") or ""
    (out_dir / f"api-{sample.stem}.txt").write_text(text, encoding="utf-8")
    truth = sample.with_name(f"{sample.stem}.truth.txt")
    recall = f"{word_recall(truth.read_text(encoding='utf-8'), text):.1%}" if truth.exists() else "-"
    console.print(f"  GET /v1/jobs/{{id}}/result -> {len(text.split())} words, word recall {recall}, text saved "
                  f"to {out_dir / f'api-{sample.stem}.txt'}; the searchable PDF's link expires "
                  f"{done.result['expires_at']}")
    console.print("  to keep a stack up with its API and the web page: .venv/bin/ocrflow api")
    return []


JOB_SECONDS = "job s"
END_TO_END_SECONDS = "upload to end s"


def _results_table(stack, uploads: list[TrackedUpload], files: list[Path], out_dir: Path,  # noqa: ANN001
                   provider: str) -> Table:
    """One row per sample, 80 columns wide; values wrap at spaces, nothing is cut. The two times are labelled
    and explained in the caption."""
    table = Table(title=f"results (provider {provider})", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False, caption=f"{JOB_SECONDS}: the job itself, from the process function's claim to "
                  f"its results written; {END_TO_END_SECONDS}: from the upload until the demo saw the job end (S3 "
                  "trigger, Lambda start and polling included)", caption_justify="left")
    table.add_column("file", no_wrap=True)
    table.add_column("pages", justify="right")
    table.add_column("provider", no_wrap=True)
    table.add_column("passed over (why)", overflow="fold", ratio=1)
    table.add_column(JOB_SECONDS, justify="right")
    table.add_column(END_TO_END_SECONDS, justify="right", max_width=8)
    table.add_column("word recall", justify="right", max_width=6)
    out_dir.mkdir(parents=True, exist_ok=True)
    by_name = {p.name: p for p in files}
    for tracked in uploads:
        record = tracked.record or {}
        end_to_end = f"{tracked.finished_at - tracked.uploaded_at:.1f}" if tracked.finished_at else "-"
        if tracked.status != "succeeded":
            error = record.get("error") or {}
            why = f"[red]{tracked.status}[/red]: {error.get('code', '')} {error.get('message', '')}".strip()
            table.add_row(tracked.name, "-", record.get("provider", provider), f"{_passed_over(record)}\n{why}",
                          "-", end_to_end, "-")
            continue
        results = record.get("results", {})
        stem = Path(tracked.name).stem
        for kind, suffix in (("json", "json"), ("txt", "txt"), ("pdf", "searchable.pdf")):
            (out_dir / f"{stem}.{suffix}").write_bytes(fetch_result(stack, results[kind]))
        document = Document.model_validate_json((out_dir / f"{stem}.json").read_text(encoding="utf-8"))
        truth = by_name[tracked.name].with_name(f"{stem}.truth.txt")
        recall = f"{word_recall(truth.read_text(encoding='utf-8'), document.text):.1%}" if truth.exists() else "-"
        table.add_row(tracked.name, str(record.get("pages", "-")), record.get("provider", provider),
                      _passed_over(record), f"{record.get('seconds', 0):.1f}", end_to_end, recall)
    return table


def _result_keys(uploads: list[TrackedUpload], out_dir: Path) -> Text:
    """Where each job's results are: the bucket and the key pattern once, then each file's job id."""
    done = [u for u in uploads if u.status == "succeeded" and u.record]
    if not done:
        return Text("")
    example = done[0].record
    bucket, key = example["results"]["json"].removeprefix("s3://").split("/", 1)
    folder = key.rsplit("/", 1)[0].replace(example["job_id"], "{job}")
    names = ", ".join(example["results"][kind].rsplit("/", 1)[1] for kind in ("json", "txt", "pdf"))
    lines = [f"results in s3://{bucket}/", f"  {folder}/{names}",
             f"  copied to {out_dir}/{{file}}.json, .txt, .searchable.pdf"]
    lines += [f"  {u.name:<14} job {u.record['job_id']}" for u in done]
    return Text("\n".join(lines), overflow="fold")


def _passed_over(record: dict) -> str:
    """The providers passed over before the one used, and why: `pdfmage: quota_exhausted`."""
    return "\n".join(f"{a['provider']} {a['outcome']}: {a.get('code', '')}" for a in record.get("routing", [])
                     if a["outcome"] != "used") or "-"
