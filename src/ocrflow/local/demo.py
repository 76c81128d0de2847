"""`make demo`: deploy the CDK app into the local emulator, upload the samples to the uploads bucket, let the
S3 trigger and the workflow OCR them, then fetch the results and show them. The emulator stops at the end."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ocrflow.cli.demo import SAMPLE_SUFFIXES
from ocrflow.cli.usage import usage_report
from ocrflow.document import Document
from ocrflow.local.api import TEST_TENANT, api_key_for, ocr_over_api
from ocrflow.local.jobs import TrackedUpload, fetch_result, upload_files, wait_for_jobs
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
    console = Console(width=None if Console().is_terminal else 160)
    route = DEMO_ROUTE if provider == AUTO else ""
    files = sorted(p for p in samples.iterdir() if p.suffix.lower() in SAMPLE_SUFFIXES)
    started = time.monotonic()
    with contextlib.ExitStack() as running:
        running.callback(console.print, "emulator stopped")  # runs last, after the stack's own exit
        with console.status("starting the emulator and deploying the CDK app (cdk bootstrap + cdk deploy)"):
            stack = running.enter_context(local_stack(provider, route, fake_options=DEMO_FAKES))
        deployed = stack.deployment
        fakes = ", ".join(f"{name.value} on {fake.base_url}" for name, fake in stack.fakes.items())
        console.print(f"[bold]local stack[/bold] on {stack.emulator.endpoint} - deployed in "
                      f"{time.monotonic() - started:.0f} s; provider {provider}"
                      + (f", route {route} then the embedded engine" if route else "")
                      + (f" (fakes: {fakes})" if fakes else ""))
        console.print(f"uploading {len(files)} samples to s3://{deployed.uploads_bucket}/{deployed.uploads_prefix}demo/")

        def show(tracked: TrackedUpload) -> None:
            status = tracked.status
            line = f"  {tracked.name:<14} [{STYLE.get(status, '')}]{status}[/]"
            if tracked.done:
                line += f" after {tracked.finished_at - tracked.uploaded_at:.1f} s"
            console.print(line)

        uploads = upload_files(stack, files)
        finished = wait_for_jobs(stack, uploads, timeout=timeout, on_change=show)
        console.print(_results_table(stack, uploads, files, out_dir, provider))
        failed = [u for u in uploads if u.status != "succeeded"]
        failed += _api_demo(console, stack, samples / API_SAMPLE, out_dir)
        console.print("\n[bold]credits and usage[/bold] (ocrflow usage)")
        console.print("\n".join(usage_report(stack.tenants_table())), markup=False, highlight=False)
        if not finished:
            console.print(f"[red]{len(failed)} job(s) had not ended after {timeout:.0f} s[/red]")
        return 1 if failed else 0


API_SAMPLE = "receipt.png"


def _api_demo(console: Console, stack, sample: Path, out_dir: Path) -> list[str]:  # noqa: ANN001
    """One more document, through the HTTPS API as a web frontend sends it. The failures, if any."""
    key = api_key_for(stack)
    console.print(f"\n[bold]HTTPS API[/bold] {stack.api_base}  (tenant {TEST_TENANT}, key {key[:16]}...)")
    done = ocr_over_api(stack.api_base, key, sample, "image/png")
    job = done.job
    console.print(f"  POST /v1/jobs -> job {job['id']}; PUT to the presigned upload; GET /v1/jobs/{{id}} -> "
                  f"[{STYLE.get(job['status'], '')}]{job['status']}[/] after {done.seconds:.1f} s"
                  + (f" ({job['pages']} page, {job['cost']['pages']} credit)" if job.get("cost") else ""))
    if done.result is None:
        error = job.get("error") or {}
        console.print(f"  [red]{error.get('code')}: {error.get('message')}[/red]")
        return [sample.name]
    text = done.result.get("text") or ""
    (out_dir / f"api-{sample.stem}.txt").write_text(text, encoding="utf-8")
    truth = sample.with_name(f"{sample.stem}.truth.txt")
    recall = f"{word_recall(truth.read_text(encoding='utf-8'), text):.1%}" if truth.exists() else "-"
    console.print(f"  GET /v1/jobs/{{id}}/result -> {len(text.split())} words, word recall {recall}; text in "
                  f"{out_dir / f'api-{sample.stem}.txt'}; searchable PDF link expires {done.result['expires_at']}")
    console.print("  to keep a stack up with its API and the web page: .venv/bin/ocrflow api")
    return []


def _results_table(stack, uploads: list[TrackedUpload], files: list[Path], out_dir: Path,  # noqa: ANN001
                   provider: str) -> Table:
    table = Table(title=f"ocrflow on the local stack - provider {provider}; results copied to {out_dir}")
    for column in ("file", "pages", "provider", "routing", "seconds", "credits", "word recall", "result keys"):
        table.add_column(column)
    out_dir.mkdir(parents=True, exist_ok=True)
    by_name = {p.name: p for p in files}
    for tracked in uploads:
        record = tracked.record or {}
        if tracked.status != "succeeded":
            error = record.get("error") or {}
            table.add_row(tracked.name, "-", record.get("provider", provider), _routing(record), "-", "-", "-",
                          f"[red]{tracked.status}[/red] {error.get('code', '')} {error.get('message', '')}".strip())
            continue
        results = record.get("results", {})
        stem = Path(tracked.name).stem
        for kind, suffix in (("json", "json"), ("txt", "txt"), ("pdf", "searchable.pdf")):
            (out_dir / f"{stem}.{suffix}").write_bytes(fetch_result(stack, results[kind]))
        document = Document.model_validate_json((out_dir / f"{stem}.json").read_text(encoding="utf-8"))
        truth = by_name[tracked.name].with_name(f"{stem}.truth.txt")
        recall = f"{word_recall(truth.read_text(encoding='utf-8'), document.text):.1%}" if truth.exists() else "-"
        credits = record.get("credits_used")
        keys = "\n".join(results[k].split("/", 3)[-1] for k in ("json", "txt", "pdf"))
        table.add_row(tracked.name, str(record.get("pages", "-")), record.get("provider", provider), _routing(record),
                      f"{record.get('seconds', 0):.1f}", "-" if credits is None else f"{credits:g}", recall, keys)
    return table


def _routing(record: dict) -> str:
    """The providers passed over before the one used, and why: `pdfmage failed: quota_exhausted`."""
    return "\n".join(f"{a['provider']} {a['outcome']}: {a.get('code', '')}" for a in record.get("routing", [])
                     if a["outcome"] != "used") or "-"
