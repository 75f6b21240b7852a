"""Load benchmark: many respondents at once against gunicorn and PostgreSQL. Not a test.

    python bench/load.py [--database-url postgresql://postgres@127.0.0.1:5432/h_load]
                         [--submissions 10000] [--connections 32] [--workers 4]
                         [--restart-postgres] [--restart-command "pg_ctlcluster 15 main restart"]

It empties the database it is given (everything in it is dropped), sets it up as an operator
would (`survey-app db init`, `load-reference`, `orgs import`, `surveys load`, `surveys open
placement-quality`) and starts gunicorn with gunicorn.conf.py and `--workers` processes on a free
port of 127.0.0.1. Then `--connections` client threads play respondents: each GETs the open
link's form, reads its CSRF token and hidden fields, and POSTs a complete valid answer whose
free-text comment carries a unique marker. A submission is acknowledged by the redirect to the
thank-you page. A 503 or a broken connection is retried as a person would: after the
Retry-After wait, with the same page (same submission key), until acknowledged.

Afterwards the stored responses are matched to the acknowledged ones by marker: lost
(acknowledged, not stored), duplicated (stored more than once), incomplete (missing answers)
and stored-but-never-acknowledged must all be 0.

The floor is a bare endpoint of the same server, `POST /_bench/insert-one`, which inserts one row
into a table of this benchmark (`bench.load_probe`, outside the application's schema) through
the application's own engine and session, driven by the same client threads. The route exists
only in the WSGI application this script serves (`bench.load_server:probe_app()`); `wsgi.py`, which
production serves, never has it. The ratio is submissions per second (each a GET and a POST)
over floor inserts per second; target at least 0.5, with 0 lost and 0 duplicated.

`--restart-postgres` restarts PostgreSQL once the run is 40% acknowledged, to show that nothing
acknowledged is lost and nothing is stored twice across a restart; the 503s it causes are
counted. The server is shared, so run that mode rarely and with fewer submissions.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import platform
import random
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
from load_server import (
    PROBE_PATH,
    PROBE_TABLE,
    PROJECT_ROOT,
    SURVEY,
    Restart,
    Server,
    default_restart_command,
    reset_database,
    set_up_survey,
    start_gunicorn,
)

FORM_PATH = f"/s/{SURVEY}"
MARKER_PREFIX = "load-test "
#: The free-text question that carries each submission's marker.
MARKER_QUESTION = "worked_well"
#: A respondent gives up on one submission after this long without an acknowledgement.
GIVE_UP_SECONDS = 180
#: The longest a client waits before trying again, whatever Retry-After says.
MAX_RETRY_WAIT = 5.0
#: The targets of the issue.
TARGET_RATIO = 0.5


# --- the respondents ----------------------------------------------------------------------


class FormReader(HTMLParser):
    """The fields of the form page: radio groups and selects with their values, textareas."""

    def __init__(self) -> None:
        super().__init__()
        self.choices: dict[str, list[str]] = {}
        self.selects: list[str] = []
        self.textareas: list[str] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        name = attributes.get("name")
        if tag == "input" and attributes.get("type") == "radio" and name:
            self.choices.setdefault(name, []).append(attributes.get("value") or "")
        elif tag == "select" and name:
            self._select = name
            self.selects.append(name)
            self.choices[name] = []
        elif tag == "option" and self._select and attributes.get("value"):
            self.choices[self._select].append(attributes["value"] or "")
        elif tag == "textarea" and name:
            self.textareas.append(name)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


HIDDEN_INPUT = re.compile(r"<input[^>]*\btype=\"hidden\"[^>]*>")
ATTRIBUTE = re.compile(r'\b(name|value)="([^"]*)"')


def hidden_fields(html: str) -> dict[str, str]:
    """Every hidden input of a page (the CSRF token, the submission key), by name."""
    fields = {}
    for tag in HIDDEN_INPUT.findall(html):
        attributes = dict(ATTRIBUTE.findall(tag))
        if "name" in attributes:
            fields[attributes["name"]] = attributes.get("value", "")
    return fields


@dataclass
class Tally:
    """What the client threads saw, shared between them under `lock`."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acknowledged: list[str] = field(default_factory=list)
    given_up: list[str] = field(default_factory=list)
    #: Seconds per request that was answered, by kind ("form", "submit", "insert").
    latencies: dict[str, list[float]] = field(default_factory=dict)
    #: Status (or "connection error") of every answer that was not the expected one.
    unexpected: Counter[str] = field(default_factory=Counter)
    retries: int = 0

    def timed(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)

    def saw(self, what: str, retried: bool) -> None:
        with self.lock:
            self.unexpected[what] += 1
            self.retries += retried

    def finished(self) -> int:
        """Submissions acknowledged or given up so far."""
        with self.lock:
            return len(self.acknowledged) + len(self.given_up)


