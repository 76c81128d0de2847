"""Whether a new job's languages can be read by the deployment, checked when the job is created rather than
after its file arrived: the providers the job may go to (the pinned one, or the route with the embedded engine
at its end) are asked, and the job is refused when none of them reads all its languages."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from types import SimpleNamespace

from ocrflow.engines.languages import parse_languages
from ocrflow.errors import LanguageNotAvailableError, OcrflowError
from ocrflow.providers.names import ProviderName
from ocrflow.providers.registry import provider_class
from ocrflow.workflow.routing import RouteEntry

LanguageCheck = Callable[[list[str]], None]


def check_job_languages(spec: str, route: list[RouteEntry]) -> list[str]:
    """The job's languages (ISO 639-2), or LanguageNotAvailableError saying what each candidate reads."""
    languages = parse_languages(spec)
    refusals: list[str] = []
    for entry in route:
        try:
            reader_check(entry.provider)(languages)
        except LanguageNotAvailableError as refusal:
            refusals.append(f"{entry.provider.value}: {refusal.message}")
            continue
        return languages
    raise LanguageNotAvailableError(f"no provider of this deployment reads {'+'.join(languages)} - "
                                    + "; ".join(refusals), languages=languages)


@cache
def reader_check(name: ProviderName) -> LanguageCheck:
    """The provider's own check_languages. The embedded engine's looks at the models in its tessdata folder; a
    REST provider's runs with its settings' defaults: what it reads depends only on settings such as
    OCR.space's engine, never on its keys, so the API needs no provider secret for it."""
    if name is ProviderName.TESSERACT:
        from ocrflow.engines.tesseract import TesseractEngine  # libtesseract: loaded only when a route has it

        return TesseractEngine().check_languages
    try:
        client = provider_class(name)
    except OcrflowError:  # not in this build: routing would pass it over too
        return _reads_nothing(name)
    defaults = SimpleNamespace(settings=client.settings_class.model_construct())
    return lambda languages: client.check_languages(defaults, languages)  # type: ignore[arg-type]


def _reads_nothing(name: ProviderName) -> LanguageCheck:
    def refuse(languages: list[str]) -> None:
        raise LanguageNotAvailableError(f"{name.value} is not available in this build")

    return refuse
