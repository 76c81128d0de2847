"""The second engine in a Lambda function of its own: RapidOCR, onnxruntime and OpenCV take ~350 MB unzipped,
more than the 250 MB a zip function may hold beside the core layer, so on AWS they ship as a container image
(`functions/second_engine/Dockerfile`) and the process and range functions invoke it for weak pages only.

The wire format is `SecondReadingRequest` -> `SecondReading` (JSON, synchronous invoke: 6 MB each way). The page
travels as a grey PNG no larger than RapidOCR reads it (`rapid.MAX_SIDE`, ~0.3-1 MB), with the turn and skew
Tesseract found; the function reads it exactly as `RapidOcrEngine` does in-process (`read_page`), and its boxes,
fractions of the page, need no mapping back. A failed or throttled invoke (after botocore's retries) raises
`SecondEngineUnavailable`: the layered engine then keeps Tesseract's reading, with a page warning.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Sequence
from typing import Any

from PIL import Image
from pydantic import BaseModel, Field, ValidationError

from ocrflow.document import Block
from ocrflow.engines.base import RecognizedPage
from ocrflow.engines.rapid import IDENTITY, RapidOcrEngine, shrunk
from ocrflow.errors import OcrEngineError
from ocrflow.imaging.alignment import Alignment


class SecondEngineUnavailable(OcrEngineError):
    """The second engine's function could not read the page (throttled, failed, timed out, or answered garbage)."""


class SecondReadingRequest(BaseModel):
    image_png: str = Field(description="the page as given, grey, PNG, base64; its longest side at most 2,000 px")
    turn: int = Field(default=0, description="how far the text is turned clockwise (0, 90, 180, 270)")
    skew: float = Field(default=0.0, ge=-45, le=45, description="degrees the lines slope, once turned upright")
    languages: list[str] = Field(default_factory=lambda: ["eng"])
    dpi: float | None = Field(default=None, gt=0)

    def image(self) -> Image.Image:
        try:
            with Image.open(io.BytesIO(base64.b64decode(self.image_png, validate=True))) as image:
                return image.convert("L")
        except (ValueError, OSError, Image.DecompressionBombError) as exc:
            raise SecondEngineUnavailable(f"the page sent to the second engine is no image: {exc}") from None


class SecondReading(BaseModel):
    engine: str
    version: str
    confidence: float | None = None
    blocks: list[Block] = Field(default_factory=list)

    def page(self, alignment: Alignment) -> RecognizedPage:
        return RecognizedPage(blocks=self.blocks, confidence=self.confidence, text_orientation=alignment.turn,
                              skew_degrees=alignment.skew, engine=self.engine)


def request_for(image: Image.Image, languages: Sequence[str], dpi: float | None,
                alignment: Alignment) -> SecondReadingRequest:
    # sent no larger than RapidOCR reads it (rapid.MAX_SIDE): the same reading, a smaller payload
    grey, scale = shrunk(image if image.mode == "L" else image.convert("L"))
    buffer = io.BytesIO()
    grey.save(buffer, "PNG", optimize=False, compress_level=6)
    return SecondReadingRequest(image_png=base64.b64encode(buffer.getvalue()).decode("ascii"),
                                turn=alignment.turn, skew=alignment.skew, languages=list(languages),
                                dpi=dpi * scale if dpi else None)


def read_page(request: SecondReadingRequest) -> SecondReading:
    """The function's one call: RapidOCR's reading of the page sent (`functions/second_engine/app.py`)."""
    from ocrflow.engines.settings import EngineSettings

    engine = RapidOcrEngine(threads=EngineSettings().second_engine_threads)
    reading = engine.recognize(request.image(), request.languages, request.dpi,
                               alignment=Alignment(request.turn, request.skew))
    return SecondReading(engine=engine.name, version=engine.version, confidence=reading.confidence,
                         blocks=reading.blocks)


class RemoteRapidEngine:
    """RapidOCR behind `lambda:InvokeFunction` (the layered engine's second engine in the Lambda functions)."""

    name = "rapidocr"
    version = "function"  # the function's RapidOCR version is only known from its answers

    def __init__(self, function_name: str, client: Any = None) -> None:
        self.function_name = function_name
        self._client = client

    def _lambda(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            # a page takes 2-10 s; the function's timeout is 60 s. Throttling is retried with back-off.
            self._client = boto3.client("lambda", config=Config(
                read_timeout=70, connect_timeout=5, retries={"mode": "standard", "max_attempts": 3}))
        return self._client

    def recognize(self, image: Image.Image, languages: Sequence[str], dpi: float | None = None,
                  alignment: Alignment = IDENTITY) -> RecognizedPage:
        payload = request_for(image, languages, dpi, alignment).model_dump_json()
        try:
            answer = self._lambda().invoke(FunctionName=self.function_name, InvocationType="RequestResponse",
                                           Payload=payload.encode("utf-8"))
            body = answer["Payload"].read()
        except Exception as exc:  # botocore's errors after its retries, a timeout, a missing function
            raise SecondEngineUnavailable(f"the second engine's function did not answer: {exc}") from None
        if answer.get("FunctionError"):
            raise SecondEngineUnavailable(f"the second engine's function failed: {body[:300]!r}")
        try:
            return SecondReading.model_validate(json.loads(body)).page(alignment)
        except (ValueError, ValidationError) as exc:
            raise SecondEngineUnavailable(f"the second engine's function answered garbage: {exc}") from None