class Client:
    """One respondent's browser: a connection to the server and a cookie jar."""

    def __init__(self, port: int, tally: Tally) -> None:
        self.port = port
        self.tally = tally
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def new_visitor(self) -> None:
        self.cookies.clear()

    def request(
        self, kind: str, method: str, path: str, body: str | None = None
    ) -> tuple[int, dict[str, str], str] | None:
        """The status, headers and text of one request, or None if the connection broke."""
        headers = {"Connection": "keep-alive"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            text = response.read().decode("utf-8")
        except (OSError, http.client.HTTPException):
            self.connection.close()
            return None
        self.tally.timed(kind, time.perf_counter() - started)
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text

    def wait_before_retry(self, headers: dict[str, str] | None) -> None:
        try:
            wait = float((headers or {}).get("retry-after", "1"))
        except ValueError:
            wait = 1.0
        time.sleep(min(wait, MAX_RETRY_WAIT) * random.uniform(0.5, 1.0))

    def submit(self, template: Callable[[str], dict[str, str]]) -> None:
        """One respondent: fetch the form, answer it, send it until it is acknowledged."""
        marker = MARKER_PREFIX + uuid.uuid4().hex
        deadline = time.monotonic() + GIVE_UP_SECONDS
        self.new_visitor()
        page = None
        while page is None:
            answer = self.request("form", "GET", FORM_PATH)
            if answer is not None and answer[0] == 200:
                page = answer[2]
                break
            self.tally.saw(f"form {answer[0] if answer else 'connection error'}", retried=True)
            if time.monotonic() > deadline:
                self._give_up(marker)
                return
            self.wait_before_retry(answer[1] if answer else None)
        # The same body every time: the same page sent again, as a person pressing send again.
        body = urlencode({**hidden_fields(page), **template(marker)})
        while True:
            answer = self.request("submit", "POST", FORM_PATH, body)
            if answer is not None and answer[0] == 303 and "/thanks" in answer[1]["location"]:
                with self.tally.lock:
                    self.tally.acknowledged.append(marker)
                return
            status = answer[0] if answer else "connection error"
            retry = answer is None or answer[0] == 503
            self.tally.saw(f"submit {status}", retried=retry)
            if not retry or time.monotonic() > deadline:
                self._give_up(marker)
                return
            self.wait_before_retry(answer[1] if answer else None)

    def insert_one(self) -> None:
        """One request to the floor endpoint, retried like a submission."""
        marker = uuid.uuid4().hex
        deadline = time.monotonic() + GIVE_UP_SECONDS
        while True:
            answer = self.request("insert", "POST", PROBE_PATH, urlencode({"marker": marker}))
            if answer is not None and answer[0] == 200:
                with self.tally.lock:
                    self.tally.acknowledged.append(marker)
                return
            self.tally.saw(f"insert {answer[0] if answer else 'connection error'}", True)
            if time.monotonic() > deadline:
                self._give_up(marker)
                return
            self.wait_before_retry(answer[1] if answer else None)

    def _give_up(self, marker: str) -> None:
        with self.tally.lock:
            self.tally.given_up.append(marker)


def answer_template(
    form_page: str, definition: dict[str, Any]
) -> tuple[Callable[[str], dict[str, str]], int]:
    """A function giving a complete, valid answer to the whole survey carrying `marker` (a
    random point or option for every question, text in every text box, a random organisation
    from the first page's list), and the number of answers a response to it stores.

    The form is paged, a section a page; a browser would walk the pages, but one POST of every
    answer with the first page's hidden fields is what the last page sends, and the server
    stores it the same way. The questions come from the definition, not the first page."""
    reader = FormReader()
    reader.feed(form_page)
    organisations = {name: reader.choices[name] for name in reader.selects if reader.choices[name]}
    choices: dict[str, list[str]] = {}
    texts: list[str] = []
    for question in definition["questions"]:
        if question["type"] == "likert":
            choices[question["code"]] = [str(point["value"]) for point in question["scale"]]
        elif question["type"] == "choice":
            choices[question["code"]] = [option["code"] for option in question["options"]]
        else:
            texts.append(question["code"])
    if MARKER_QUESTION not in texts:
        raise SystemExit(f"the survey has no {MARKER_QUESTION} text question for the marker")

    def answer(marker: str) -> dict[str, str]:
        data = {name: random.choice(values) for name, values in (choices | organisations).items()}
        for name in texts:
            data[name] = "The team made time for me every week."
        data[MARKER_QUESTION] = marker
        return data

    return answer, len(choices) + len(texts)


@dataclass
class Phase:
    name: str
    count: int
    seconds: float
    tally: Tally

    @property
    def per_second(self) -> float:
        return len(self.tally.acknowledged) / self.seconds


def drive(
    port: int,
    count: int,
    connections: int,
    work: Callable[[Client], None],
    name: str,
    during: Callable[[Tally], None] | None = None,
) -> Phase:
    """Run `work` `count` times on `connections` client threads; `during` watches the tally
    from its own thread while they run."""
    tally = Tally()
    numbers = itertools.count()
    numbers_lock = threading.Lock()

    def respondent() -> None:
        client = Client(port, tally)
        while True:
            with numbers_lock:
                if next(numbers) >= count:
                    return
            work(client)

    threads = [threading.Thread(target=respondent) for _ in range(connections)]
    watcher = threading.Thread(target=during, args=(tally,), daemon=True) if during else None
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    if watcher:
        watcher.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if watcher:
        watcher.join(timeout=120)
    return Phase(name, count, seconds, tally)


# --- checking what was stored -------------------------------------------------------------


@dataclass
class Check:
    acknowledged: int
    stored: int
    lost: int
    duplicated: int
    incomplete: int
    stored_not_acknowledged: int
    given_up: int


def check_submissions(url: str, tally: Tally, answers_per_response: int) -> Check:
    """Match the stored responses to the acknowledged submissions by their markers."""
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            """
            SELECT answer.text, count(*) OVER (PARTITION BY answer.response_id)
            FROM answer
            JOIN question ON question.id = answer.question_id
            WHERE question.code = %s AND answer.text LIKE %s
            """,
            [MARKER_QUESTION, MARKER_PREFIX + "%"],
        ).fetchall()
        complete = dict(
            connection.execute(
                """
                SELECT marker.response_id, count(*)
                FROM answer
                JOIN (SELECT answer.response_id FROM answer
                      JOIN question ON question.id = answer.question_id
                      WHERE question.code = %s AND answer.text LIKE %s) AS marker
                  ON marker.response_id = answer.response_id
                GROUP BY marker.response_id
                """,
                [MARKER_QUESTION, MARKER_PREFIX + "%"],
            ).fetchall()
        )
    stored = Counter(text for text, _ in rows)
    acknowledged = set(tally.acknowledged)
    return Check(
        acknowledged=len(tally.acknowledged),
        stored=sum(stored.values()),
        lost=len(acknowledged - set(stored)),
        duplicated=sum(times - 1 for times in stored.values() if times > 1),
        incomplete=sum(1 for count in complete.values() if count != answers_per_response),
        stored_not_acknowledged=len(set(stored) - acknowledged),
        given_up=len(tally.given_up),
    )


