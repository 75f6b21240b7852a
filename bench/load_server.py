"""The load benchmark's server side: the floor application, an emptied and set-up database,
gunicorn serving the application with the floor beside it, and restarting PostgreSQL. Used by
bench/load.py; not a test."""

from __future__ import annotations

import http.client
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SURVEY = "placement-quality"
PROBE_PATH = "/_bench/insert-one"
PROBE_TABLE = "bench.load_probe"
#: The share of the run after which --restart-postgres restarts the server.
RESTART_AT = 0.4


# --- the floor, served by gunicorn in place of wsgi:app -----------------------------------


def probe_app() -> Any:
    """The application exactly as wsgi.py makes it, plus the benchmark's floor: POST
    /_bench/insert-one stores its `marker` in bench.load_probe through the request's session
    and answers 200. Only this benchmark serves it."""
    from flask import request
    from sqlalchemy import text

    from survey_app import create_app
    from survey_app.db import get_session
    from survey_app.security import csrf

    app = create_app()

    def insert_one() -> tuple[str, int]:
        session = get_session()
        session.execute(
            text(f"INSERT INTO {PROBE_TABLE} (marker) VALUES (:marker)"),
            {"marker": request.form["marker"]},
        )
        session.commit()
        return "stored", 200

    app.add_url_rule(PROBE_PATH, "bench_insert_one", csrf.exempt(insert_one), methods=["POST"])
    return app


# --- setting up the database and the server -----------------------------------------------


def reset_database(url: str) -> None:
    """Create the database of `url` if it does not exist, else drop everything in it; then
    create the floor's table in its own schema."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("DROP SCHEMA IF EXISTS public CASCADE")
        connection.execute("DROP SCHEMA IF EXISTS bench CASCADE")
        connection.execute("CREATE SCHEMA public")
        connection.execute("CREATE SCHEMA bench")
        connection.execute(
            f"CREATE TABLE {PROBE_TABLE} (id bigserial PRIMARY KEY, marker text NOT NULL)"
        )


def organisations_csv(practices: int) -> str:
    """One training hub in Kent and Medway with `practices` practices in PCNs of five."""
    rows = ["code,name,level,parent_code", "LT-HUB,Load Test Training Hub,hub,QKS"]
    pcns = max(1, (practices + 4) // 5)
    for pcn in range(pcns):
        rows.append(f"LT-N{pcn:03d},Load Test PCN {pcn},pcn,LT-HUB")
    for practice in range(practices):
        rows.append(
            f"LT-P{practice:04d},Load Test Surgery {practice},practice,LT-N{practice // 5:03d}"
        )
    return "\n".join(rows) + "\n"


def set_up_survey(environment: dict[str, str], practices: int, folder: Path) -> dict[str, Any]:
    """What an operator runs on a new database, through the `survey-app` command; returns the
    survey's definition as `survey-app surveys show --format json` gives it."""
    command = str(Path(sys.executable).with_name("survey-app"))
    orgs = folder / "organisations.csv"
    orgs.write_text(organisations_csv(practices), encoding="utf-8")
    for arguments in (
        ["db", "init"],
        ["load-reference"],
        ["orgs", "import", str(orgs)],
        ["surveys", "load"],
        ["surveys", "open", SURVEY],
        ["surveys", "show", SURVEY, "--format", "json"],
    ):
        finished = subprocess.run(
            [command, *arguments], env=environment, capture_output=True, text=True
        )
        if finished.returncode != 0:
            raise SystemExit(f"survey-app {' '.join(arguments)} failed:\n{finished.stderr}")
    return json.loads(finished.stdout)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_gunicorn(environment: dict[str, str], workers: int, folder: Path) -> Server:
    """gunicorn with gunicorn.conf.py serving `probe_app()`, once it answers."""
    port = free_port()
    log = folder / "gunicorn.log"
    environment = dict(
        environment,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS=str(workers),
        GUNICORN_ACCESS_LOG=str(folder / "access.log"),
        GUNICORN_ERROR_LOG=str(log),
    )
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "--config",
            str(PROJECT_ROOT / "gunicorn.conf.py"),
            "--chdir",
            str(PROJECT_ROOT),
            "bench.load_server:probe_app()",
        ],
        env=dict(environment, PYTHONFAULTHANDLER="1"),  # a crash's traceback, in stderr.log
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=(folder / "stderr.log").open("wb"),
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited ({process.returncode}); see {log}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/")
            if connection.getresponse().status == 200:
                return Server(process, port, log)
        except OSError:
            pass
        time.sleep(0.25)
    process.kill()
    raise SystemExit(f"gunicorn did not answer within 90 s; see {log}")


# --- restarting PostgreSQL ----------------------------------------------------------------


def default_restart_command() -> list[str]:
    """`pg_ctlcluster VERSION NAME restart` for the first online cluster (Debian, Ubuntu),
    else `service postgresql restart`."""
    if shutil.which("pg_lsclusters"):
        listing = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True)
        for line in listing.stdout.splitlines():
            version, name, _port, status, *_ = line.split()
            if status == "online":
                return ["pg_ctlcluster", version, name, "restart"]
    return ["service", "postgresql", "restart"]


@dataclass
class Restart:
    command: list[str]
    total: int
    done_at: float | None = None
    took: float | None = None
    output: str = ""

    def watch(self, finished_count: Callable[[], int]) -> None:
        """Restart once `RESTART_AT` of the run's submissions are finished (acknowledged or
        given up), as `finished_count` counts them."""
        while (done := finished_count()) < self.total * RESTART_AT:
            time.sleep(0.05)
        started = time.perf_counter()
        finished = subprocess.run(self.command, capture_output=True, text=True)
        self.took = time.perf_counter() - started
        self.done_at = done
        self.output = (finished.stdout + finished.stderr).strip() or f"exit {finished.returncode}"
