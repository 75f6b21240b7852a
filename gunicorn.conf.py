"""Gunicorn settings for serving the survey application: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every setting can be changed from the environment (names below), so one file serves each host
behind the load balancer; see docs/deployment.md.

Worker class: gthread, which can run several threads per process, though for now it runs one
(see `threads` below). Three reasons, measured by bench/load.py (docs/deployment.md has the
figures):
* A PDF report request waits seconds on its rendering child process; with several threads the
  other requests of that process go on while one waits (with one, large reports are built in
  the background and small ones take a few seconds).
* It keeps connections from the load balancer open between requests (keep-alive), and a slow
  client is held by the worker's poller, not by a whole process: sync workers need a proxy
  that buffers whole requests in front of them, which not every load balancer does.
* Each request spends part of its time waiting on PostgreSQL (the COMMIT's disk flush);
  threads overlap those waits. The Python work itself is bound by the GIL, so processes, not
  threads, scale with the cores.
"""

from __future__ import annotations

import os
import re
from typing import Any

from gunicorn.glogging import Logger


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _default_workers() -> int:
    """2 x cores + 1, the usual rule for mixed CPU and I/O work, capped: every process holds
    its own PostgreSQL connections (up to threads + 1) and ~150 MB of memory."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(2 * (cores or 1) + 1, MAX_DEFAULT_WORKERS)


#: Above this many processes per host, add hosts (or threads) instead: PostgreSQL's
#: max_connections is shared by all of them (see docs/deployment.md).
MAX_DEFAULT_WORKERS = 8

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").split(",")
workers = _env_int("GUNICORN_WORKERS", _env_int("WEB_CONCURRENCY", _default_workers()))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
#: One thread per worker by default: with 4, workers died of segmentation faults under
#: bench/load.py (about 1 in 1,000 submissions, in the ORM or the garbage collector; the
#: cause is not found, see docs/deployment.md), with 1 never (5,500 submissions). Since the
#: respondents' requests stopped building ORM objects per answer, 4 ran clean for 15,000
#: submissions. Raise it only after a clean run of bench/load.py with the new value.
threads = _env_int("GUNICORN_THREADS", 1)

#: A worker whose main loop is silent this long is killed and replaced. With gthread this
#: is the process hanging, not a slow request (reports bound their own rendering time).
timeout = _env_int("GUNICORN_TIMEOUT", 30)
#: On a restart or a deploy, requests in flight get this long to finish.
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
#: Longer than the load balancer's idle timeout (60 s on most), so that the balancer, not
#: gunicorn, closes an idle connection: otherwise a request sent as gunicorn closes is lost.
keepalive = _env_int("GUNICORN_KEEPALIVE", 75)

#: Each worker loads the application itself, after the fork, so the C libraries under it
#: start in the process that uses them and none inherits another's state, and `kill -HUP`
#: starts workers with new code. Preloading in the master would share the imports' memory
#: (scipy, WeasyPrint, matplotlib: ~150 MB a worker); it also came with far more worker crashes
#: in bench/load.py (docs/deployment.md). If it is turned on, post_fork gives each worker a
#: fresh connection pool.
preload_app = os.environ.get("GUNICORN_PRELOAD", "false") == "true"

#: The load balancer's (or TLS proxy's) addresses, trusted for X-Forwarded-Proto: requests are
#: then known to have arrived over HTTPS. The client address for rate limits comes from
#: X-Forwarded-For through the app's TRUSTED_PROXY_COUNT.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
#: The time, request, status, size and microseconds taken; no client address or browser. The
#: placement survey is anonymous: a line with an address at the moment of each submission,
#: next to the responses' ascending ids, would tie addresses to responses. Sign-ins, with
#: their addresses, are in the audit log; the balancer's own log can keep addresses briefly.
access_log_format = '%(t)s "%(r)s" %(s)s %(b)s %(D)s'
#: The heartbeat files on tmpfs: a slow disk must not make healthy workers look silent.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

#: An invitation link's token, in a path or a referring address.
_TOKEN_IN_PATH = re.compile(r"(/s/[^/?#\s]+/)(?!thanks\b)[^/?#\s]+")


def redact_tokens(text: str) -> str:
    """`text` with the token of every invitation link replaced by "<token>": an unused token
    is a working link, and the access log is read by more people, and kept longer, than the
    database's digests of them.

    An encoded slash (`/s/slug%2F<token>`) reaches the same route, since the server decodes
    the path, so it is decoded here first; nothing else is, so no escaped newline or control
    character is let into the log. Most lines hold no survey link and pass without a regex.
    """
    if "%2" in text:
        text = text.replace("%2F", "/").replace("%2f", "/")
    if "/s/" not in text:
        return text
    return _TOKEN_IN_PATH.sub(r"\1<token>", text)


class TokenRedactingLogger(Logger):
    """Gunicorn's logger, writing invitation links into the access log without their token."""

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "f", "{referer}i"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact_tokens(atoms[key])
        return atoms


logger_class = TokenRedactingLogger


def post_fork(server: Any, worker: Any) -> None:
    """Give the new worker its own connection pool: connections made in the master, had there
    been any, must never be used by two processes at once."""
    application = worker.app.wsgi()
    engine = getattr(application, "extensions", {}).get("survey_app.engine")
    if engine is not None:
        engine.dispose(close=False)
