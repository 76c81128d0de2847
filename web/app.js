// ocrflow web page: upload a document through the HTTPS API, follow the job, show the words on the page.
// Flow: POST /v1/jobs -> PUT the file to the presigned URL -> poll GET /v1/jobs/{id} -> GET .../result.

const POLL_MS = 1000;
const POLL_LIMIT_MS = 15 * 60 * 1000;
let slowNoticeMs = 10_000; // a job still unfinished after this long gets the cold-start explanation
const RENDER_WIDTH = 1400; // pixels a PDF page is drawn at (the canvas is then scaled to fit)
const PDFJS = new URL("./vendor/pdfjs/", import.meta.url);
const TYPES = { pdf: "application/pdf", jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png",
                tif: "image/tiff", tiff: "image/tiff" };
const SHOWN_AS_IMAGE = new Set(["image/jpeg", "image/png"]);

const $ = (id) => document.getElementById(id);
let objectUrl = null;

class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// --- settings: config.json beside the page, then ?api=...&key=..., then whatever is typed in the form ----

async function loadSettings() {
  let config = {};
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (response.ok) config = await response.json();
  } catch {
    // no config.json: the form fields or the query string give the settings
  }
  const query = new URLSearchParams(location.search);
  $("api-base").value = query.get("api") ?? config.apiBase ?? "";
  $("api-key").value = query.get("key") ?? config.apiKey ?? "";
  if (Number.isFinite(config.slowNoticeSeconds)) slowNoticeMs = config.slowNoticeSeconds * 1000;
  if (!$("api-base").value) $("connection").open = true;
}

// --- the API -------------------------------------------------------------------------------------------------

