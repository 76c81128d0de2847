"""Provider names and OCR modes used throughout ocrflow: CLI, configuration, job records, the API (a module
light enough for the command line to import at start-up)."""

from enum import StrEnum


class ProviderName(StrEnum):
    TESSERACT = "tesseract"
    ADOBE = "adobe"
    OCRSPACE = "ocrspace"
    PDFOCR = "pdfocr"
    PDFMAGE = "pdfmage"
    YANDEX = "yandex"


DEFAULT_PROVIDER = ProviderName.TESSERACT


class OcrMode(StrEnum):
    """Which pages of a PDF are OCRed, named as OCRmyPDF's options are."""

    AUTO = "auto"            # text pages read; scanned pages OCRed; mixed pages (text over a scan) OCRed where
                             # their text does not cover the scan, keeping that text
    FORCE = "force"          # every page OCRed from its rendering; the text it carried is set aside
    SKIP_TEXT = "skip-text"  # a page that carries usable text is never OCRed
