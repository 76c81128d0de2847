"""The web page in a real headless Chromium against the HTTPS API: pick a file, upload it, follow the job, then
see the page with its word boxes, the text and the searchable PDF link. The page is served from its own
origin, so the API's and the buckets' CORS answers are exercised as a user's browser meets them.

`api_endpoint` (base URL, API key) comes from the local stack's conftest."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from ocrflow.quality import word_recall
from ocrflow.web import find_web_root, serve_web
from tests.browser import launch_chromium
from tests.conftest import SAMPLES, truth_text

pytestmark = pytest.mark.e2e

JOB_TIMEOUT_MS = 120_000
# what Chromium logs for a fetch answered 4xx/5xx: expected when the API refuses something on purpose
HTTP_ERROR_LOG = re.compile(r"^Failed to load resource: the server responded with a status of [45]\d\d")


@pytest.fixture(scope="module")
def site(api_endpoint):
    base_url, api_key = api_endpoint
    server, url = serve_web(find_web_root(), {"apiBase": base_url, "apiKey": api_key})
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as launched:
        yield launched


@pytest.fixture
def console_errors():
    """What the page logged as errors (CORS refusals among them) and its uncaught exceptions."""
    return []


@pytest.fixture
def page(browser, console_errors):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    page.on("pageerror", lambda error: console_errors.append(f"uncaught: {error}"))
    yield page
    context.close()


def upload(page: Page, site: str, file) -> None:
    page.goto(site)
    expect(page.locator("#api-base")).not_to_have_value("")  # config.json has been read
    page.set_input_files("#file", file)
    page.click("#upload")
    expect(page.locator("#status")).to_have_attribute("data-status", re.compile(r"^(succeeded|failed|error)$"),
                                                      timeout=JOB_TIMEOUT_MS)


PAGE_GEOMETRY = """() => [...document.querySelectorAll('#pages .sheet')].map((sheet) => {
    const image = sheet.querySelector('.page-image');
    const rect = (element) => { const r = element.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
    let inked = null;
    if (image instanceof HTMLCanvasElement) {  // pdf.js drew it: count the dark pixels
        const { data } = image.getContext('2d').getImageData(0, 0, image.width, image.height);
        inked = 0;
        for (let i = 0; i < data.length; i += 4) inked += data[i] + data[i + 1] + data[i + 2] < 3 * 128 ? 1 : 0;
    }
    return { tag: image.tagName, loaded: image instanceof HTMLImageElement ? image.naturalWidth > 0 : true,
             inked, image: rect(image), boxes: [...sheet.querySelectorAll('.box')].map(rect) };
})"""


@pytest.mark.parametrize(("sample", "tag"), [("notice.jpg", "IMG"), ("letter.pdf", "CANVAS")])
def test_a_document_is_read_and_shown_with_its_word_boxes(page, console_errors, site, sample, tag):
    upload(page, site, SAMPLES / sample)
    expect(page.locator("#result:not([hidden]), #error:not([hidden])").first).to_be_visible(timeout=30_000)
    assert page.locator("#error").is_hidden(), f"{page.inner_text('#error')} - console: {console_errors}"
    assert page.get_attribute("#status", "data-status") == "succeeded"
    expect(page.locator("#status")).to_contain_text("succeeded")

    text = page.inner_text("#text")
    truth = truth_text(sample)
    assert truth.splitlines()[0] in text  # the title
    assert word_recall(truth, text) >= 0.9, text

    sheets = page.evaluate(PAGE_GEOMETRY)
    assert len(sheets) == 1
    sheet = sheets[0]
    assert sheet["tag"] == tag and sheet["loaded"]
    if tag == "CANVAS":
        assert sheet["inked"] > 10_000, "pdf.js drew a blank page"
    left, top, right, bottom = sheet["image"]
    assert right - left > 300 and bottom - top > 300
    assert len(sheet["boxes"]) > 10
    for x0, y0, x1, y1 in sheet["boxes"]:
        assert left - 1 <= x0 < x1 <= right + 1 and top - 1 <= y0 < y1 <= bottom + 1, (x0, y0, x1, y1)

    # the progress bar ended full: every page of the document read
    expect(page.locator("#progress")).to_have_attribute("data-state", "done")
    assert page.inner_text("#progress-pages") == "1 of 1 page"
    assert page.locator("#progress-bar").evaluate("bar => bar.position") == 1

    href = page.get_attribute("#pdf-link", "href")
    assert href and href.startswith("http")
    # the page asks for hOCR and ALTO too, and links them: the presigned links of the job's results
    for link, key in (("#hocr-link", "/document.hocr"), ("#alto-link", "/document.alto.xml")):
        target = page.get_attribute(link, "href")
        assert target and target.startswith("http") and key in target, target
        assert httpx.get(target, timeout=30).status_code == 200

    # the job beyond its status: pages, provider, time, cost and the providers routing considered
    expect(page.locator("#job")).to_be_visible()
    assert page.inner_text("#job-pages") == "1"
    assert page.inner_text("#job-provider") == "tesseract"  # the e2e route: pdfmage (no balance), then the engine
    assert re.fullmatch(r"\d+\.\d s", page.inner_text("#job-time")), page.inner_text("#job-time")
    assert page.inner_text("#job-cost") == "1 page charged"
    routing = page.locator("#job-routing li").all_inner_texts()
    assert routing[-1] == "tesseract used", routing
    assert any(re.match(r"^pdfmage (skipped|failed): quota_exhausted", step) for step in routing[:-1]), routing

    # each OCR line is one line of the text panel, however narrow the panel: none is wrapped onto two rows
    rows = page.evaluate("""() => [...document.querySelectorAll('#text .page-text .line')].map((line) => ({
        text: line.textContent,
        rows: new Set([...line.getClientRects()].map((rect) => Math.round(rect.top))).size }))""")
    assert len(rows) >= len([line for line in truth.splitlines() if line.strip()]) * 0.8, rows
    assert [row for row in rows if row["rows"] != 1] == []
    longest = max(len(line) for line in truth.splitlines())
    assert any(len(row["text"]) >= longest * 0.9 for row in rows)  # the long lines are there, whole
    assert console_errors == []


@pytest.fixture(scope="module")
def impatient_site(api_endpoint):
    """The page told that any wait is long (slowNoticeSeconds 0), as a fresh stack's first job is."""
    base_url, api_key = api_endpoint
    server, url = serve_web(find_web_root(), {"apiBase": base_url, "apiKey": api_key, "slowNoticeSeconds": 0})
    yield url
    server.shutdown()
    server.server_close()


def test_a_long_wait_is_explained_as_the_cold_start_of_a_fresh_stack(page, console_errors, impatient_site):
    page.goto(impatient_site)
    expect(page.locator("#slow-notice")).to_be_hidden()
    upload(page, impatient_site, SAMPLES / "notice.jpg")
    expect(page.locator("#slow-notice")).to_be_visible()
    notice = page.inner_text("#slow-notice")
    assert "first job" in notice and "cold" in notice and "Later jobs" in notice
    assert page.get_attribute("#status", "data-status") == "succeeded"
    assert console_errors == []


def test_a_document_that_cannot_be_read_shows_the_error(page, console_errors, site):
    upload(page, site, {"name": "broken.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7 this is not a PDF"})
    expect(page.locator("#error")).to_be_visible()
    assert re.match(r"^[a-z_]+: \S", page.inner_text("#error")), page.inner_text("#error")
    assert page.get_attribute("#status", "data-status") in {"failed", "error"}
    expect(page.locator("#result")).to_be_hidden()
    expect(page.locator("#progress")).to_be_hidden()  # no bar left standing for a job that ended in an error
    assert [e for e in console_errors if not HTTP_ERROR_LOG.match(e)] == []


#: GET /v1/jobs/{id} - the page's poll of its job (not POST /v1/jobs, not .../result)
JOB_POLL = re.compile(r"/v1/jobs/[^/?]+$")


def test_a_running_job_shows_its_pages_done_of_its_pages_until_it_ends(page, console_errors, site):
    """The page's polls are answered with the real job made to look as a long document's does while it runs
    (its record as the API shows it: status, pages, pages_done, provider, started_at) for as long as the test
    holds it, then as it really is - so each state is seen for sure, then the real end."""
    started = datetime.now(UTC) - timedelta(seconds=8)
    holding: dict = {"as": {"status": "running", "pages": None, "pages_done": 0, "provider": "auto",
                            "started_at": started.isoformat()}}

    def poll(route: Route) -> None:
        if route.request.method != "GET":
            route.fallback()
            return
        response = route.fetch()  # the real answer, CORS headers and all
        if holding["as"] is None:
            route.fulfill(response=response)
        else:
            route.fulfill(response=response, json=response.json() | holding["as"])

    page.route(JOB_POLL, poll)
    page.goto(site)
    expect(page.locator("#api-base")).not_to_have_value("")
    expect(page.locator("#progress")).to_be_hidden()
    page.set_input_files("#file", SAMPLES / "notice.jpg")
    page.click("#upload")

    bar, pages = page.locator("#progress-bar"), page.locator("#progress-pages")
    provider, elapsed = page.locator("#progress-provider"), page.locator("#progress-elapsed")
    expect(pages).to_have_text("counting pages")  # pages not counted yet: a bar with no end in sight
    assert bar.evaluate("bar => bar.position") == -1  # indeterminate
    expect(provider).to_have_text("choosing a provider")
    expect(page.locator("#status")).to_have_text("Status: running")

    holding["as"] = {**holding["as"], "pages": 10, "pages_done": 3, "provider": "tesseract"}
    expect(pages).to_have_text("3 of 10 pages")
    expect(bar).to_have_accessible_name("3 of 10 pages")
    assert bar.evaluate("bar => [bar.value, bar.max, bar.position]") == [3, 10, 0.3]
    expect(provider).to_have_text("tesseract")
    shown = elapsed.inner_text()
    assert re.fullmatch(r"\d+ s", shown) and int(shown.split()[0]) >= 8, shown  # since the job started
    expect(elapsed).not_to_have_text(shown)  # it counts on with each poll
    expect(page.locator("#result")).to_be_hidden()

    holding["as"] = {**holding["as"], "pages_done": 7}
    expect(pages).to_have_text("7 of 10 pages")

    holding["as"] = None  # the job as it is: it ends, the bar reaches its end and the result shows
    expect(page.locator("#status")).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
    expect(page.locator("#result")).to_be_visible(timeout=30_000)
    expect(page.locator("#progress")).to_have_attribute("data-state", "done")
    assert pages.inner_text() == "1 of 1 page"
    assert bar.evaluate("bar => bar.position") == 1
    assert re.fullmatch(r"\d+ s", elapsed.inner_text()), elapsed.inner_text()
    assert page.locator("#error").is_hidden(), page.inner_text("#error")
    assert console_errors == []
