"""Benchmark of the PDF report at the size of England (issue 4, item 7). Not a test.

    python bench/report.py [--database sqlite|postgresql] [--responses 50000] [--repeat 3]
                           [--postgresql-url URL] [--postgresql-database NAME] [--profile]

Builds the dataset of ``bench/stats.py`` (its own builder, imported: 50,000 placement-quality
responses at 1,000 practices under 100 training hubs in the 42 ICBs), then times the England
report by ICB two ways:

* end to end: ``build_summary`` + ``report_from_summary`` (``load_report_inputs``) +
  ``render_report`` (``render_report_pdf``), the path the web and the command line take, which
  renders the HTML and then runs WeasyPrint in a bounded child process
  (``reports.pdf_sandbox``), forked by the rendering server this process starts once;
* WeasyPrint alone: ``HTML(string=html, base_url=<assets>, url_fetcher=AssetsOnlyFetcher())
  .write_pdf(**PDF_OPTIONS)`` in this process, on the identical HTML, with the base URL, fetcher
  and options of the child.

Each round times both, after one warm-up round; the figures are the medians of ``--repeat``
rounds and the ratio is of those medians, from the same run, since shared machines are noisy.
The warm-up round is the first report of a fresh process (the rendering server starts during
it) and is printed apart. Besides wall seconds it prints CPU seconds (this process, its
finished children and the rendering children, which are the server's), which a busy machine
disturbs less, the steps of the end-to-end path, a one-line document through the bounded
child, and the start of the rendering server. ``--profile`` adds cProfiles of one more
end-to-end run: of this process, where the child shows as the wait in ``_exchange``, then of
WeasyPrint rendering the same HTML in a fresh interpreter, its imports included. Targets, in
wall time: at most 10 s end to end and at most 1.3x WeasyPrint alone.

SQLite goes into a temporary file; PostgreSQL into its own database, ``bench_report`` or
``--postgresql-database`` (dropped and recreated on every run), on the server of
``--postgresql-url``.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import itertools
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import stats  # bench/stats.py: this script's folder is first on sys.path
import weasyprint
from sqlmodel import Session

from reports.pdf_sandbox import (
    ASSETS,
    PDF_OPTIONS,
    AssetsOnlyFetcher,
    html_to_pdf_bounded,
    prepare_renderer,
    renderer_cpu_seconds,
    stop_renderer,
)
from survey_app import __version__
from survey_app.db import create_db_engine
from survey_app.reporting.report import (
    build_report,
    build_summary,
    render_report,
    report_from_summary,
)
from survey_app.reporting.scope import report_wave
from survey_app.services.surveys import require_survey

BY = "icb"
BENCH_DATABASE = "bench_report"
#: The targets of the issue: seconds end to end, and times WeasyPrint alone.
TARGET_SECONDS = 10.0
TARGET_RATIO = 1.3
PROFILE_LINES = 15
TINY_HTML = "<!doctype html><html lang=en><title>t</title><p>t</p></html>"


#: The timed steps of a round, in order: the end-to-end path, then the same HTML again and
#: WeasyPrint alone on it.
STEPS = ("summary", "inputs", "pdf", "html", "alone")
END_TO_END = ("summary", "inputs", "pdf")


def clock() -> tuple[float, float]:
    """Wall seconds, and CPU seconds of this process, its finished children and the finished
    rendering children (the rendering server's, which RUSAGE_CHILDREN does not count)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = time.process_time() + children.ru_utime + children.ru_stime + renderer_cpu_seconds()
    return time.perf_counter(), cpu


@dataclass(slots=True)
class Round:
    """Wall and CPU seconds of one round, by step of ``STEPS`` and "end to end"."""

    wall: dict[str, float]
    cpu: dict[str, float]


@dataclass(slots=True)
class Result:
    rounds: list[Round] = field(default_factory=list)
    first: Round | None = None
    startup: list[Round] = field(default_factory=list)
    pages: int | None = None
    pages_alone: int | None = None
    pdf_bytes: int = 0
    html_chars: int = 0
    html_digests: set[str] = field(default_factory=set)


def one_round(session: Session, generated_at: datetime, result: Result) -> Round:
    """Time the end-to-end path, then WeasyPrint alone on the same HTML, once each."""
    survey = require_survey(session, stats.SURVEY)
    wave = report_wave(session, survey)
    marks = [clock()]
    summarised = build_summary(session, survey, None, by=BY, wave=wave, min_n=stats.MIN_N)
    marks.append(clock())
    report = report_from_summary(session, summarised)
    marks.append(clock())
    pdf = render_report(report, generated_at, __version__, fmt="pdf")
    marks.append(clock())
    # The HTML the PDF was made from: the same report rendered again, as HTML.
    html = render_report(report, generated_at, __version__, fmt="html")
    marks.append(clock())
    alone = weasyprint.HTML(
        string=html, base_url=ASSETS.as_uri() + "/", url_fetcher=AssetsOnlyFetcher()
    ).write_pdf(**PDF_OPTIONS)
    marks.append(clock())

    result.pages, result.pages_alone = page_count(pdf), page_count(alone or b"")
    result.pdf_bytes, result.html_chars = len(pdf), len(html)
    result.html_digests.add(hashlib.sha256(html.encode()).hexdigest())
    return Round(_steps(marks, 0), _steps(marks, 1))


def _steps(marks: list[tuple[float, float]], index: int) -> dict[str, float]:
    seconds = {
        step: after[index] - before[index]
        for step, (before, after) in zip(STEPS, itertools.pairwise(marks), strict=True)
    }
    seconds["end to end"] = sum(seconds[step] for step in END_TO_END)
    # What the child costs beyond the HTML: its start-up, imports and WeasyPrint.
    seconds["child"] = seconds["pdf"] - seconds["html"]
    return seconds


def child_startup() -> Round:
    """A one-line document through a bounded child of a running rendering server (fork,
    limits, pipes, no layout to speak of), and the start of a fresh server: its wall time
    until it forks a child for the same document, the child included. The server's own CPU is
    not counted (it is reaped only when it stops)."""
    prepare_renderer()
    html_to_pdf_bounded(TINY_HTML)  # the server is up: time the child alone
    before = clock()
    html_to_pdf_bounded(TINY_HTML)
    after = clock()
    stop_renderer()
    started = time.perf_counter()
    html_to_pdf_bounded(TINY_HTML)
    server = time.perf_counter() - started
    return Round(
        {"startup": after[0] - before[0], "server": server}, {"startup": after[1] - before[1]}
    )


def page_count(pdf: bytes) -> int | None:
    """Pages of a PDF, or None without pypdf (a development dependency)."""
    try:
        from pypdf import PdfReader
    except ImportError:
        return None
    return len(PdfReader(io.BytesIO(pdf)).pages)


def measure(url: str, repeat: int) -> Result:
    """One untimed warm-up round, then ``repeat`` timed rounds, each in a fresh session."""
    engine = create_db_engine(url)
    generated_at = datetime.now(UTC)
    result = Result()
    for index in range(repeat + 1):
        with Session(engine, expire_on_commit=False) as session:
            timed = one_round(session, generated_at, result)
        if index:
            result.rounds.append(timed)
        else:
            result.first = timed
    engine.dispose()
    result.startup = [child_startup() for _ in range(repeat)]
    return result


def profile(url: str) -> tuple[str, str]:
    """The top of a cProfile (cumulative time) of one end-to-end run in this process, and of
    the child process rendering the same HTML (its imports included)."""
    engine = create_db_engine(url)
    generated_at = datetime.now(UTC)
    profiler = cProfile.Profile()
    with Session(engine, expire_on_commit=False) as session:
        survey = require_survey(session, stats.SURVEY)
        wave = report_wave(session, survey)
        profiler.enable()
        report = build_report(session, survey, None, by=BY, wave=wave, min_n=stats.MIN_N)
        render_report(report, generated_at, __version__, fmt="pdf")
        profiler.disable()
    engine.dispose()
    html = render_report(report, generated_at, __version__, fmt="html")
    return _top(pstats.Stats(profiler)), _top(profile_child(html))


def profile_child(html: str) -> pstats.Stats:
    """What a rendering child runs (``html_to_pdf``), under cProfile in a fresh interpreter,
    so the imports the rendering server saves each child show too."""
    with tempfile.TemporaryDirectory(prefix="bench-report-") as directory:
        path = Path(directory) / "child.prof"
        code = (
            "import cProfile, sys; html = sys.stdin.read(); "
            "cProfile.run('from reports.pdf_sandbox import html_to_pdf; html_to_pdf(html)', "
            "sys.argv[1])"
        )
        subprocess.run(
            [sys.executable, "-c", code, str(path)],
            input=html.encode("utf-8"),
            capture_output=True,
            check=True,
        )
        return pstats.Stats(str(path))


def _top(profile: pstats.Stats) -> str:
    out = io.StringIO()
    profile.stream = out
    profile.sort_stats("cumulative").print_stats(PROFILE_LINES)
    return out.getvalue()


def report(name: str, counted: dict[str, int], result: Result, repeat: int) -> None:
    def median(rounds: list[Round], kind: str, key: str) -> float:
        return statistics.median(getattr(r, kind)[key] for r in rounds)

    rounds = result.rounds
    wall_alone, cpu_alone = median(rounds, "wall", "alone"), median(rounds, "cpu", "alone")

    def row(label: str, rounds: list[Round], key: str) -> None:
        wall, cpu = median(rounds, "wall", key), median(rounds, "cpu", key)
        print(
            f"  {label:<38}{wall:>8.3f}{wall / wall_alone:>7.2f}{cpu:>8.3f}{cpu / cpu_alone:>7.2f}"
        )

    print(
        f"\n{name}: {counted['response']:,} responses, {counted['answer']:,} answers, "
        f"{counted['organisation']:,} organisations; England report by ICB; "
        f"median of {repeat} rounds after one warm-up"
    )
    print(f"  {'case':<38}{'seconds':>8}{'ratio':>7}{'CPU s':>8}{'ratio':>7}")
    row("end to end", rounds, "end to end")
    row("WeasyPrint alone (in-process)", rounds, "alone")
    print("  steps of end to end (medians of each, so they need not add up):")
    row("  build_summary", rounds, "summary")
    row("  report_from_summary", rounds, "inputs")
    row("  render_report, pdf", rounds, "pdf")
    row("    its HTML (render_report, html)", rounds, "html")
    row("    its child process (the rest)", rounds, "child")
    row("a one-line document, bounded child", result.startup, "startup")
    server = statistics.median(r.wall["server"] for r in result.startup)
    print(f"  {'rendering server start (wall, once)':<38}{server:>8.3f}")
    if result.first is not None:
        wall = result.first.wall
        print(
            "  first report of this process (the warm-up round; the rendering server starts "
            f"during it): end to end {wall['end to end']:.2f} s, alone {wall['alone']:.2f} s, "
            f"ratio {wall['end to end'] / wall['alone']:.2f}"
        )
    ratios = [r.wall["end to end"] / r.wall["alone"] for r in rounds]
    print(
        "  per round, end to end / alone seconds (ratio): "
        + ", ".join(
            f"{r.wall['end to end']:.2f}/{r.wall['alone']:.2f} ({ratio:.2f})"
            for r, ratio in zip(rounds, ratios, strict=True)
        )
        + f"; median ratio {statistics.median(ratios):.2f}"
    )
    cpu_ratios = [r.cpu["end to end"] / r.cpu["alone"] for r in rounds]
    print(
        "  per round, CPU ratio: "
        + ", ".join(f"{ratio:.2f}" for ratio in cpu_ratios)
        + f"; median {statistics.median(cpu_ratios):.2f}"
    )
    print(
        "  CPU s: this process, its finished children and the rendering children (user + "
        "system), not a database server's; less sensitive than wall time to a busy machine."
    )
    pages = "unknown (pypdf not installed)" if result.pages is None else str(result.pages)
    print(
        f"  PDF: {pages} pages, {result.pdf_bytes / 1024:.0f} KiB, "
        f"from {result.html_chars:,} characters of HTML"
    )
    if result.pages != result.pages_alone:
        print(f"  WARNING: WeasyPrint alone made {result.pages_alone} pages")
    if len(result.html_digests) != 1:
        print("  WARNING: the HTML differed between rounds")
    end_to_end = median(rounds, "wall", "end to end")
    ratio = end_to_end / wall_alone
    ok = end_to_end <= TARGET_SECONDS and ratio <= TARGET_RATIO
    print(
        f"  Targets (<= {TARGET_SECONDS:g} s end to end, <= {TARGET_RATIO:g}x WeasyPrint "
        f"alone, wall time): {'met' if ok else 'NOT MET'}"
    )


def database_url(name: str, directory: str, postgresql_url: str, database: str) -> str:
    if name == "sqlite":
        return f"sqlite:///{Path(directory) / 'bench.sqlite'}"
    # fresh_postgresql names the database after its module's BENCH_DATABASE; use our own, so
    # that this benchmark and bench/stats.py can run side by side.
    stats.BENCH_DATABASE = database
    return stats.fresh_postgresql(postgresql_url)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--responses", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--postgresql-url",
        default=os.environ.get(
            "BENCH_POSTGRESQL_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a server to create the bench_report database on (default: $BENCH_POSTGRESQL_URL "
        "or postgresql://postgres@127.0.0.1:5432/postgres)",
    )
    parser.add_argument(
        "--postgresql-database",
        default=BENCH_DATABASE,
        help=f"the database to drop and recreate on that server (default: {BENCH_DATABASE})",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help=f"also print the top {PROFILE_LINES} of a cProfile of one end-to-end run",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    stats.print_machine(args.postgresql_url if args.database == "postgresql" else None)
    affinity: Any = getattr(os, "sched_getaffinity", None)
    nproc = len(affinity(0)) if affinity else os.cpu_count()
    print(f"nproc {nproc}, WeasyPrint {weasyprint.__version__}, {sys.executable}")
    with tempfile.TemporaryDirectory(prefix="bench-report-") as directory:
        url = database_url(args.database, directory, args.postgresql_url, args.postgresql_database)
        start = time.perf_counter()
        counted = stats.build_dataset(url, args.responses)
        print(f"\n{args.database}: dataset built in {time.perf_counter() - start:.0f} s")
        report(args.database, counted, measure(url, args.repeat), args.repeat)
        if args.profile:
            parent, child = profile(url)
            print(f"\ncProfile of one end-to-end run (top {PROFILE_LINES}, cumulative):")
            print(parent)
            print(f"cProfile of its child process (top {PROFILE_LINES}, cumulative):")
            print(child)
    # Misses are reported above, not through the exit status: a benchmark is not a test.
    return 0


if __name__ == "__main__":
    sys.exit(main())