async function api(path, { method = "GET", body } = {}) {
  const base = $("api-base").value.trim().replace(/\/+$/, "");
  if (!base) throw new ApiError("no_api", "Enter the API base URL under “API connection”.");
  const headers = { "X-Api-Key": $("api-key").value.trim() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await send(base + path, { method, headers, body: body && JSON.stringify(body) });
  const payload = await response.json().catch(() => null);
  if (!response.ok) {
    const error = payload?.error ?? {};
    throw new ApiError(error.code ?? `http_${response.status}`, error.message ?? response.statusText);
  }
  return payload;
}

async function send(url, options) {
  try {
    return await fetch(url, options);
  } catch (error) { // a refused connection or a CORS refusal: the browser tells the page no more than this
    const where = new URL(url).origin;
    throw new ApiError("network_error", `${where} could not be reached or refused this page (CORS): ${error.message}`);
  }
}

async function getJson(url) {
  const response = await send(url, {});
  if (!response.ok) throw new ApiError(`http_${response.status}`, `could not fetch ${new URL(url).pathname}`);
  return response.json();
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForJob(id) {
  const started = Date.now();
  const deadline = started + POLL_LIMIT_MS;
  for (;;) {
    const job = await api(`/v1/jobs/${encodeURIComponent(id)}`);
    setStatus(job.status);
    if (job.status === "succeeded" || job.status === "failed") return job;
    showProgress(job);
    if (Date.now() - started >= slowNoticeMs) $("slow-notice").hidden = false; // stays up: it explains the wait
    if (Date.now() > deadline) throw new ApiError("timeout", `job ${id} did not finish in time`);
    await sleep(POLL_MS);
  }
}

function contentType(file) {
  return file.type || TYPES[file.name.split(".").pop().toLowerCase()] || "application/octet-stream";
}

async function ocr(file) {
  const type = contentType(file);
  setStatus("creating");
  const { job, upload } = await api("/v1/jobs", {
    method: "POST",
    body: {
      filename: file.name, content_type: type, size: file.size, language: $("language").value,
      ocr_mode: $("ocr-mode").value, outputs: ["json", "txt", "pdf", "hocr", "alto"],
    },
  });
  setStatus("uploading");
  const put = await send(upload.url, { method: upload.method ?? "PUT", headers: upload.headers ?? {}, body: file });
  if (!put.ok) throw new ApiError("upload_failed", `the upload was refused (HTTP ${put.status})`);
  const finished = await waitForJob(job.id);
  endProgress(finished);
  showJob(finished);
  if (finished.status === "failed") {
    throw new ApiError(finished.error?.code ?? "failed", finished.error?.message ?? "the job failed");
  }
  const result = await api(`/v1/jobs/${encodeURIComponent(job.id)}/result`);
  const ocrDocument = result.document ?? (await getJson(result.document_url));
  const images = await pagePictures(file, type, ocrDocument.pages, result.searchable_pdf_url);
  showResult(ocrDocument, images, result.searchable_pdf_url);
  $("hocr-link").href = result.hocr_url;
  $("alto-link").href = result.alto_url;
}

// One picture per page of the document: the picked image itself, or pages drawn by pdf.js.
async function pagePictures(file, type, pages, searchablePdfUrl) {
  if (type === "application/pdf") return pdfPages(await file.arrayBuffer(), pages);
  if (SHOWN_AS_IMAGE.has(type)) {
    try {
      return [await imageOf(file)];
    } catch {
      // an image this browser cannot decode: shown from the searchable PDF below
    }
  }
  return pdfPages(searchablePdfUrl, pages); // TIFF: browsers cannot show it, the searchable PDF holds its pages
}

// --- the view ------------------------------------------------------------------------------------------------

function setStatus(status) {
  $("status").dataset.status = status;
  $("status").textContent = `Status: ${status.replaceAll("_", " ")}`;
}

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

// While the job runs: pages done of its pages on a bar (indeterminate until the pages are counted), the
// provider reading it and the time since it started, refreshed on every poll.
function showProgress(job) {
  const bar = $("progress-bar");
  if (job.pages == null) {
    bar.removeAttribute("value"); // no value: the bar is indeterminate
    $("progress-pages").textContent = "counting pages";
  } else {
    bar.max = job.pages;
    bar.value = Math.min(job.pages_done ?? 0, job.pages);
    $("progress-pages").textContent = `${bar.value} of ${plural(job.pages, "page")}`;
  }
  $("progress-provider").textContent = job.provider && job.provider !== "auto" ? job.provider
    : "choosing a provider";
  const started = Date.parse(job.started_at ?? "");
  // the browser's clock against the API's: a clock behind the server's must not show a negative time
  $("progress-elapsed").textContent = Number.isNaN(started) ? "not started yet"
    : duration(Math.max(0, (Date.now() - started) / 1000));
  $("progress").dataset.state = "running";
  $("progress").hidden = false;
}

// The job ended: a succeeded job's bar is full (all its pages, its time); a failed job's goes away, its error shows.
function endProgress(job) {
  if (job.status !== "succeeded" || job.pages == null) {
    $("progress").hidden = true;
    return;
  }
  showProgress({ ...job, pages_done: job.pages });
  if (job.seconds != null) $("progress-elapsed").textContent = duration(job.seconds);
  $("progress").dataset.state = "done";
}

function duration(seconds) {
  const whole = Math.round(seconds);
  return whole < 60 ? `${whole} s` : `${Math.floor(whole / 60)} min ${whole % 60} s`;
}

function showError({ code, message }) {
  $("error").textContent = `${code}: ${message}`;
  $("error").hidden = false;
}

function reset() {
  $("error").hidden = true;
  $("slow-notice").hidden = true;
  $("progress").hidden = true;
  $("job").hidden = true;
  $("job-routing").replaceChildren();
  $("result").hidden = true;
  $("pages").replaceChildren();
  $("text").replaceChildren();
  if (objectUrl) URL.revokeObjectURL(objectUrl);
  objectUrl = null;
}

// What the job was: its pages, who read it, how long it took, what it cost and each provider routing considered.
function showJob(job) {
  $("job-pages").textContent = job.pages == null ? "–" : String(job.pages);
  $("job-provider").textContent = job.provider || "–";
  $("job-time").textContent = job.seconds == null ? "–" : `${job.seconds.toFixed(1)} s`;
  const cost = job.cost;
  const charged = cost?.pages == null ? null : `${plural(cost.pages, "page")} charged`;
  const credits = cost?.provider_credits == null ? null : `${cost.provider_credits} provider credits`;
  $("job-cost").textContent = [charged, credits].filter(Boolean).join(", ") || (job.status === "failed"
    ? "nothing charged" : "–");
  const steps = (job.routing ?? []).map((attempt) => {
    const item = document.createElement("li");
    item.dataset.outcome = attempt.outcome;
    const why = attempt.code ? `: ${attempt.code}${attempt.message ? ` – ${attempt.message}` : ""}` : "";
    item.textContent = `${attempt.provider} ${attempt.outcome}${why}`;
    return item;
  });
  if (!steps.length) {
    const item = document.createElement("li");
    item.textContent = "no routing recorded";
    steps.push(item);
  }
  $("job-routing").replaceChildren(...steps);
  $("job").hidden = false;
}

function showResult(ocrDocument, images, pdfUrl) {
  ocrDocument.pages.forEach((page, n) => {
    const words = page.blocks.flatMap((block) => block.lines.flatMap((line) => line.words));
    const figure = document.createElement("figure");
    const sheet = document.createElement("div");
    sheet.className = "sheet";
    const picture = images[n] ?? missingPage();
    picture.classList.add("page-image");
    sheet.append(picture, ...words.map((word, i) => wordBox(word, `${n}-${i}`)).filter(Boolean));
    const caption = document.createElement("figcaption");
    caption.textContent = `Page ${page.index + 1} · ${words.length} words`;
    figure.append(sheet, caption);
    $("pages").append(figure);
    $("text").append(pageText(page, n));
  });
  $("pdf-link").href = pdfUrl;
  $("result").hidden = false;
}

function imageOf(file) {
  objectUrl = URL.createObjectURL(file);
  const image = new Image();
  image.alt = "The uploaded page";
  image.src = objectUrl;
  return image.decode().then(() => image);
}

function missingPage() {
  const blank = document.createElement("div");
  blank.className = "missing";
  blank.textContent = "This page could not be shown.";
  return blank;
}

// Draws each page with pdf.js (loaded only when a PDF is shown). `source` is the file's bytes or a URL.
async function pdfPages(source, pages) {
  const vendor = (path) => new URL(path, PDFJS).href;
  const pdfjs = await import(vendor("pdf.min.mjs"));
  pdfjs.GlobalWorkerOptions.workerSrc = vendor("pdf.worker.min.mjs");
  const pdf = await pdfjs.getDocument({
    ...(typeof source === "string" ? { url: source } : { data: source }),
    isEvalSupported: false, // nothing is compiled from strings: the page's CSP allows no eval
    cMapUrl: vendor("cmaps/"), cMapPacked: true, iccUrl: vendor("iccs/"),
    standardFontDataUrl: vendor("standard_fonts/"), wasmUrl: vendor("wasm/"),
  }).promise;
  try {
    const canvases = [];
    for (const page of pages) canvases.push(page.index < pdf.numPages ? await drawPage(pdf, page.index) : null);
    return canvases;
  } finally {
    await pdf.destroy();
  }
}

async function drawPage(pdf, index) {
  const pdfPage = await pdf.getPage(index + 1);
  const unscaled = pdfPage.getViewport({ scale: 1 }); // includes the page's /Rotate: the displayed page
  const viewport = pdfPage.getViewport({ scale: RENDER_WIDTH / unscaled.width });
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(viewport.width);
  canvas.height = Math.round(viewport.height);
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", `Page ${index + 1} of the document`);
  await pdfPage.render({ canvas, viewport }).promise;
  return canvas;
}

function wordBox(word, id) {
  if (!word.bbox) return null;
  const { x0, y0, x1, y1 } = word.bbox;
  const box = document.createElement("span");
  box.className = "box";
  box.dataset.word = id;
  box.title = word.text;
  Object.assign(box.style, { left: pct(x0), top: pct(y0), width: pct(x1 - x0), height: pct(y1 - y0) });
  return box;
}

const pct = (fraction) => `${(fraction * 100).toFixed(3)}%`;

// The page's text line by line as OCR found them (a line of the scan stays one line here, never re-wrapped),
// blocks apart by an empty line; each word is a span that lights up with its box. `n` numbers the page's words
// in the order showResult gives them to the boxes.
function pageText(page, n) {
  const block = document.createElement("pre");
  block.className = "page-text";
  block.setAttribute("aria-label", `Text of page ${page.index + 1}`);
  let word = 0;
  page.blocks.forEach((textBlock, b) => {
    if (b > 0) block.append("\n");
    for (const line of textBlock.lines) {
      const row = document.createElement("span");
      row.className = "line";
      if (line.words.length) {
        line.words.forEach((recognised, i) => {
          const span = document.createElement("span");
          span.dataset.word = `${n}-${word++}`;
          span.textContent = recognised.text;
          row.append(...(i ? [" ", span] : [span]));
        });
      } else {
        row.textContent = line.text;
      }
      block.append(row, "\n");
    }
  });
  if (!page.blocks.length && page.text) block.append(page.text);
  return block;
}

function highlight(event, on) {
  const id = event.target.dataset?.word;
  if (!id) return;
  for (const element of document.querySelectorAll(`[data-word="${id}"]`)) element.classList.toggle("hot", on);
}

// --- wiring --------------------------------------------------------------------------------------------------

async function onSubmit(event) {
  event.preventDefault();
  const file = $("file").files[0];
  if (!file) return;
  reset();
  $("upload").disabled = true;
  try {
    await ocr(file);
  } catch (error) {
    if ($("status").dataset.status !== "failed") setStatus("error"); // "failed": the job's own end
    if ($("progress").dataset.state !== "done") $("progress").hidden = true; // no stale "running" bar
    showError(error instanceof ApiError ? error : { code: "page_error", message: String(error) });
  } finally {
    $("upload").disabled = false;
  }
}

$("upload-form").addEventListener("submit", onSubmit);
for (const panel of [$("pages"), $("text")]) {
  panel.addEventListener("mouseover", (event) => highlight(event, true));
  panel.addEventListener("mouseout", (event) => highlight(event, false));
}
await loadSettings();
