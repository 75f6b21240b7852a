"""Benchmark of the summary statistics at the size of England (issue 3, item 6). Not a test.

    python bench/stats.py [--database sqlite|postgresql|both] [--responses 50000] [--repeat 5]

Builds 50,000 placement-quality responses to 20 Likert items (about 1,000,000 answers, a few
missing) at 1,000 practices under about 100 training hubs in the 42 ICBs, then times
``survey_app.reporting.report.build_summary`` (``load_summary``) for all of England, by ICB
and by practice, against the floor: the bare ``SELECT question_id, value, count(*) FROM answer
GROUP BY question_id, value`` over the same answers. Each figure is the median of ``--repeat``
runs, the floor and the summaries taking turns. Shared machines are noisy, so the targets are
ratios to the floor measured in the same run (at most 3x), besides at most 1 s per summary and a
peak under 300 MB.

The responses are stored as the application stores them: each with its answers and its Likert
vector (``likert_vector_columns``), which the summaries read; the floor reads the answers.

SQLite goes into a temporary file; PostgreSQL into its own database, ``bench_stats`` or
``--postgresql-database`` (dropped and recreated on every run), on the server of
``--postgresql-url``. The timings run in a fresh child process, so its peak resident set is the
summaries' and not the dataset builder's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session

from survey_app.db import create_db_engine, create_schema
from survey_app.definitions import shipped_definition_paths
from survey_app.models import Answer, Organisation, OrgLevel, QuestionType, Response
from survey_app.models.responses import likert_vector_columns
from survey_app.services.definitions import load_definition_files
from survey_app.services.organisations import OrganisationRow, import_organisations, load_reference
from survey_app.services.surveys import require_survey

SURVEY = "placement-quality"
ITEMS = 20
HUBS = 100
PCNS_PER_HUB = 3
PRACTICES = 1000
MIN_N = 5
BENCH_DATABASE = "bench_stats"
#: The targets of the issue: seconds per summary, times the floor, peak megabytes.
TARGET_SECONDS = 1.0
TARGET_RATIO = 3.0
TARGET_PEAK_MB = 300
#: Responses inserted per round trip batch, to keep the builder's memory flat.
CHUNK = 5000
#: Every response is dated the same day: the summaries never read the date.
SUBMITTED_AT = datetime(2026, 3, 1, tzinfo=UTC)

#: (label, the ``by`` of load_summary)
CASES: tuple[tuple[str, str | None], ...] = (
    ("England", None),
    ("by ICB", "icb"),
    ("by practice", "practice"),
)
FLOOR_SQL = "SELECT question_id, value, count(*) FROM answer GROUP BY question_id, value"


# --- the dataset ---------------------------------------------------------------------------------


def build_dataset(url: str, responses: int, seed: int = 6) -> dict[str, int]:
    """Fill an empty database at ``url`` and say how many rows of each kind it holds."""
    engine = create_db_engine(url)
    create_schema(engine)
    rng = np.random.default_rng(seed)
    with Session(engine, expire_on_commit=False) as session:
        load_reference(session)
        load_definition_files(session, shipped_definition_paths())
        import_organisations(session, _organisation_rows(session, rng), "benchmark")
        survey = require_survey(session, SURVEY)
        all_likert = [q for q in survey.questions if q.type == QuestionType.LIKERT]
        practices = _practices(session)
        _insert_responses(
            session,
            survey.id,
            survey.current_wave.id,
            all_likert[:ITEMS],
            {q.id for q in all_likert},
            practices,
            responses,
            rng,
        )
        session.commit()
    _analyse(engine)
    with engine.connect() as connection:
        counted = {
            name: connection.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar_one()
            for name in ("organisation", "response", "answer")
        }
    engine.dispose()
    return counted


def _organisation_rows(session: Session, rng: np.random.Generator) -> list[OrganisationRow]:
    """About 100 hubs spread over the 42 ICBs, 3 PCNs per hub, 1,000 practices over the PCNs."""
    icbs = session.execute(
        sa.select(Organisation.code).where(Organisation.level == OrgLevel.ICB).order_by("code")
    ).scalars()
    icb_codes = list(icbs)
    rows: list[OrganisationRow] = []

    def add(code: str, name: str, level: OrgLevel, parent: str) -> None:
        rows.append(OrganisationRow(code, name, level, parent, row_number=len(rows) + 1))

    pcn_codes = []
    for hub in range(HUBS):
        hub_code = f"BENCH-H{hub:03d}"
        add(hub_code, f"Training hub {hub}", OrgLevel.HUB, icb_codes[hub % len(icb_codes)])
        for pcn in range(PCNS_PER_HUB):
            pcn_codes.append(f"BENCH-N{hub:03d}{pcn}")
            add(pcn_codes[-1], f"PCN {hub}.{pcn}", OrgLevel.PCN, hub_code)
    parents = rng.integers(len(pcn_codes), size=PRACTICES)
    for practice, parent in enumerate(parents):
        add(f"BENCH-P{practice:04d}", f"Practice {practice}", OrgLevel.PRACTICE, pcn_codes[parent])
    return rows


@dataclass(frozen=True, slots=True)
class _Practices:
    ids: np.ndarray
    #: Index of each practice's ICB and hub (0-based, for the effects arrays).
    icb: np.ndarray
    hub: np.ndarray


def _practices(session: Session) -> _Practices:
    rows = session.execute(
        sa.select(Organisation.id, Organisation.icb_id, Organisation.hub_id)
        .where(Organisation.level == OrgLevel.PRACTICE)
        .order_by(Organisation.id)
    ).all()
    ids, icbs, hubs = (np.array(column) for column in zip(*rows, strict=True))
    return _Practices(
        ids, np.unique(icbs, return_inverse=True)[1], np.unique(hubs, return_inverse=True)[1]
    )


def _insert_responses(
    session: Session,
    survey_id: int,
    wave_id: int,
    likert: Sequence[Any],
    survey_likert_ids: set[int],
    practices: _Practices,
    count: int,
    rng: np.random.Generator,
) -> None:
    """``count`` responses with realistic ratings, inserted in chunks with Core executemany.

    A rating is a theme mean, plus ICB, hub and practice effects (so groups really differ, a
    few practices clearly), a respondent's leniency and their view of each theme, plus noise,
    rounded onto 1-5. About 4% of answers are skipped and 3% of respondents stop part-way.
    Each response gets its Likert vector from ``likert_vector_columns``, as a submission does
    (the survey's Likert questions beyond the first ``ITEMS`` stay unanswered).
    """
    themes = sorted({q.theme_id for q in likert})
    theme_of = np.array([themes.index(q.theme_id) for q in likert])
    theme_mean = rng.uniform(3.5, 4.2, size=len(themes))
    item_offset = rng.normal(0, 0.15, size=len(likert))
    icb_effect = rng.normal(0, 0.12, size=practices.icb.max() + 1)
    hub_effect = rng.normal(0, 0.15, size=practices.hub.max() + 1)
    practice_effect = rng.normal(0, 0.25, size=len(practices.ids))
    practice_effect[rng.random(len(practices.ids)) < 0.02] -= 1.0
    # Practices differ in size: a lognormal share, so some have fewer than 5 responses.
    weights = rng.lognormal(0, 0.9, size=len(practices.ids))
    practice_of = rng.choice(len(practices.ids), size=count, p=weights / weights.sum())
    question_ids = np.array([q.id for q in likert])
    response_t = Response.__table__  # type: ignore[attr-defined]
    answer_t = Answer.__table__  # type: ignore[attr-defined]
    for start in range(0, count, CHUNK):
        chunk = practice_of[start : start + CHUNK]
        n = len(chunk)
        raw = (
            theme_mean[theme_of]
            + item_offset
            + (
                icb_effect[practices.icb[chunk]]
                + hub_effect[practices.hub[chunk]]
                + practice_effect[chunk]
                + rng.normal(0, 0.55, size=n)
            )[:, None]
            + rng.normal(0, 0.35, size=(n, len(themes)))[:, theme_of]
            + rng.normal(0, 0.7, size=(n, len(likert)))
        )
        values = np.clip(np.rint(raw), 1, 5).astype(np.int64)
        answered = rng.random((n, len(likert))) >= 0.04
        stops = np.where(rng.random(n) < 0.03, rng.integers(1, len(likert), size=n), len(likert))
        answered &= np.arange(len(likert))[None, :] < stops[:, None]
        given = [
            dict(zip(question_ids[row].tolist(), values[index, row].tolist(), strict=True))
            for index, row in enumerate(answered)
        ]
        ids = (
            session.execute(
                sa.insert(response_t).returning(response_t.c.id, sort_by_parameter_order=True),
                [
                    {
                        "survey_id": survey_id,
                        "wave_id": wave_id,
                        "organisation_id": int(practices.ids[practice]),
                        "submitted_at": SUBMITTED_AT,
                        "on_record": False,
                    }
                    | likert_vector_columns(survey_likert_ids, answers)
                    for practice, answers in zip(chunk, given, strict=True)
                ],
            )
            .scalars()
            .all()
        )
        rows, columns = np.nonzero(answered)
        response_ids = np.array(ids)[rows]
        session.execute(
            sa.insert(answer_t),
            [
                {"response_id": r, "question_id": q, "value": v, "option_id": None, "text": None}
                for r, q, v in zip(
                    response_ids.tolist(),
                    question_ids[columns].tolist(),
                    values[rows, columns].tolist(),
                    strict=True,
                )
            ],
        )


def _analyse(engine: sa.Engine) -> None:
    """Fresh planner statistics, as a database that has been running a while would have."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")


