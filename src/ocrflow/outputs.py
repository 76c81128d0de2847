"""Writing a job's three outputs - `<stem>.json`, `<stem>.txt`, `<stem>.searchable.pdf` - so that a reader
never sees half of them: each goes to a temporary name in the same folder first, then all are renamed."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ocrflow.service import OcrOutcome


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def output_paths(out_dir: Path, stem: str) -> dict[str, Path]:
    return {
        "json": out_dir / f"{stem}.json",
        "txt": out_dir / f"{stem}.txt",
        "pdf": out_dir / f"{stem}.searchable.pdf",
    }


def write_outputs(outcome: OcrOutcome, out_dir: Path, stem: str) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = output_paths(out_dir, stem)
    contents = {
        "json": outcome.document.model_dump_json(indent=2, exclude_none=False).encode("utf-8"),
        "txt": (outcome.text + "\n").encode("utf-8"),
        "pdf": outcome.searchable_pdf,
    }
    temporary: dict[str, Path] = {}
    mode = 0o666 & ~_umask()  # mkstemp makes 0600 files; results get the usual permissions
    try:
        for kind, data in contents.items():
            handle, name = tempfile.mkstemp(prefix=f".{stem}.", suffix=".partial", dir=out_dir)
            temporary[kind] = Path(name)
            os.fchmod(handle, mode)
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
        for kind, temp in temporary.items():
            os.replace(temp, paths[kind])
    finally:
        for temp in temporary.values():
            temp.unlink(missing_ok=True)
    return paths
