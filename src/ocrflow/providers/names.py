"""Provider names used throughout ocrflow: CLI, configuration, job records, the API."""

from enum import StrEnum


class ProviderName(StrEnum):
    TESSERACT = "tesseract"
    ADOBE = "adobe"
    OCRSPACE = "ocrspace"
    PDFOCR = "pdfocr"
    PDFMAGE = "pdfmage"
    YANDEX = "yandex"


DEFAULT_PROVIDER = ProviderName.TESSERACT
