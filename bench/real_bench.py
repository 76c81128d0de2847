"""Accuracy on real scans and on damaged copies of them: ocrflow beside OCRmyPDF and RapidOCR, in the same run.

The pages: `bench/corpus/manifest.json` (committed, redistributable) and `bench/corpus/built/manifest.json`
(built by `build_corpus.py` from copies of public repositories, when present). Damaged copies (`damage.py`:
lower resolution, skew, turns, JPEG, Gaussian and salt-and-pepper noise, blur, combinations) are made from
them reproducibly, from `--seed`. Every tool reads every page as a greyscale PNG at the page's resolution, in a
child process of its own per set (`real_worker.py`; one page after another, one thread, `OMP_THREAD_LIMIT=1`),
measured from outside like `run_bench.py` does (CPU of the process tree, peak RSS), with each page's CPU
measured inside. Scores (`ocrflow.quality`): CER, WER, bag-of-words error, per page, per kind of damage and on
average; then the targets for ocrflow. Figures go to `bench/results/real/latest.json` (the run before becomes
`previous.json`, a copy goes to `history/`), and the run is compared with the one before.

    python real_bench.py [--quick] [--tools ocrflow ocrmypdf rapidocr] [--seed 0]
    python real_bench.py --compare OLD.json [NEW.json]
    python real_bench.py --write-baseline      # record this run's clean-set CPU as the baseline (committed)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from damage import DAMAGES, QUICK_DAMAGES, Damage, Scan, choose_pages, seed_for
from PIL import Image
from run_bench import (
    BENCH_DIR,
    Tools,
    become_subreaper,
    environment,
    measure,
    missing_ocrmypdf,
    ocrmypdf_programs,
    save_report,
    tool_environment,
)

from ocrflow.quality import bag_of_words_error, character_error_rate, word_error_rate

REPO = BENCH_DIR.parent
MANIFESTS = [BENCH_DIR / "corpus" / "manifest.json", BENCH_DIR / "corpus" / "built" / "manifest.json"]
BASELINE = BENCH_DIR / "real_baseline.json"
TOOLS = ["ocrflow", "ocrmypdf", "rapidocr"]

# the targets of the issue, for ocrflow
DAMAGED_BOW_MAX = 0.05
DAMAGED_CER_MAX = 0.06
CLEAN_BOW_MAX = 0.05
RECEIPTS_BOW_MAX = 0.10
CPU_VS_BASELINE_MAX = 1.3
RSS_MAX_MB = 1024


@dataclass(frozen=True)
class Page:
    name: str
    image: Path
    truth: str
    lang: str
    dpi: float
    kind: str
    caseless_truth: bool = False  # the transcription does not keep the print's case: scored without case

    @property
    def receipt(self) -> bool:
        return "receipt" in self.kind


@dataclass(frozen=True)
class Job:
    id: str
    page: Page
    damage: str  # "" on the clean set
    image: Path
    dpi: float

    def as_json(self) -> dict:
        return {"id": self.id, "image": str(self.image), "dpi": self.dpi, "lang": self.page.lang,
                "damaged": bool(self.damage)}


def load_pages(manifests: list[Path]) -> list[Page]:
    pages = []
    for manifest in manifests:
        if not manifest.is_file():
            print(f"(no {manifest.relative_to(REPO)}: run `make -C bench corpus` to build those pages)")
            continue
        for entry in json.loads(manifest.read_text()):
            # committed manifests name files from the repository's root, built ones from their own folder
            base = REPO if (REPO / entry["image"]).is_file() else manifest.parent
            pages.append(Page(entry["page"], base / entry["image"], (base / entry["truth"]).read_text("utf-8"),
                              entry["lang"], float(entry["dpi"]), entry["kind"],
                              entry.get("truth_case") == "caseless"))
    return pages


# ----------------------------------------------------------------------------------------------- inputs

def _save(scan: Scan, path: Path) -> None:
    scan.image.save(path, "PNG", dpi=(scan.dpi, scan.dpi), compress_level=6)


def prepare_inputs(pages: list[Page], damages: list[Damage], per_kind: int, seed: int,
                   inputs: Path) -> tuple[list[Job], list[Job]]:
    """The clean and damaged PNGs, made again only when the pages, the damage code or the seed change."""
    key = hashlib.sha256((BENCH_DIR / "damage.py").read_bytes())
    key.update(f"/{seed}/{per_kind}/{[d.name for d in damages]}".encode())
    for page in pages:
        key.update(page.image.read_bytes() + f"{page.dpi}".encode())
    stamp = inputs / ".key"
    fresh = not (stamp.is_file() and stamp.read_text() == key.hexdigest())
    if fresh:
        shutil.rmtree(inputs, ignore_errors=True)
        (inputs / "clean").mkdir(parents=True)
        (inputs / "damaged").mkdir(parents=True)
        print("making the inputs ...", flush=True)
    by_name = {p.name: p for p in pages}
    dpis_file = inputs / "dpis.json"  # the resolution of each damaged copy
    dpis: dict[str, float] = {} if fresh else json.loads(dpis_file.read_text())
    originals: dict[str, Scan] = {}

    def original(page: Page) -> Scan:
        if page.name not in originals:
            with Image.open(page.image) as image:
                originals[page.name] = Scan(image.convert("L"), page.dpi)
        return originals[page.name]

    clean = []
    for page in pages:
        path = inputs / "clean" / f"{page.name}.png"
        if fresh:
            _save(original(page), path)
        clean.append(Job(page.name, page, "", path, page.dpi))
    damaged = []
    for damage in damages:
        chosen = choose_pages(damage, [(p.name, p.dpi) for p in pages], per_kind, seed)
        for name in chosen:
            job_id = f"{name}__{damage.name}"
            path = inputs / "damaged" / f"{job_id}.png"
            if fresh:
                scan = damage.apply(original(by_name[name]), seed_for(seed, damage.name, name))
                _save(scan, path)
                dpis[job_id] = scan.dpi
            damaged.append(Job(job_id, by_name[name], damage.name, path, dpis[job_id]))
        if fresh:
            print(f"  {damage.name}: {', '.join(chosen)}", flush=True)
    if fresh:
        dpis_file.write_text(json.dumps(dpis, indent=1))
        stamp.write_text(key.hexdigest())
    return clean, damaged


# ---------------------------------------------------------------------------------------------- running

@dataclass
class SetRun:
    tool: str
    set: str  # "clean" / "damaged"
    ok: bool
    tree_cpu_s: float = 0.0
    wall_s: float = 0.0
    peak_rss_mb: float = 0.0
    pages: list[dict] | None = None  # per page: id, page, kind, damage, cpu_s, wall_s, error, cer, wer, bow
    log: str = ""


def run_set(tool: str, set_name: str, jobs: list[Job], tools: Tools, results: Path, timeout: float) -> SetRun:
    out = results / tool / set_name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    jobs_file = out / "jobs.json"
    jobs_file.write_text(json.dumps([j.as_json() for j in jobs], indent=1))
    log = results / "logs" / f"{tool}-{set_name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [tools.python, str(BENCH_DIR / "real_worker.py"), tool, str(jobs_file), str(out)]
    usage = measure(cmd, tools.env, log, timeout)
    if usage.returncode != 0 or not (out / "pages.json").is_file():
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-15:]
        print(f"  {tool} failed on the {set_name} set (exit {usage.returncode}); end of {log}:", file=sys.stderr)
        print("    " + "\n    ".join(tail), file=sys.stderr)
        return SetRun(tool, set_name, ok=False, log=str(log))
    figures = {f["id"]: f for f in json.loads((out / "pages.json").read_text())}
    pages = []
    for job in jobs:
        text = (out / f"{job.id}.txt").read_text(encoding="utf-8")
        truth = job.page.truth
        if job.page.caseless_truth:
            truth, text = truth.casefold(), text.casefold()
        pages.append({
            "id": job.id, "page": job.page.name, "kind": job.page.kind, "damage": job.damage,
            "cpu_s": round(figures[job.id]["cpu_s"], 3), "wall_s": round(figures[job.id]["wall_s"], 3),
            "error": figures[job.id]["error"],
            "cer": round(character_error_rate(truth, text), 4), "wer": round(word_error_rate(truth, text), 4),
            "bow": round(bag_of_words_error(truth, text), 4),
        })
    return SetRun(tool, set_name, True, usage.cpu_s, usage.wall_s, usage.peak_rss_mb, pages, str(log))


# -------------------------------------------------------------------------------------------- summaries

def _mean(rows: list[dict], key: str) -> float | None:
    return round(statistics.fmean(r[key] for r in rows), 4) if rows else None


def scores(rows: list[dict]) -> dict:
    return {"pages": len(rows), "cer": _mean(rows, "cer"), "wer": _mean(rows, "wer"), "bow": _mean(rows, "bow"),
            "cpu_s_per_page": _mean(rows, "cpu_s"), "failed": sum(1 for r in rows if r["error"])}


def summarise(runs: list[SetRun]) -> dict:
    """Per tool: the clean set, the damaged set, the clean receipts, each kind of damage; CPU and memory."""
    summary: dict[str, dict] = {}
    for tool in dict.fromkeys(r.tool for r in runs):
        mine = {r.set: r for r in runs if r.tool == tool and r.ok}
        clean = mine["clean"].pages if "clean" in mine else []
        damaged = mine["damaged"].pages if "damaged" in mine else []
        kinds = dict.fromkeys(r["damage"] for r in damaged)
        summary[tool] = {
            "clean": scores(clean),
            "damaged": scores(damaged),
            "receipts": scores([r for r in clean if "receipt" in r["kind"]]),
            "by_damage": {kind: scores([r for r in damaged if r["damage"] == kind]) for kind in kinds},
            "tree_cpu_s_per_page": {s: round(r.tree_cpu_s / max(1, len(r.pages or [])), 3) for s, r in mine.items()},
            "peak_rss_mb": round(max((r.peak_rss_mb for r in mine.values()), default=0.0), 1),
            "failed_sets": [r.set for r in runs if r.tool == tool and not r.ok],
        }
    return summary


@dataclass(frozen=True)
class Check:
    name: str
    met: bool | None
    detail: str


def _baseline_cpu(summary: dict, runs: list[SetRun], baseline: dict | None) -> Check:
    name = f"clean-set CPU-s per page <= {CPU_VS_BASELINE_MAX}x the baseline"
    ours = next((r for r in runs if r.tool == "ocrflow" and r.set == "clean" and r.ok), None)
    if ours is None or not baseline:
        return Check(name, None, f"no baseline ({BASELINE.name}: `--write-baseline`)" if ours else "not measured")
    now = {r["page"]: r["cpu_s"] for r in ours.pages or []}
    common = [p for p in baseline["ocrflow_cpu_s"] if p in now]
    if not common:
        return Check(name, None, "no page in common with the baseline")
    then_mean = statistics.fmean(baseline["ocrflow_cpu_s"][p] for p in common)
    now_mean = statistics.fmean(now[p] for p in common)
    detail = f"{now_mean:.2f} s vs {then_mean:.2f} s ({now_mean / then_mean:.2f}x, {len(common)} pages)"
    ratio = now_mean / then_mean
    # the machine is noisy: where OCRmyPDF ran in both, compare against it (its speed is the yardstick)
    peer = next((r for r in runs if r.tool == "ocrmypdf" and r.set == "clean" and r.ok), None)
    if peer and baseline.get("ocrmypdf_cpu_s"):
        theirs = {r["page"]: r["cpu_s"] for r in peer.pages or []}
        shared = [p for p in common if p in theirs and p in baseline["ocrmypdf_cpu_s"]]
        if shared:
            peer_then = statistics.fmean(baseline["ocrmypdf_cpu_s"][p] for p in shared)
            peer_now = statistics.fmean(theirs[p] for p in shared)
            ours_then = statistics.fmean(baseline["ocrflow_cpu_s"][p] for p in shared)
            ours_now = statistics.fmean(now[p] for p in shared)
            ratio = (ours_now / peer_now) / (ours_then / peer_then)
            detail += f"; against OCRmyPDF in the same run: {ratio:.2f}x the baseline's ratio"
    return Check(name, ratio <= CPU_VS_BASELINE_MAX, detail + f" (baseline {baseline['date']}, git {baseline['git']})")


def checks(summary: dict, runs: list[SetRun], baseline: dict | None) -> list[Check]:
    ours = summary.get("ocrflow")
    if not ours:
        return []

    def at_most(name: str, value: float | None, limit: float, pages: int) -> Check:
        if value is None:
            return Check(name, None, "not measured")
        return Check(name, value <= limit, f"{value:.2%} over {pages} pages")

    return [
        at_most(f"damaged-set mean bag-of-words error <= {DAMAGED_BOW_MAX:.0%}", ours["damaged"]["bow"],
                DAMAGED_BOW_MAX, ours["damaged"]["pages"]),
        at_most(f"damaged-set mean CER <= {DAMAGED_CER_MAX:.0%}", ours["damaged"]["cer"], DAMAGED_CER_MAX,
                ours["damaged"]["pages"]),
        at_most(f"clean-set mean bag-of-words error <= {CLEAN_BOW_MAX:.0%}", ours["clean"]["bow"], CLEAN_BOW_MAX,
                ours["clean"]["pages"]),
        at_most(f"receipts (clean) mean bag-of-words error <= {RECEIPTS_BOW_MAX:.0%}", ours["receipts"]["bow"],
                RECEIPTS_BOW_MAX, ours["receipts"]["pages"]),
        _baseline_cpu(summary, runs, baseline),
        Check(f"peak RSS <= {RSS_MAX_MB} MB", ours["peak_rss_mb"] <= RSS_MAX_MB if ours["peak_rss_mb"] else None,
              f"{ours['peak_rss_mb']:.0f} MB (the worker's process tree)"),
    ]


# ------------------------------------------------------------------------------------------------ tables

def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def page_table(runs: list[SetRun], tools: list[str]) -> str:
    """The clean pages: CER / WER / bag-of-words of each tool."""
    per_tool = {r.tool: {p["id"]: p for p in r.pages or []} for r in runs if r.set == "clean" and r.ok}
    ids = list(dict.fromkeys(i for t in per_tool.values() for i in t))
    head = f"{'page':<22} {'kind':<34}" + "".join(f" {t + ' CER/WER/BoW':>26}" for t in tools)
    lines = [head, "-" * len(head)]
    for page_id in ids:
        first = next(t[page_id] for t in per_tool.values() if page_id in t)
        cells = []
        for tool in tools:
            p = per_tool.get(tool, {}).get(page_id)
            cells.append("n/a" if p is None else f"{p['cer']:.1%} {p['wer']:.1%} {p['bow']:.1%}")
        lines.append(f"{page_id:<22} {first['kind'][:34]:<34}" + "".join(f" {c:>26}" for c in cells))
    return "\n".join(lines)


def damage_table(runs: list[SetRun], summary: dict, tools: list[str]) -> str:
    """Per kind of damage: each tool's mean CER and bag-of-words error on the damaged copies, and how much worse
    the bag-of-words error is than on the same pages clean (each kind has its own choice of pages)."""
    clean = {r.tool: {p["page"]: p for p in r.pages or []} for r in runs if r.set == "clean" and r.ok}
    damaged = {r.tool: r.pages or [] for r in runs if r.set == "damaged" and r.ok}
    kinds = list(dict.fromkeys(k for t in tools if t in summary for k in summary[t]["by_damage"]))
    head = f"{'damage':<20} {'pages':>5}" + "".join(f" {t + ' CER / BoW (vs clean)':>32}" for t in tools)
    lines = [head, "-" * len(head)]
    for kind in kinds:
        n = max(summary[t]["by_damage"].get(kind, {}).get("pages", 0) for t in tools if t in summary)
        cells = []
        for tool in tools:
            s = summary.get(tool, {}).get("by_damage", {}).get(kind)
            rows = [p for p in damaged.get(tool, []) if p["damage"] == kind and p["page"] in clean.get(tool, {})]
            if s is None or not rows:
                cells.append("n/a")
                continue
            delta = statistics.fmean(p["bow"] - clean[tool][p["page"]]["bow"] for p in rows)
            cells.append(f"{_pct(s['cer'])} / {_pct(s['bow'])} ({delta:+.1%})")
        lines.append(f"{kind:<20} {n:>5}" + "".join(f" {c:>32}" for c in cells))
    return "\n".join(lines)


def summary_table(summary: dict, tools: list[str]) -> str:
    head = (f"{'tool':<9} {'set':<9} {'pages':>5} {'CER':>7} {'WER':>7} {'BoW':>7} {'CPU-s/page':>10} "
            f"{'tree CPU-s/page':>15} {'peak RSS MB':>11}")
    lines = [head, "-" * len(head)]
    for tool in tools:
        s = summary.get(tool)
        if not s:
            continue
        for set_name in ("clean", "damaged", "receipts"):
            f = s[set_name]
            tree = s["tree_cpu_s_per_page"].get(set_name)
            cpu = "n/a" if f["cpu_s_per_page"] is None else f"{f['cpu_s_per_page']:.2f}"
            lines.append(f"{tool:<9} {set_name:<9} {f['pages']:>5} {_pct(f['cer']):>7} {_pct(f['wer']):>7} "
                         f"{_pct(f['bow']):>7} {cpu:>10} {'' if tree is None else f'{tree:.2f}':>15} "
                         f"{s['peak_rss_mb'] if set_name == 'clean' else '':>11}")
    return "\n".join(lines)


def ratio_lines(summary: dict) -> list[str]:
    """ocrflow against each peer measured in this run: what stays comparable between runs on a noisy machine."""
    ours = summary.get("ocrflow")
    lines = []
    for peer in (t for t in summary if t != "ocrflow"):
        theirs = summary[peer]
        cells = []
        for set_name in ("clean", "damaged"):
            a, b = ours[set_name] if ours else {}, theirs[set_name]
            if a.get("cpu_s_per_page") and b.get("cpu_s_per_page"):
                cells.append(f"{set_name} CPU {a['cpu_s_per_page'] / b['cpu_s_per_page']:.2f}x")
            if a.get("bow") is not None and b.get("bow"):
                cells.append(f"{set_name} BoW {a['bow'] / b['bow']:.2f}x")
        if ours and ours["peak_rss_mb"] and theirs["peak_rss_mb"]:
            cells.append(f"peak RSS {ours['peak_rss_mb'] / theirs['peak_rss_mb']:.2f}x")
        lines.append(f"  ocrflow / {peer}: " + ", ".join(cells))
    return lines


def report_checks(found: list[Check]) -> str:
    marks = {True: "met", False: "MISSED", None: "n/a"}
    return "\n".join(f"  [{marks[c.met]:>6}] {c.name}: {c.detail}" for c in found)


def worse_than_clean(runs: list[SetRun], tool: str, by: float = 0.05) -> list[str]:
    """The damaged copies the tool read worse than the clean page by more than `by` bag-of-words error: turn,
    skew and resolution corrections should leave a page about as readable as it was."""
    sets = {r.set: {p["id"]: p for p in r.pages or []} for r in runs if r.tool == tool and r.ok}
    clean = sets.get("clean", {})
    return [f"{p['id']} ({clean[p['page']]['bow']:.1%} -> {p['bow']:.1%})"
            for p in sets.get("damaged", {}).values() if p["page"] in clean and p["bow"] > clean[p["page"]]["bow"] + by]


def tables(runs: list[SetRun], summary: dict, found: list[Check], tools: list[str]) -> str:
    worse = [f"  {tool}: {len(found_worse)} - " + (", ".join(found_worse) or "none")
             for tool in tools if tool in summary for found_worse in [worse_than_clean(runs, tool)]]
    return "\n".join([
        "\nClean pages (CER / WER / bag-of-words error):", page_table(runs, tools),
        "\nDamaged copies, by kind (mean CER / mean bag-of-words error, and its change from the same pages clean):",
        damage_table(runs, summary, tools),
        "\nMeans (receipts: the clean receipt pages; CPU-s/page: measured per page inside the worker, warm; "
        "tree: the worker's whole process tree incl. start-up, per page):", summary_table(summary, tools),
        "\nDamaged copies read worse than their clean page by more than 5 points of bag-of-words error:", *worse,
        "\nRatios in this run:", *ratio_lines(summary),
        "\nTargets (ocrflow):", report_checks(found),
    ])


def comparison(old: dict, new: dict) -> str:
    """Each tool's means in two runs (and ocrflow's CPU against OCRmyPDF's in each, which noise affects less)."""
    lines = [f"{old['environment']['date']} (git {old['environment']['git']}) -> "
             f"{new['environment']['date']} (git {new['environment']['git']}):"]
    for tool, now in new["summary"].items():
        then = old["summary"].get(tool)
        if not then:
            continue
        for set_name in ("clean", "damaged", "receipts"):
            a, b = then[set_name], now[set_name]
            cells = [f"{k} {_pct(a[k])} -> {_pct(b[k])}" for k in ("cer", "wer", "bow")]
            if a["cpu_s_per_page"] and b["cpu_s_per_page"]:
                cells.append(f"CPU-s/page {a['cpu_s_per_page']:.2f} -> {b['cpu_s_per_page']:.2f}")
            lines.append(f"  {tool:<9} {set_name:<9} ({a['pages']} -> {b['pages']} pages) " + ", ".join(cells))
    for run in (old, new):
        s = run["summary"]
        if "ocrflow" in s and "ocrmypdf" in s and s["ocrmypdf"]["clean"]["cpu_s_per_page"]:
            ratio = s["ocrflow"]["clean"]["cpu_s_per_page"] / s["ocrmypdf"]["clean"]["cpu_s_per_page"]
            lines.append(f"  {run['environment']['date']}: ocrflow / OCRmyPDF clean-set CPU {ratio:.2f}x")
    return "\n".join(lines)


