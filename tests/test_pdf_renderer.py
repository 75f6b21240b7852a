"""The bounded PDF renderer: children forked by this process's rendering server.

A report's PDF is rendered in a child process under a time and a memory limit. These tests
check what an operator would notice: a child past its limits is gone afterwards (no process,
no zombie), the server and its children go when the process that started them goes, a server
that died is replaced, and renderings from several threads each get their own PDF.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from reports import pdf_sandbox
from reports.pdf_sandbox import (
    RenderLimits,
    ReportRenderingError,
    html_to_pdf_bounded,
    prepare_renderer,
    renderer_cpu_seconds,
    stop_renderer,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: A document that takes WeasyPrint many seconds, far past the short limits below.
LONG_START = "<!doctype html><html lang=en><title>long</title>"
LONG_PARAGRAPH = "<p>A paragraph of words that WeasyPrint has to shape and lay out on a page.</p>"
LONG_HTML = LONG_START + LONG_PARAGRAPH * 20_000


def page_text(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def exists(pid: int) -> bool:
    """True while ``pid`` is a process, a zombie included (it has an entry in /proc)."""
    return Path(f"/proc/{pid}").exists()


def children_of(pid: int) -> list[int]:
    """The processes (zombies included) whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        # "pid (command) state ppid ...": the command may hold spaces and parentheses.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def server_pid() -> int:
    server = pdf_sandbox._server  # the handle this module keeps; tests look inside
    assert server is not None and server.alive()
    return server.process.pid


def wait_until_gone(pid: int, seconds: float = 30.0) -> bool:
    """Wait (polling, at most ``seconds``) for ``pid`` to leave /proc; True if it did."""
    give_up = time.monotonic() + seconds
    while exists(pid):
        if time.monotonic() > give_up:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def forked_pids(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The pid of every rendering child forked during the test."""
    pids: list[int] = []
    original = pdf_sandbox._RenderServer.fork

    def recording(self: pdf_sandbox._RenderServer, *args: object) -> int:
        pid = original(self, *args)
        pids.append(pid)
        return pid

    monkeypatch.setattr(pdf_sandbox._RenderServer, "fork", recording)
    yield pids


@pytest.fixture
def reaped(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[int, int]]:
    """The wait status of every rendering child reaped during the test, by pid."""
    statuses: dict[int, int] = {}
    original = pdf_sandbox._RenderServer.reap

    def recording(self: pdf_sandbox._RenderServer, pid: int) -> tuple[int, float]:
        status, cpu_seconds = original(self, pid)
        statuses[pid] = status
        return status, cpu_seconds

    monkeypatch.setattr(pdf_sandbox._RenderServer, "reap", recording)
    yield statuses


def test_a_child_past_its_time_is_killed_and_leaves_no_process(
    forked_pids: list[int], reaped: dict[int, int]
) -> None:
    html_to_pdf_bounded("<p>the server is up</p>")
    with pytest.raises(ReportRenderingError, match=r"longer than 0\.5 seconds"):
        html_to_pdf_bounded(LONG_HTML, RenderLimits(timeout_seconds=0.5))
    killed = forked_pids[-1]
    assert os.WIFSIGNALED(reaped[killed]) and os.WTERMSIG(reaped[killed]) == signal.SIGKILL
    assert not exists(killed), "the child is still there (running, or a zombie)"
    assert children_of(server_pid()) == []


def test_a_child_past_its_memory_fails_and_leaves_no_process(forked_pids: list[int]) -> None:
    with pytest.raises(ReportRenderingError, match="could not be rendered"):
        html_to_pdf_bounded(LONG_HTML, RenderLimits(memory_bytes=64 * 1024**2))
    assert forked_pids and not any(exists(pid) for pid in forked_pids)
    assert children_of(server_pid()) == []


def test_children_are_forked_from_one_server_and_their_cpu_is_counted(
    forked_pids: list[int],
) -> None:
    prepare_renderer()
    server = server_pid()
    before = renderer_cpu_seconds()
    for index in range(3):
        pdf = html_to_pdf_bounded(f"<p>Document {index}</p>")
        assert f"Document {index}" in page_text(pdf)
    assert server_pid() == server
    assert len(set(forked_pids)) == 3 and server not in forked_pids
    assert renderer_cpu_seconds() > before


def test_renderings_from_several_threads_each_get_their_own_pdf() -> None:
    results: dict[int, bytes] = {}

    def render(index: int) -> None:
        results[index] = html_to_pdf_bounded(f"<p>Report number {index}</p>")

    threads = [threading.Thread(target=render, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1, 2, 3]
    for index, pdf in results.items():
        assert f"Report number {index}" in page_text(pdf)


def test_a_server_that_died_is_replaced() -> None:
    prepare_renderer()
    dead = server_pid()
    os.kill(dead, signal.SIGKILL)
    pdf = html_to_pdf_bounded("<p>after the server died</p>")
    assert "after the server died" in page_text(pdf)
    assert server_pid() != dead
    assert not exists(dead), "the dead server was not reaped"


def test_stopping_the_renderer_kills_a_child_still_rendering(forked_pids: list[int]) -> None:
    failures: list[Exception] = []

    def render() -> None:
        try:
            html_to_pdf_bounded(LONG_HTML)
        except ReportRenderingError as exc:
            failures.append(exc)

    html_to_pdf_bounded("<p>the server is up</p>")
    server = server_pid()
    thread = threading.Thread(target=render)
    thread.start()
    give_up = time.monotonic() + 30
    while len(forked_pids) < 2 and time.monotonic() < give_up:
        time.sleep(0.02)
    stop_renderer()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert failures, "the rendering cut short reports it"
    assert not exists(forked_pids[-1]) and not exists(server)


def test_the_server_and_its_children_go_when_their_process_exits(tmp_path: Path) -> None:
    # A process that starts a long rendering on a thread, prints the pids, then dies at once
    # (os._exit: no atexit, no clean-up), as a killed web worker would.
    script = textwrap.dedent(
        f"""
        import os, sys, threading, time
        from reports import pdf_sandbox
        pdf_sandbox.html_to_pdf_bounded("<p>up</p>")
        pids = []
        original = pdf_sandbox._RenderServer.fork
        def recording(self, *args):
            pids.append(original(self, *args))
            return pids[-1]
        pdf_sandbox._RenderServer.fork = recording
        long_html = {LONG_START!r} + {LONG_PARAGRAPH!r} * 200_000  # minutes of work
        render = pdf_sandbox.html_to_pdf_bounded
        threading.Thread(target=render, args=(long_html,), daemon=True).start()
        while not pids:
            time.sleep(0.02)
        print(pdf_sandbox._server.process.pid, pids[0], flush=True)
        os._exit(0)
        """
    )
    path = tmp_path / "dies.py"
    path.write_text(script)
    finished = subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        check=True,
    )
    server, child = (int(pid) for pid in finished.stdout.split())
    assert wait_until_gone(child), "the rendering child outlived its process"
    assert wait_until_gone(server), "the rendering server outlived its process"
