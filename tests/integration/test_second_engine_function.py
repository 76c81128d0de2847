"""The second engine as Lambda runs it on AWS: the process and range functions invoke the container-image
function (`functions/second_engine/app.py`) for weak pages. Here a real boto3 Lambda client serializes each
Invoke; its `before-send` hook hands the request body to the handler, as the Lambda service would, and returns
the handler's answer (or a failure, or throttling) as the service's HTTP response - no Docker engine needed."""

from __future__ import annotations

import io
import json
from pathlib import Path

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from PIL import Image, ImageFilter

from ocrflow.document import WarningCode
from ocrflow.engines.layered import LayeredEngine
from ocrflow.engines.rapid import RapidOcrEngine
from ocrflow.engines.remote import RemoteRapidEngine, SecondReading, request_for
from ocrflow.engines.settings import EngineSettings, SecondEngineMode
from ocrflow.imaging.alignment import Alignment
from ocrflow.quality import bag_of_words_error
from tests.lambda_handlers import Context, load

DATA = Path(__file__).resolve().parents[1] / "data"
TRUTH = (DATA / "phototest.truth.txt").read_text(encoding="utf-8")
FUNCTION = "ocrflow-second-engine"


@pytest.fixture(autouse=True)
def _powertools(monkeypatch):
    for key, value in {"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "ocrflow",
                       "POWERTOOLS_SERVICE_NAME": "ocrflow"}.items():
        monkeypatch.setenv(key, value)


def blurred(radius: float) -> Image.Image:
    return Image.open(DATA / "phototest.png").convert("L").filter(ImageFilter.GaussianBlur(radius))


class _Body(io.BytesIO):
    def stream(self, **_):
        yield self.getvalue()


class FakeLambdaService:
    """What the Lambda service does with a synchronous Invoke of the second engine's function."""

    def __init__(self, behaviour: str = "answer") -> None:
        self.behaviour, self.calls, self.payloads = behaviour, 0, []
        self.handler = load("second_engine")

    def __call__(self, request, **_) -> AWSResponse:
        self.calls += 1
        assert request.url.endswith(f"/functions/{FUNCTION}/invocations")
        self.payloads.append(len(request.body))
        if self.behaviour == "throttle":
            body = json.dumps({"Type": "User", "message": "Rate Exceeded."}).encode()
            return AWSResponse(request.url, 429, {"x-amzn-errortype": "TooManyRequestsException"}, _Body(body))
        headers = {}
        try:
            answer = self.handler(json.loads(request.body), Context(function_name=FUNCTION))
            body = json.dumps(answer).encode()
        except Exception as exc:  # what Lambda returns for an unhandled error in the function
            headers["X-Amz-Function-Error"] = "Unhandled"
            body = json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__}).encode()
        if self.behaviour == "garbage":
            body = b'{"engine": "rapidocr", "blocks": "not a list"}'
        return AWSResponse(request.url, 200, headers, _Body(body))


def lambda_client(service: FakeLambdaService):
    client = boto3.client("lambda", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test",
                          config=Config(retries={"mode": "standard", "max_attempts": 2}))
    client.meta.events.register("before-send.lambda.Invoke", service)
    return client


def layered(service: FakeLambdaService) -> LayeredEngine:
    remote = RemoteRapidEngine(FUNCTION, client=lambda_client(service))
    return LayeredEngine(second=remote, settings=EngineSettings(second_engine=SecondEngineMode.AUTO))


def test_a_weak_page_is_read_by_the_function_and_its_reading_wins():
    service = FakeLambdaService()
    page = layered(service).recognize(blurred(3.0), ["eng"], 200)
    assert service.calls == 1
    assert page.engine == "rapidocr"
    assert bag_of_words_error(TRUTH, page.text) < 0.15  # measured 0.09; Tesseract alone 0.73
    assert max(service.payloads) < 6_000_000  # a synchronous invoke's limit


def test_the_function_reads_the_page_as_the_engine_in_process_does():
    page, alignment = blurred(2.6), Alignment(0, 0.0)
    answer = load("second_engine")(json.loads(request_for(page, ["eng"], 200, alignment).model_dump_json()),
                                   Context(function_name=FUNCTION))
    remote = SecondReading.model_validate(answer).page(alignment)
    local = RapidOcrEngine().recognize(page, ["eng"], 200, alignment=alignment)
    assert remote.text == local.text
    first_remote, first_local = remote.blocks[0].lines[0].words[0].bbox, local.blocks[0].lines[0].words[0].bbox
    assert abs(first_remote.x0 - first_local.x0) < 0.002 and abs(first_remote.y1 - first_local.y1) < 0.002


def test_a_big_page_travels_shrunk_to_what_rapidocr_reads():
    big = Image.new("L", (5100, 6600), 255)  # a letter page at 600 dpi
    request = request_for(big, ["eng"], 600, Alignment(0, 0.0))
    with request.image() as image:
        assert max(image.size) == 2000
    assert request.dpi == pytest.approx(600 * 2000 / 6600)


@pytest.mark.parametrize("behaviour", ["fail", "throttle", "garbage"])
def test_when_the_function_cannot_answer_the_page_keeps_tesseracts_reading_and_says_so(behaviour):
    service = FakeLambdaService(behaviour)
    if behaviour == "fail":
        service.handler = lambda event, context: (_ for _ in ()).throw(MemoryError("Runtime exited: out of memory"))
    engine = layered(service)
    alone = LayeredEngine(settings=EngineSettings(second_engine=SecondEngineMode.OFF)).recognize(
        blurred(3.0), ["eng"], 200)
    page = engine.recognize(blurred(3.0), ["eng"], 200)
    assert page.engine == "tesseract" and page.text == alone.text
    (warning,) = [w for w in page.warnings if w.code is WarningCode.SECOND_ENGINE_FAILED]
    assert "second engine" in warning.message
    assert service.calls > 1 if behaviour == "throttle" else service.calls == 1  # botocore retries throttling


def test_a_request_that_is_no_image_is_refused_by_the_function():
    with pytest.raises(Exception, match="no image"):
        load("second_engine")({"image_png": "bm90IGFuIGltYWdl", "turn": 0, "skew": 0.0}, Context())


def test_the_function_is_chosen_where_it_is_named(monkeypatch):
    monkeypatch.setenv("OCRFLOW_SECOND_ENGINE_FUNCTION", FUNCTION)
    engine = LayeredEngine()
    assert isinstance(engine.second, RemoteRapidEngine) and engine.second.function_name == FUNCTION
    assert engine.name == "tesseract+rapidocr"
    monkeypatch.setenv("OCRFLOW_SECOND_ENGINE", "off")
    assert LayeredEngine().second is None and LayeredEngine().name == "tesseract"