# --- timing ---------------------------------------------------------------------------------------


def median_seconds(runs: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """The median wall time of ``repeat`` calls of each of ``runs``, after one untimed warm-up
    call of each.

    The calls are interleaved, a round of every run at a time, so that the floor and each
    summary see the same load from whatever else shares the machine: their ratio is then
    fair even when that load comes and goes.
    """
    for run in runs.values():
        run()
    times: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(repeat):
        for label, run in runs.items():
            start = time.perf_counter()
            run()
            times[label].append(time.perf_counter() - start)
    return {label: statistics.median(series) for label, series in times.items()}


def measure(url: str, repeat: int) -> dict[str, Any]:
    """Time the floor and each summary, then trace the Python heap of each summary once.

    Returns seconds and tracemalloc peaks by case, and the process's resident set before the
    first summary and at its peak (``ru_maxrss``), in MB.
    """
    from survey_app.reporting.report import build_summary
    from survey_app.reporting.scope import report_wave

    engine = create_db_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        survey = require_survey(session, SURVEY)
        wave = report_wave(session, survey)
        connection = session.connection()
        rss_before = _max_rss_mb()
        runs: dict[str, Callable[[], object]] = {
            "floor": lambda: connection.exec_driver_sql(FLOOR_SQL).all()
        }
        for label, by in CASES:
            runs[label] = lambda by=by: build_summary(
                session, survey, None, by=by, wave=wave, min_n=MIN_N
            )
        seconds = median_seconds(runs, repeat)
        rss_peak = _max_rss_mb()
        traced = {}
        for label, by in CASES:
            tracemalloc.start()
            build_summary(session, survey, None, by=by, wave=wave, min_n=MIN_N)
            traced[label] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
    engine.dispose()
    return {
        "seconds": seconds,
        "traced_mb": traced,
        "rss_before_mb": rss_before,
        "rss_peak_mb": rss_peak,
    }


def _max_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(name: str, counted: dict[str, int], result: dict[str, Any], repeat: int) -> bool:
    """Print one database's table; return whether every target holds."""
    seconds = result["seconds"]
    floor = seconds["floor"]
    print(
        f"\n{name}: {counted['response']:,} responses, {counted['answer']:,} answers, "
        f"{counted['organisation']:,} organisations; median of {repeat} runs"
    )
    print(f"  {'case':<14}{'seconds':>9}{'x floor':>9}{'heap MB':>9}")
    print(f"  {'floor':<14}{floor:>9.3f}{1:>9.2f}{'':>9}")
    ok = True
    for label, _ in CASES:
        ratio = seconds[label] / floor
        traced = result["traced_mb"][label]
        ok &= seconds[label] <= TARGET_SECONDS and ratio <= TARGET_RATIO
        print(f"  {label:<14}{seconds[label]:>9.3f}{ratio:>9.2f}{traced:>9.1f}")
    peak = result["rss_peak_mb"]
    ok &= peak < TARGET_PEAK_MB
    print(
        f"  heap MB: tracemalloc peak of one summary (Python allocations only).\n"
        f"  Resident set of the timing process: {result['rss_before_mb']:.0f} MB before the "
        f"first query, {peak:.0f} MB at its peak "
        f"(ru_maxrss; +{peak - result['rss_before_mb']:.0f} MB)."
    )
    print(
        f"  Targets (<= {TARGET_SECONDS:g} s and <= {TARGET_RATIO:g}x floor each, peak < "
        f"{TARGET_PEAK_MB} MB): {'met' if ok else 'NOT MET'}"
    )
    return ok


# --- the machine and the databases ----------------------------------------------------------


def print_machine(postgresql_url: str | None) -> None:
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    print(f"Machine: {os.cpu_count()} CPUs ({model}), {platform.system()} {platform.release()}")
    print(
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"numpy {np.__version__}"
    )
    if postgresql_url:
        try:
            with create_db_engine(postgresql_url).connect() as connection:
                version = connection.exec_driver_sql("SHOW server_version").scalar_one()
            print(f"PostgreSQL {version}")
        except sa.exc.OperationalError as error:
            print(f"PostgreSQL: not reachable ({error.orig})")


def fresh_postgresql(server_url: str, database: str | None = None) -> str:
    """Drop and recreate `database` (the benchmark's own, ``BENCH_DATABASE``, by default) on
    the server of `server_url`; return its URL."""
    database = database or BENCH_DATABASE
    with (
        create_db_engine(server_url)
        .connect()
        .execution_options(isolation_level="AUTOCOMMIT") as connection
    ):
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}"')
        connection.exec_driver_sql(f'CREATE DATABASE "{database}"')
    return server_url.rstrip("/").rsplit("/", 1)[0] + f"/{database}"


