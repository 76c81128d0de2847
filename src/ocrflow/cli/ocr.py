"""`ocrflow ocr`: one document after another, a progress bar over pages, one clear line per bad input."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

from pydantic import ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ocrflow.cli.inputs import display_name, read_input
from ocrflow.errors import ConfigError, OcrflowError
from ocrflow.formats.kinds import DEFAULT_OUTPUTS, OutputKind
from ocrflow.inputs.limits import InputLimits
from ocrflow.outputs import write_outputs
from ocrflow.providers.names import OcrMode
from ocrflow.service import OcrOutcome, run_ocr


def _fail(path: Path, message: str, code: str) -> None:
    print(f"ocrflow: {display_name(path)}: {message} [{code}]", file=sys.stderr)


def ocr_one(path: Path, *, provider: str, languages: str, limits: InputLimits, progress: Progress | None,
            ocr_mode: OcrMode = OcrMode.AUTO) -> OcrOutcome:
    data = read_input(path, limits.max_bytes)
    task = progress.add_task(display_name(path.name), total=None) if progress else None

    def on_page(done: int, total: int) -> None:
        if progress is not None and task is not None:
            progress.update(task, completed=done, total=total)

    try:
        return run_ocr(data, filename=display_name(path.name), provider=provider, languages=languages,
                       limits=limits, on_page=on_page, ocr_mode=ocr_mode)
    finally:
        if progress is not None and task is not None:
            progress.remove_task(task)


def _input_limits() -> InputLimits:
    try:
        return InputLimits()
    except ValidationError as exc:
        problems = "; ".join(f"OCRFLOW_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"bad input limit setting - {problems}") from None


def ocr_command(inputs: list[Path], out_dir: Path, *, provider: str, languages: str, progress: bool,
                debug: bool = False, ocr_mode: OcrMode = OcrMode.AUTO,
                outputs: tuple[OutputKind, ...] = DEFAULT_OUTPUTS) -> int:
    limits = _input_limits()
    failures = 0
    stems: dict[str, Path] = {}
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("pages"),
                   TimeElapsedColumn(), transient=True, disable=not (progress and sys.stderr.isatty()))
    with bar:
        for path in inputs:
            stem = path.stem
            if stem in stems:
                _fail(path, f"its outputs would overwrite those of {display_name(stems[stem])}", "duplicate_name")
                failures += 1
                continue
            stems[stem] = path
            try:
                outcome = ocr_one(path, provider=provider, languages=languages, limits=limits, progress=bar,
                                  ocr_mode=ocr_mode)
                written = write_outputs(outcome, out_dir, stem, outputs)
            except OcrflowError as exc:
                _fail(path, exc.message, exc.code)
                failures += 1
                continue
            except OSError as exc:
                _fail(path, f"cannot write results to {display_name(out_dir)}: {exc.strerror}", "write_failed")
                failures += 1
                continue
            except Exception as exc:  # an ocrflow bug: still one line, never a traceback unless asked
                if debug:
                    traceback.print_exc()
                _fail(path, f"internal error ({type(exc).__name__}); please report it", "internal_error")
                failures += 1
                continue
            pages = outcome.document.source.page_count
            names = ", ".join(display_name(file.name) for file in written.values())
            print(f"{display_name(path)} -> {names} "
                  f"({pages} page{'s' if pages != 1 else ''})")
    return 1 if failures else 0