def check_floor(url: str, tally: Tally) -> tuple[int, int]:
    """(stored, lost) of the floor's inserts."""
    with psycopg.connect(url) as connection:
        stored = {row[0] for row in connection.execute(f"SELECT marker FROM {PROBE_TABLE}")}
    return len(stored), len(set(tally.acknowledged) - stored)


# --- the report ---------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def latency_line(kind: str, values: Sequence[float]) -> str:
    if not values:
        return f"  {kind:<8} no answers"
    return (
        f"  {kind:<8} p50 {percentile(values, 0.50) * 1000:7.1f} ms   "
        f"p99 {percentile(values, 0.99) * 1000:7.1f} ms   ({len(values):,} requests)"
    )


def print_machine(url: str) -> None:
    with psycopg.connect(url) as connection:
        server = connection.execute("SHOW server_version").fetchone()[0]
        commit = connection.execute("SHOW synchronous_commit").fetchone()[0]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"machine: {cpus} CPUs ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, PostgreSQL {server} "
        f"(synchronous_commit={commit}); client and server share the CPUs"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/h_load",
        help="PostgreSQL database to use; EVERYTHING IN IT IS DROPPED (created if missing)",
    )
    parser.add_argument("--submissions", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--practices", type=int, default=10, help="practices offered in the form")
    parser.add_argument("--restart-postgres", action="store_true")
    parser.add_argument(
        "--restart-command", help="how to restart PostgreSQL (default: found on this machine)"
    )
    parser.add_argument(
        "--floor-requests", type=int, help="requests to the floor endpoint (default: as many)"
    )
    parser.add_argument(
        "--log-dir",
        type=Path,
        help="keep gunicorn's error and access logs here (default: a temporary folder, "
        "kept only if the server answered 500)",
    )
    args = parser.parse_args(argv)
    if not args.database_url.startswith("postgresql"):
        parser.error("--database-url must be a postgresql:// URL")

    reset_database(args.database_url)
    print_machine(args.database_url)
    environment = dict(
        os.environ,
        DATABASE_URL=args.database_url,
        SECRET_KEY=secrets.token_hex(32),
        PYTHONPATH=str(PROJECT_ROOT),
    )
    folder = args.log_dir or Path(tempfile.mkdtemp(prefix="survey-load-"))
    folder.mkdir(parents=True, exist_ok=True)
    definition = set_up_survey(environment, args.practices, folder)
    server = start_gunicorn(environment, args.workers, folder)
    try:
        status, server_errors = run(args, server, definition)
    finally:
        server.stop()
    if server_errors:
        print(f"server errors (500): {server_errors}; gunicorn's log is {server.log}")
    elif args.log_dir is None:
        shutil.rmtree(folder)
    return status


def run(args: argparse.Namespace, server: Server, definition: dict[str, Any]) -> tuple[int, int]:
    """Drive the floor and the submissions; returns the exit status (0 when nothing was lost,
    duplicated or left incomplete) and the number of 500 answers."""
    form_page = Client(server.port, Tally()).request("form", "GET", FORM_PATH)
    if form_page is None or form_page[0] != 200:
        raise SystemExit(f"the form did not load: {form_page}")
    template, answers_per_response = answer_template(form_page[2], definition)
    floor_count = args.floor_requests or args.submissions
    restart = None
    if args.restart_postgres:
        command = args.restart_command.split() if args.restart_command else None
        restart = Restart(command or default_restart_command(), args.submissions)

    # The floor before and after the submissions, so a change in the machine's other load
    # during the run shows as a difference between the two.
    cpu_started = time.process_time()
    floors = [drive(server.port, floor_count, args.connections, Client.insert_one, "floor")]
    submissions = drive(
        server.port,
        args.submissions,
        args.connections,
        lambda client: client.submit(template),
        "submissions",
        during=(lambda tally: restart.watch(tally.finished)) if restart else None,
    )
    floors.append(drive(server.port, floor_count, args.connections, Client.insert_one, "floor"))
    client_cpu = time.process_time() - cpu_started
    wall = submissions.seconds + sum(floor.seconds for floor in floors)

    check = check_submissions(args.database_url, submissions.tally, answers_per_response)
    floor_tally = Tally()
    for floor in floors:
        floor_tally.acknowledged += floor.tally.acknowledged
        for kind, values in floor.tally.latencies.items():
            floor_tally.latencies.setdefault(kind, []).extend(values)
    floor_stored, floor_lost = check_floor(args.database_url, floor_tally)
    floor_rate = statistics.mean(floor.per_second for floor in floors)
    ratio = submissions.per_second / floor_rate

    print(
        f"gunicorn: {args.workers} workers ({os.environ.get('GUNICORN_WORKER_CLASS', 'gthread')}"
        f", {os.environ.get('GUNICORN_THREADS', '1')} threads), {args.connections} client "
        f"connections, {args.practices} practices in the form"
    )
    if restart:
        print(
            f"restart: `{' '.join(restart.command)}` after {restart.done_at:,} submissions, "
            f"took {restart.took:.1f} s ({restart.output})"
        )
    print(
        f"submissions: {len(submissions.tally.acknowledged):,} acknowledged in "
        f"{submissions.seconds:.1f} s = {submissions.per_second:.1f} per second "
        f"(each a GET of the form and a POST)"
    )
    print(latency_line("form", submissions.tally.latencies.get("form", [])))
    print(latency_line("submit", submissions.tally.latencies.get("submit", [])))
    print(
        "floor: "
        + ", ".join(f"{floor.per_second:.1f}" for floor in floors)
        + f" inserts per second (before, after; mean {floor_rate:.1f})"
    )
    print(latency_line("insert", floor_tally.latencies.get("insert", [])))
    print(f"ratio: {ratio:.2f} submissions per floor insert (target >= {TARGET_RATIO})")
    print(
        f"retried: {submissions.tally.retries:,} "
        + (
            "("
            + ", ".join(f"{k}: {v:,}" for k, v in sorted(submissions.tally.unexpected.items()))
            + ")"
            if submissions.tally.unexpected
            else ""
        )
    )
    print(
        f"stored: {check.stored:,} of {check.acknowledged:,} acknowledged; lost {check.lost}, "
        f"duplicated {check.duplicated}, incomplete {check.incomplete}, stored but not "
        f"acknowledged {check.stored_not_acknowledged}, given up {check.given_up}"
    )
    print(f"floor stored: {floor_stored:,} of {len(floor_tally.acknowledged):,}, lost {floor_lost}")
    print(
        f"client CPU: {client_cpu:.1f} s of {wall:.1f} s wall "
        f"({client_cpu / wall / (os.cpu_count() or 1):.0%} of the machine)"
    )
    faultless = (
        check.lost == 0
        and check.duplicated == 0
        and check.incomplete == 0
        and check.stored_not_acknowledged == 0
        and check.given_up == 0
        and check.acknowledged == args.submissions
    )
    print(
        f"result: {'0 lost, 0 duplicated' if faultless else 'FAILED: see above'}; ratio "
        f"{ratio:.2f} {'meets' if ratio >= TARGET_RATIO else 'misses'} {TARGET_RATIO}"
    )
    server_errors = sum(
        count
        for phase in (*floors, submissions)
        for what, count in phase.tally.unexpected.items()
        if what.endswith(" 500")
    )
    return (0 if faultless else 1), server_errors


if __name__ == "__main__":
    sys.exit(main())