def run_measurement(url: str, repeat: int) -> dict[str, Any]:
    """``measure`` in a fresh Python process, so its peak memory is the summaries' alone."""
    completed = subprocess.run(
        [sys.executable, __file__, "--measure", url, "--repeat", str(repeat)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(completed.stdout)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--responses", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--postgresql-url",
        default=os.environ.get(
            "BENCH_POSTGRESQL_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a server to create the bench_stats database on (default: $BENCH_POSTGRESQL_URL or "
        "postgresql://postgres@127.0.0.1:5432/postgres)",
    )
    parser.add_argument(
        "--postgresql-database",
        default=BENCH_DATABASE,
        help=f"the database to drop and recreate on that server (default: {BENCH_DATABASE})",
    )
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file and say where")
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.repeat)))
        return 0

    databases = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    print_machine(args.postgresql_url if "postgresql" in databases else None)
    with tempfile.TemporaryDirectory(prefix="bench-stats-") as directory:
        for name in databases:
            if name == "sqlite":
                path = Path(directory) / "bench.sqlite"
                url = f"sqlite:///{path}"
            else:
                url = fresh_postgresql(args.postgresql_url, args.postgresql_database)
            start = time.perf_counter()
            counted = build_dataset(url, args.responses)
            print(f"\n{name}: dataset built in {time.perf_counter() - start:.0f} s")
            report(name, counted, run_measurement(url, args.repeat), args.repeat)
            if name == "sqlite" and args.keep:
                kept = Path(tempfile.gettempdir()) / "bench-stats.sqlite"
                path.replace(kept)
                print(f"  kept at {kept}")
    # Misses are reported above, not through the exit status: a benchmark is not a test.
    return 0


if __name__ == "__main__":
    sys.exit(main())
