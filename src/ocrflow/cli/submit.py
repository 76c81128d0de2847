"""`ocrflow submit FILES... --api URL --key KEY -o OUT`: send files to a deployed ocrflow API and write the
same outputs `ocrflow ocr` writes.

Files go `concurrency` at a time (each: its job created with an Idempotency-Key made from its bytes and options,
the upload PUT to the presigned slot, the job followed until it ends, the outputs fetched). A re-run after a
crash finds each file's job again: nothing is created twice, nothing that succeeded is uploaded again. One line
on stderr per failed file, with its code; exit status 1 when any failed, as `ocrflow ocr`.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ocrflow.api.models import JobView
from ocrflow.cli.inputs import display_name
from ocrflow.client import OcrflowClient
from ocrflow.errors import OcrflowError
from ocrflow.formats.kinds import OutputKind
from ocrflow.outputs import write_files


def submit_command(inputs: Sequence[Path], out_dir: Path, *, api_url: str, api_key: str,
                   outputs: tuple[OutputKind, ...], language: str | None = None, provider: str | None = None,
                   ocr_mode: str | None = None, concurrency: int = 4, timeout: float = 900.0,
                   progress: bool = True, poll_seconds: float = 1.0) -> int:
    stems: dict[str, Path] = {}
    todo: list[Path] = []
    failures = 0
    for path in inputs:
        if path.stem in stems:
            _fail(path, f"its outputs would overwrite those of {display_name(stems[path.stem])}", "duplicate_name")
            failures += 1
            continue
        stems[path.stem] = path
        todo.append(path)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   transient=True, disable=not (progress and sys.stderr.isatty()))
    lock = threading.Lock()
    with bar, OcrflowClient(api_url, api_key, poll_seconds=poll_seconds) as client:
        files_task = bar.add_task("files", total=len(todo))
        pages_task = bar.add_task("pages", total=0)
        seen_pages: dict[Path, tuple[int, int]] = {}

        def progressed(path: Path, view: JobView) -> None:
            with lock:
                total, done = view.pages or 0, view.pages_done or 0
                before = seen_pages.get(path, (0, 0))
                seen_pages[path] = (total, done)
                bar.update(pages_task, total=bar.tasks[pages_task].total + total - before[0],
                           advance=done - before[1])

        def one(path: Path) -> bool:
            try:
                done = client.ocr_file(path, outputs=[k.value for k in outputs], language=language,
                                       provider=provider, ocr_mode=ocr_mode, timeout=timeout,
                                       on_progress=lambda view: progressed(path, view))
                if not done.succeeded:
                    error = done.job.error
                    _fail(path, error.message if error else "the job failed", error.code if error else "failed")
                    return False
                written = write_files(out_dir, path.stem, {OutputKind(k): v for k, v in done.files.items()})
            except OcrflowError as exc:
                _fail(path, exc.message, exc.code)
                return False
            except OSError as exc:
                _fail(path, f"cannot write results to {display_name(out_dir)}: {exc.strerror}", "write_failed")
                return False
            finally:
                bar.advance(files_task)
            names = ", ".join(display_name(file.name) for file in written.values())
            pages = done.job.pages or 0
            print(f"{display_name(path)} -> {names} ({pages} page{'s' if pages != 1 else ''}, job {done.job.id})")
            return True

        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            failures += sum(not ok for ok in pool.map(one, todo))
    return 1 if failures else 0


def _fail(path: Path, message: str, code: str) -> None:
    print(f"ocrflow: {display_name(path)}: {message} [{code}]", file=sys.stderr)
