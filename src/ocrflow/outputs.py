"""Writing a job's outputs - `<stem>.json`, `<stem>.txt`, `<stem>.searchable.pdf` by default, `<stem>.hocr` and
`<stem>.alto.xml` when asked (`ocrflow.formats`) - so that a reader never sees half of them: each goes to a
temporary name in the same folder first, then all are renamed."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ocrflow.formats.kinds import DEFAULT_OUTPUTS, SUFFIXES, OutputKind
from ocrflow.service import OcrOutcome


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def output_paths(out_dir: Path, stem: str, kinds: tuple[OutputKind, ...] = DEFAULT_OUTPUTS) -> dict[str, Path]:
    return {kind.value: out_dir / f"{stem}{SUFFIXES[kind]}" for kind in kinds}


def output_bytes(outcome: OcrOutcome, kind: OutputKind) -> bytes:
    from ocrflow.formats.alto import to_alto
    from ocrflow.formats.hocr import to_hocr

    match kind:
        case OutputKind.JSON:
            return outcome.document.model_dump_json(indent=2, exclude_none=False).encode("utf-8")
        case OutputKind.TXT:
            return (outcome.text + "\n").encode("utf-8")
        case OutputKind.PDF:
            return outcome.searchable_pdf
        case OutputKind.HOCR:
            return to_hocr(outcome.document).encode("utf-8")
        case OutputKind.ALTO:
            return to_alto(outcome.document)


def write_outputs(outcome: OcrOutcome, out_dir: Path, stem: str,
                  kinds: tuple[OutputKind, ...] = DEFAULT_OUTPUTS) -> dict[str, Path]:
    return write_files(out_dir, stem, {kind: output_bytes(outcome, kind) for kind in kinds})


def write_files(out_dir: Path, stem: str, contents: dict[OutputKind, bytes]) -> dict[str, Path]:
    """Each output as `<stem><suffix>`, all of them or none (temporary names, then renames)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = output_paths(out_dir, stem, tuple(contents))
    contents = {OutputKind(kind).value: data for kind, data in contents.items()}
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