# -------------------------------------------------------------------------------------------------- main

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"fewer kinds of damage ({', '.join(QUICK_DAMAGES)}), 3 pages each")
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=TOOLS)
    parser.add_argument("--per-kind", type=int, metavar="N", help="pages per kind of damage (default 6; quick 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the damaged copies")
    parser.add_argument("--manifest", type=Path, nargs="+", default=MANIFESTS, metavar="JSON")
    parser.add_argument("--timeout", type=float, default=7200, metavar="S", help="limit of one tool on one set")
    parser.add_argument("--results", type=Path, default=BENCH_DIR / "results" / "real", metavar="DIR")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--write-baseline", action="store_true",
                        help=f"record this run's clean-set CPU per page as the baseline ({BASELINE.name})")
    parser.add_argument("--compare", type=Path, nargs="+", metavar="JSON",
                        help="only compare: OLD.json [NEW.json, default DIR/latest.json]")
    parser.add_argument("--report", type=Path, metavar="JSON", help="only print the tables of a run's JSON again")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    results: Path = args.results.resolve()
    if args.compare:
        old, new = (args.compare + [results / "latest.json"])[:2]
        print(comparison(json.loads(old.read_text()), json.loads(new.read_text())))
        return 0
    if args.report:
        saved = json.loads(args.report.read_text())
        runs = [SetRun(**r) for r in saved["runs"]]
        found = [Check(**c) for c in saved["checks"]]
        print(tables(runs, saved["summary"], found, saved["settings"]["tools"]))
        return 0
    tesseract, ocrmypdf = ocrmypdf_programs()
    if "ocrmypdf" in args.tools and not (tesseract and ocrmypdf):
        return missing_ocrmypdf("real")
    become_subreaper()
    results.mkdir(parents=True, exist_ok=True)
    env = tool_environment(results, tesseract) | {"OMP_NUM_THREADS": "1"}  # onnxruntime gets 1 thread itself
    tools = Tools(sys.executable, ocrmypdf, 1, Path(env.get("TESSDATA_PREFIX", "")), env)
    info = environment(tools, tesseract) | {"rapidocr": _version("rapidocr"), "onnxruntime": _version("onnxruntime")}

    pages = load_pages(args.manifest)
    damages = [d for d in DAMAGES if not args.quick or d.name in QUICK_DAMAGES]
    per_kind = args.per_kind or (3 if args.quick else 6)
    clean, damaged = prepare_inputs(pages, damages, per_kind, args.seed, results / "inputs")
    print(f"{len(pages)} real pages ({sum(p.receipt for p in pages)} receipts), {len(damaged)} damaged copies "
          f"({len(damages)} kinds, up to {per_kind} pages each, seed {args.seed}); tools: {', '.join(args.tools)}")
    print(f"OCRmyPDF {info['ocrmypdf']} ({info['ocrmypdf_tesseract']}), ocrflow {info['ocrflow']} (tesseract "
          f"{info['ocrflow_tesseract']}), RapidOCR {info['rapidocr']} (onnxruntime {info['onnxruntime']}); "
          f"one page at a time, one thread each, OMP_THREAD_LIMIT=1\n", flush=True)

    runs = []
    for set_name, jobs in (("clean", clean), ("damaged", damaged)):
        for tool in args.tools:
            print(f"{tool} on the {set_name} set ({len(jobs)} pages) ...", end=" ", flush=True)
            run = run_set(tool, set_name, jobs, tools, results, args.timeout)
            print(f"{run.wall_s:.0f} s" if run.ok else "FAILED", flush=True)
            runs.append(run)

    summary = summarise(runs)
    baseline = json.loads(BASELINE.read_text()) if BASELINE.is_file() else None
    found = checks(summary, runs, baseline)
    print(tables(runs, summary, found, args.tools))

    report = {
        "environment": info,
        "settings": {"quick": args.quick, "tools": args.tools, "seed": args.seed, "per_kind": per_kind,
                     "damages": [d.name for d in damages], "pages": [p.name for p in pages]},
        "summary": summary,
        "checks": [c.__dict__ for c in found],
        "runs": [{k: v for k, v in r.__dict__.items()} for r in runs],
    }
    previous = save_report(results, report)
    if previous:
        print("\nChanges since the previous run, " + comparison(previous, report))
    if args.write_baseline:
        write_baseline(runs, info)
    if not all(r.ok for r in runs):
        return 1
    return 1 if args.strict and any(c.met is False for c in found) else 0


def write_baseline(runs: list[SetRun], info: dict) -> None:
    cpu = {r.tool: {p["page"]: p["cpu_s"] for p in r.pages or []} for r in runs if r.set == "clean" and r.ok}
    if "ocrflow" not in cpu:
        print("no baseline written: ocrflow did not run on the clean set")
        return
    baseline = {"date": info["date"], "git": info["git"], "host_cpus": info["cpu_count"],
                "note": "clean-set CPU-s per page (real_worker.py, warm), the figure later runs are held to",
                "ocrflow_cpu_s": cpu["ocrflow"], "ocrmypdf_cpu_s": cpu.get("ocrmypdf", {})}
    BASELINE.write_text(json.dumps(baseline, indent=1) + "\n")
    print(f"baseline written: {BASELINE} (mean {statistics.fmean(cpu['ocrflow'].values()):.2f} CPU-s per page)")


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


if __name__ == "__main__":
    sys.exit(main())
