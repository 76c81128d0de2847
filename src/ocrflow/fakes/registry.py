"""Provider name -> fake server class."""

from __future__ import annotations

import importlib

from ocrflow.fakes.base import FakeServer
from ocrflow.providers.names import ProviderName

FAKES: dict[ProviderName, str] = {
    ProviderName.ADOBE: "ocrflow.fakes.adobe:AdobeFake",
    ProviderName.OCRSPACE: "ocrflow.fakes.ocrspace:OcrSpaceFake",
    ProviderName.PDFOCR: "ocrflow.fakes.pdfocr:PdfOcrFake",
    ProviderName.PDFMAGE: "ocrflow.fakes.pdfmage:PdfMageFake",
    ProviderName.YANDEX: "ocrflow.fakes.yandex:YandexFake",
}


def fake_class(name: ProviderName) -> type[FakeServer]:
    module, _, attr = FAKES[name].partition(":")
    return getattr(importlib.import_module(module), attr)
