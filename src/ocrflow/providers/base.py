"""The provider interface: what every OCR provider - embedded or REST - looks like to the rest of ocrflow.

A provider takes one `DocumentPart` (a document, or a slice of one that fits its limits) and either finishes
at once (`ProviderResult`) or hands back a `JobHandle`: plain JSON that a Step Functions workflow can carry
between Lambda calls, with the wait the provider suggests before the next `poll`. Failures raise the typed
errors of `ocrflow.errors`.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ocrflow.document import Credits, Page
from ocrflow.errors import ConfigError
from ocrflow.providers.http import make_client
from ocrflow.providers.settings import ProviderSettings, secret_settings


class ProviderLimits(BaseModel):
    """What one request to the provider may carry. None means no documented limit."""

    model_config = ConfigDict(frozen=True)

    max_bytes: int | None = None
    max_pages: int | None = None
    max_megapixels: float | None = None
    media_types: frozenset[str] = Field(description="Input media types the provider accepts")
    max_concurrency: int = Field(default=2, ge=1, description="Parts of one document sent at once")
    requests_per_second: float | None = Field(default=None, description="Documented request rate, if any")
    seconds_per_page: float = Field(default=2.0, gt=0, description="Expected seconds from sending a part to its "
                                    "answer, per page (sizes the parts of a document too long for one call)")
    cost_unit: str = Field(description="What the provider bills: page, transaction (50 pages), usd, ...")


class OcrRequest(BaseModel):
    """What the caller asks for, whatever the provider."""

    model_config = ConfigDict(frozen=True)

    languages: list[str] = Field(default_factory=lambda: ["eng"], description="ISO 639-2 codes")
    want_searchable_pdf: bool = True


@dataclass(frozen=True)
class DocumentPart:
    """A document, or a slice of one, ready to send: bytes in a media type the provider takes."""

    data: bytes
    media_type: str
    filename: str
    first_page: int                 # index of this part's first page in the whole document
    page_count: int
    #: displayed size of each page in this part: (width, height, unit) - for providers whose boxes are in
    #: pixels of an image we sent, and for pages the provider returns no size for
    page_sizes: list[tuple[float, float, str]] = field(default_factory=list)


class RawResponse(BaseModel):
    """One provider answer, kept for audit."""

    name: str
    content_type: str = "application/json"
    body: str = Field(description="The body as text (binary bodies are not kept)")


@dataclass
class ProviderResult:
    """A finished part: pages numbered from 0 within the part, boxes already normalized."""

    pages: list[Page]
    searchable_pdf: bytes | None = None
    raw: list[RawResponse] = field(default_factory=list)
    credits: Credits | None = None
    engine: str | None = None


class JobHandle(BaseModel):
    """A job in flight at the provider. Plain JSON: survives a trip through Step Functions."""

    provider: str
    state: dict[str, Any] = Field(default_factory=dict, description="Whatever the provider needs to poll")
    wait_seconds: float = Field(default=2.0, ge=0, description="Suggested wait before the next poll")
    polls: int = 0
    raw: list[RawResponse] = Field(default_factory=list)


class Provider(abc.ABC):
    """One OCR provider. Subclasses are constructed from their settings; `submit`/`poll` are thread-safe."""

    name: ClassVar[str]
    #: a class attribute for most providers; an instance attribute where it depends on settings (a plan/tier)
    limits: ProviderLimits
    settings_class: ClassVar[type[ProviderSettings]]

    def __init__(self, settings: ProviderSettings, http: httpx.Client | None = None) -> None:
        self.settings = settings
        self.http = http or make_client(settings)

    @classmethod
    def from_env(cls) -> tuple[Provider, ProviderSettings]:
        """The provider configured from OCRFLOW_<NAME>_* variables, or a ConfigError naming what is missing."""
        try:
            settings = cls.settings_class(**secret_settings(cls.name))
        except ValidationError as exc:
            fields = sorted({str(err["loc"][0]).upper() for err in exc.errors() if err.get("loc")})
            names = ", ".join(f"OCRFLOW_{cls.name.upper()}_{field}" for field in fields)
            raise ConfigError(f"provider {cls.name!r} is not configured: check {names}") from None
        return cls(settings), settings

    def check_languages(self, languages: list[str]) -> None:
        """Raise LanguageNotAvailableError if this provider cannot read `languages` - before anything is sent,
        so routing can pass the document to a provider that can. Providers that detect languages themselves
        accept any."""
        return None

    @abc.abstractmethod
    def submit(self, part: DocumentPart, request: OcrRequest) -> ProviderResult | JobHandle:
        """Send one part. Synchronous providers return the result; the others a handle to poll."""

    def poll(self, handle: JobHandle) -> ProviderResult | JobHandle:
        """Ask once how a job is doing: the result when done, an updated handle while in progress."""
        raise NotImplementedError(f"{self.name} has no jobs to poll")

    def close(self) -> None:
        """Release connections."""
        self.http.close()
