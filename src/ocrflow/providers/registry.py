"""Provider names -> client classes, imported only when used."""

from __future__ import annotations

import importlib

from ocrflow.errors import ProviderNotAvailableError
from ocrflow.providers.base import Provider
from ocrflow.providers.names import ProviderName
from ocrflow.providers.settings import ProviderSettings

CLIENTS: dict[ProviderName, str] = {
    ProviderName.ADOBE: "ocrflow.providers.adobe:AdobeProvider",
    ProviderName.OCRSPACE: "ocrflow.providers.ocrspace:OcrSpaceProvider",
    ProviderName.PDFOCR: "ocrflow.providers.pdfocr:PdfOcrProvider",
    ProviderName.PDFMAGE: "ocrflow.providers.pdfmage:PdfMageProvider",
    ProviderName.YANDEX: "ocrflow.providers.yandex:YandexProvider",
}


def provider_class(name: ProviderName) -> type[Provider]:
    target = CLIENTS.get(name)
    if target is None:
        raise ProviderNotAvailableError(f"{name.value!r} is not a REST provider")
    module, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        raise ProviderNotAvailableError(f"provider {name.value!r} is not available in this build") from None


def build_provider(name: ProviderName) -> tuple[Provider, ProviderSettings]:
    """The provider configured from the environment; a ConfigError naming the missing variables if it isn't."""
    cls = provider_class(name)
    return cls.from_env()  # type: ignore[attr-defined]
