"""The output kinds a job can ask for, and the file name each gets (`<stem><suffix>`; S3: `document<suffix>`)."""

from __future__ import annotations

from enum import StrEnum


class OutputKind(StrEnum):
    JSON = "json"
    TXT = "txt"
    PDF = "pdf"
    HOCR = "hocr"
    ALTO = "alto"


DEFAULT_OUTPUTS = (OutputKind.JSON, OutputKind.TXT, OutputKind.PDF)
#: the same, as OCRFLOW_OUTPUTS, `--outputs` and `ocrflow:outputs` spell it
DEFAULT_OUTPUTS_SETTING = ",".join(DEFAULT_OUTPUTS)
SUFFIXES = {OutputKind.JSON: ".json", OutputKind.TXT: ".txt", OutputKind.PDF: ".searchable.pdf",
            OutputKind.HOCR: ".hocr", OutputKind.ALTO: ".alto.xml"}


def parse_outputs(text: str) -> tuple[OutputKind, ...]:
    """'json,txt,hocr' -> the kinds, in the order given, once each; ValueError naming what is not a kind."""
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in set(OutputKind)]
    if unknown or not names:
        raise ValueError(f"unknown output {', '.join(unknown) or '(none)'}: choose from "
                         f"{', '.join(k.value for k in OutputKind)}")
    return tuple(dict.fromkeys(OutputKind(name) for name in names))
