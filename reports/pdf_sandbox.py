"""WeasyPrint fenced in: no network, no files but our assets, bounded time and memory.

Rendering never reaches the network or the file system outside the bundled assets: the URL
fetcher serves `data:` URLs and files inside `reports/assets/`, and refuses everything else
(http, https, ftp, other files, redirects), so text a respondent typed (an <img src="http://...">,
a CSS url()) cannot make the renderer fetch anything, even if it ever escaped Jinja's escaping.

``html_to_pdf_bounded`` renders each document in a child process of its own whose address
space is capped (``RLIMIT_AS``) and whose CPU time is capped (``RLIMIT_CPU``), under a
wall-clock timeout after which it is killed. A pathological document therefore costs at most
one child's limits, never the web worker. The HTML goes to the child and the PDF comes back
through a pair of pipes.

The children are forked by a rendering server: a fresh interpreter (``python -c``, never a fork
of a threaded web worker) that each process starts once, which imports WeasyPrint and renders
a one-line document before it forks anything, so a child starts with WeasyPrint, Pango and the
fonts loaded instead of paying about half a second for them on every report.
``prepare_renderer`` starts it early, so that it loads while the caller builds the HTML. The
server forks one child per rendering and reaps a child only when the process that asked for it
says it is done with it, so that process can always kill its child by pid without hitting a
recycled one. When that process exits, the server kills any child still running and exits.
Linux (``SOCK_SEQPACKET``, ``fork``, ``resource``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import resource
import selectors
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import unquote, urlsplit

from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetchingError

ASSETS = Path(__file__).resolve().parent / "assets"
_PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: WeasyPrint's PDF/UA-1 variant: tagged PDF (structure tree, figure alt text, /Lang, XMP).
PDF_OPTIONS: dict[str, Any] = {"pdf_variant": "pdf/ua-1", "optimize_images": False}


class ReportRenderingError(RuntimeError):
    """The PDF could not be rendered: the renderer failed, ran out of time or of memory."""


@dataclass(frozen=True, slots=True)
class RenderLimits:
    """The bounds of one rendering: wall-clock seconds, and bytes of address space.

    The address-space cap counts every mapping of the child (the interpreter, WeasyPrint,
    Pango and the fonts take about 0.4 GB before the document), not only its heap.
    """

    timeout_seconds: float = 120.0
    memory_bytes: int = 2 * 1024**3

    def __post_init__(self) -> None:
        if self.timeout_seconds <= 0 or self.memory_bytes <= 0:
            raise ValueError("render limits must be positive")


class AssetsOnlyFetcher(URLFetcher):
    """Serves `data:` URLs and files under `reports/assets/`; refuses every other URL."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols={"data", "file"}, allow_redirects=False, timeout=1)

    def fetch(self, url: str, headers: Any = None) -> Any:
        """The resource at `url`; raises URLFetchingError for anything but our assets."""
        if not is_asset_url(url):
            raise URLFetchingError(f"refused: {url[:80]}")
        return super().fetch(url, headers)


def is_asset_url(url: str) -> bool:
    """True for a `data:` URL, or a local `file:` URL of an existing file under the assets.

    A `file:` URL naming a host, or a path that leaves the assets folder (``..``, a symlink),
    is not an asset.
    """
    scheme = url.split(":", 1)[0].lower()
    if scheme == "data":
        return True
    if scheme != "file":
        return False
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        return False
    path = Path(unquote(parts.path)).resolve()
    return path.is_relative_to(ASSETS) and path.is_file()


def html_to_pdf(html: str, url_fetcher: URLFetcher | None = None) -> bytes:
    """Return ``html`` rendered as a tagged PDF in this process, fetching only our assets.

    ``url_fetcher`` defaults to ``AssetsOnlyFetcher``; tests pass a spy around it. Relative
    URLs resolve inside the assets folder. Use ``html_to_pdf_bounded`` for untrusted sizes.
    """
    document = HTML(
        string=html,
        base_url=ASSETS.as_uri() + "/",
        url_fetcher=url_fetcher or AssetsOnlyFetcher(),
    )
    return document.write_pdf(**PDF_OPTIONS) or b""


def html_to_pdf_bounded(html: str, limits: RenderLimits | None = None) -> bytes:
    """Return ``html`` rendered as PDF by a child process under ``limits``.

    The time limit runs from the moment the child is asked for (waiting for a rendering server
    that is still starting counts). Raises ReportRenderingError when the child fails, exceeds
    its memory or CPU time, or is still running at the timeout (it is then killed, and gone
    before this returns).
    """
    limits = limits or RenderLimits()
    deadline = time.monotonic() + limits.timeout_seconds
    document = html.encode("utf-8")
    html_read, html_write = os.pipe()
    pdf_read, pdf_write = os.pipe()
    try:
        server, pid = _fork_child(html_read, pdf_write, limits, deadline)
    except BaseException:
        os.close(html_write)
        os.close(pdf_read)
        raise
    finally:
        # The child has its own copies of these ends now (or there is no child).
        os.close(html_read)
        os.close(pdf_write)
    answer = None
    try:
        answer = _exchange(document, html_write, pdf_read, deadline)
    finally:
        if answer is None:  # past the deadline, or this thread was interrupted
            _kill(pid)
        status, cpu_seconds = server.reap(pid)
        _count_cpu(cpu_seconds)
    if answer is None:
        raise ReportRenderingError(
            f"the PDF took longer than {limits.timeout_seconds:g} seconds to render"
        )
    kind, payload = _unpack_answer(answer)
    if kind == _PDF and payload.startswith(b"%PDF-"):
        return payload
    reason = _failure_reason(status, kind, payload)
    raise ReportRenderingError(f"the PDF could not be rendered: {reason}")


def prepare_renderer() -> None:
    """Start this process's rendering server now if it is not running, so that it imports
    WeasyPrint while the caller builds the HTML. Returns at once; never raises for a server
    that fails to start (the rendering that needs it will)."""
    with contextlib.suppress(OSError):
        _running_server()


def stop_renderer() -> None:
    """Stop this process's rendering server, if it runs, killing any child it still has.

    The next rendering starts a new one. Called at exit.
    """
    global _server
    with _server_lock:
        server, _server = _server, None
    if server is not None and server.owner == os.getpid():
        server.stop()


def renderer_cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by the finished rendering children of this
    process. They are the server's children, so ``RUSAGE_CHILDREN`` does not count them."""
    with _cpu_lock:
        return _cpu_seconds


# --- the parent's side -------------------------------------------------------------------------

#: A child's answer: its kind (the PDF, "needed more memory", or an error message) and the
#: length of what follows, so that an answer cut short (the child died writing it) shows.
_PDF, _NO_MEMORY, _ERROR = b"P", b"M", b"E"
_ANSWER = struct.Struct("<cQ")
_FORK = struct.Struct("<cqq")  # b"F", memory bytes, CPU seconds (with two descriptors)
_REAP = struct.Struct("<cq")  # b"R", pid
_FORKED = struct.Struct("<q")  # pid
_REAPED = struct.Struct("<qd")  # wait status, CPU seconds
#: How long reaping a child that has exited or been killed may take.
_REAP_SECONDS = 30.0
_WARM_UP_HTML = (
    '<!doctype html><html lang="en"><title>warm-up</title>'
    '<link rel="stylesheet" href="report.css"><p>Warm-up: <b>fonts</b> <i>loaded</i>.</p></html>'
)

_server_lock = threading.Lock()
_server: _RenderServer | None = None
_inherited: list[_RenderServer] = []
_cpu_lock = threading.Lock()
_cpu_seconds = 0.0


@dataclass(slots=True)
class _RenderServer:
    """This process's handle on its rendering server: the process and a socket to it."""

    process: subprocess.Popen[bytes]
    channel: socket.socket
    #: The process that started the server; a forked copy of this process must start its own.
    owner: int = field(default_factory=os.getpid)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls) -> _RenderServer:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(
            part for part in (str(_PROJECT_ROOT), environment.get("PYTHONPATH", "")) if part
        )
        try:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "import sys; from reports.pdf_sandbox import serve; serve(int(sys.argv[1]))",
                    str(theirs.fileno()),
                ],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=environment,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        return cls(process, ours)

    def alive(self) -> bool:
        return self.process.poll() is None

    def fork(self, html_read: int, pdf_write: int, limits: RenderLimits, deadline: float) -> int:
        """Ask for a child reading HTML from ``html_read`` and writing to ``pdf_write``;
        returns its pid. A server that does not answer by ``deadline`` is stopped
        (ReportRenderingError); one that has gone raises _ServerGone."""
        cpu_seconds = max(1, int(limits.timeout_seconds + 0.999))
        request = _FORK.pack(b"F", limits.memory_bytes, cpu_seconds)
        with self.lock:
            try:
                socket.send_fds(self.channel, [request], [html_read, pdf_write])
                reply = self._receive(_FORKED.size, deadline - time.monotonic())
            except TimeoutError:
                self._discard()
                raise ReportRenderingError("the PDF renderer did not start in time") from None
            except (OSError, ValueError):
                self._discard()
                raise _ServerGone from None
        return _FORKED.unpack(reply)[0]

    def reap(self, pid: int) -> tuple[int, float]:
        """Wait for child ``pid`` (which has finished or been killed) to be gone; returns its
        wait status and CPU seconds."""
        with self.lock:
            try:
                self.channel.sendall(_REAP.pack(b"R", pid))
                reply = self._receive(_REAPED.size, _REAP_SECONDS)
            except (OSError, ValueError):
                # Stopping the server kills and reaps whatever it still has.
                self._discard()
                return int(signal.SIGKILL), 0.0
        status, cpu_seconds = _REAPED.unpack(reply)
        return status, cpu_seconds

    def _receive(self, size: int, timeout: float) -> bytes:
        if timeout <= 0:
            raise TimeoutError
        self.channel.settimeout(timeout)
        reply = self.channel.recv(size)
        if len(reply) != size:
            raise ValueError("the rendering server closed its socket")
        return reply

    def _discard(self) -> None:
        global _server
        with _server_lock:
            if _server is self:
                _server = None
        self.stop()

    def stop(self) -> None:
        """Close the socket (the server then kills its children and exits) and wait for it."""
        self.channel.close()
        try:
            self.process.wait(timeout=_REAP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class _ServerGone(Exception):
    """The rendering server stopped answering: it died (killed, out of memory) or exited."""


def _fork_child(
    html_read: int, pdf_write: int, limits: RenderLimits, deadline: float
) -> tuple[_RenderServer, int]:
    """A child of the running server for one rendering, and that server. A server found dead
    is replaced once."""
    try:
        server = _running_server()
        return server, server.fork(html_read, pdf_write, limits, deadline)
    except _ServerGone:
        pass
    server = _running_server()
    try:
        return server, server.fork(html_read, pdf_write, limits, deadline)
    except _ServerGone:
        raise ReportRenderingError("the PDF renderer stopped unexpectedly") from None


def _running_server() -> _RenderServer:
    global _server
    with _server_lock:
        if _server is not None and _server.owner != os.getpid():
            # A forked copy of this process leaves its parent's server alone: the socket is
            # shared, so a message from here would interleave with the parent's. Its copy of
            # the socket closes; the handle is kept, as its process is not this one's to wait for.
            _server.channel.close()
            _inherited.append(_server)
            _server = None
        if _server is not None and not _server.alive():
            _server.stop()
            _server = None
        if _server is None:
            _server = _RenderServer.start()
        return _server


def _exchange(document: bytes, html_write: int, pdf_read: int, deadline: float) -> bytes | None:
    """Write ``document`` to the child and read its answer to the end; None at ``deadline``.

    Closes both descriptors. A child that stops reading early (it failed) is not an error
    here: its answer says why.
    """
    view = memoryview(document)
    written = 0
    answer = bytearray()
    os.set_blocking(html_write, False)
    selector = selectors.DefaultSelector()
    try:
        selector.register(pdf_read, selectors.EVENT_READ)
        if view:
            selector.register(html_write, selectors.EVENT_WRITE)
        else:
            os.close(html_write)
            html_write = -1
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            for key, _events in selector.select(remaining):
                if key.fd == pdf_read:
                    chunk = os.read(pdf_read, 1 << 16)
                    if not chunk:
                        return bytes(answer)
                    answer += chunk
                    continue
                try:
                    written += os.write(html_write, view[written : written + (1 << 16)])
                except BrokenPipeError:
                    written = len(view)
                if written == len(view):
                    selector.unregister(html_write)
                    os.close(html_write)  # end of file: the child starts rendering
                    html_write = -1
    finally:
        selector.close()
        view.release()
        if html_write >= 0:
            os.close(html_write)
        os.close(pdf_read)


def _kill(pid: int) -> None:
    # The server reaps a child only when asked, so pid is still this child (or its zombie).
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _count_cpu(seconds: float) -> None:
    global _cpu_seconds
    with _cpu_lock:
        _cpu_seconds += seconds


def _unpack_answer(answer: bytes) -> tuple[bytes, bytes]:
    """The kind and payload of a child's answer; kind b"" for an answer cut short."""
    if len(answer) < _ANSWER.size:
        return b"", b""
    kind, length = _ANSWER.unpack_from(answer)
    payload = answer[_ANSWER.size :]
    return (kind, payload) if len(payload) == length else (b"", b"")


def _failure_reason(status: int, kind: bytes, payload: bytes) -> str:
    if kind == _NO_MEMORY:
        return "it needed more memory than allowed"
    if kind == _ERROR:
        return payload.decode("utf-8", "replace")[-300:]
    if os.WIFSIGNALED(status):
        # Cairo and Pango do not all check allocations: out of memory can end in SIGSEGV; the
        # CPU limit ends in SIGXCPU or SIGKILL.
        number = os.WTERMSIG(status)
        return f"the renderer stopped on signal {number} (often: out of memory or CPU time)"
    if os.WIFEXITED(status) and os.WEXITSTATUS(status):
        return f"the renderer exited with status {os.WEXITSTATUS(status)}"
    return "the renderer gave no PDF"


atexit.register(stop_renderer)


# --- the server's side -------------------------------------------------------------------------


def serve(channel_fd: int) -> None:
    """The rendering server (run as ``python -c``): fork one bounded child per request.

    Requests come on the socket ``channel_fd``: fork (limits, with the child's HTML and PDF
    pipes) answered by the child's pid, and reap (a pid) answered by its wait status and CPU
    time. At end of file (the process that started the server has exited or let go) it kills
    the children it still has and returns.
    """
    # Ctrl-C in a terminal reaches the whole process group; the parent decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel = socket.socket(fileno=channel_fd)
    # Load fonts, Pango and the stylesheet once, before any fork; a warm-up that fails only
    # leaves each child to do it itself.
    with contextlib.suppress(Exception):
        html_to_pdf(_WARM_UP_HTML)
    children: set[int] = set()
    try:
        while True:
            message, descriptors, _flags, _address = socket.recv_fds(channel, 64, 2)
            if not message:
                return
            if message[:1] == b"F" and len(descriptors) == 2:
                _kind, memory, cpu_seconds = _FORK.unpack(message)
                html_read, pdf_write = descriptors
                pid = os.fork()
                if pid == 0:
                    channel.close()
                    _render_child(html_read, pdf_write, memory, cpu_seconds)
                os.close(html_read)
                os.close(pdf_write)
                children.add(pid)
                channel.sendall(_FORKED.pack(pid))
            elif message[:1] == b"R":
                _kind, pid = _REAP.unpack(message)
                _pid, status, usage = os.wait4(pid, 0)
                children.discard(pid)
                channel.sendall(_REAPED.pack(status, usage.ru_utime + usage.ru_stime))
            else:
                for descriptor in descriptors:
                    os.close(descriptor)
    finally:
        for pid in children:
            _kill(pid)
            os.waitpid(pid, 0)


def _render_child(html_read: int, pdf_write: int, memory: int, cpu_seconds: int) -> NoReturn:
    """A forked child: take on the limits, read the HTML, write the answer, and exit."""
    status = 1
    try:
        _lower_limit(resource.RLIMIT_AS, memory, memory)
        _lower_limit(resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 1)
        try:
            with open(html_read, "rb") as source:
                html = source.read().decode("utf-8")
            kind, payload = _PDF, html_to_pdf(html)
        except MemoryError:
            kind, payload = _NO_MEMORY, b""
        except Exception as exc:  # the reason goes back to the parent, which raises it
            kind, payload = _ERROR, f"{type(exc).__name__}: {exc}".encode("utf-8", "replace")
        with open(pdf_write, "wb") as sink:
            sink.write(_ANSWER.pack(kind, len(payload)))
            sink.write(payload)
        status = 0
    finally:
        # Never return into the server's loop; skip its clean-up (atexit, buffers, objects).
        os._exit(status)


def _lower_limit(kind: int, soft: int, hard: int) -> None:
    """Set a resource limit, never above the hard limit this process inherited."""
    _, inherited = resource.getrlimit(kind)
    if inherited != resource.RLIM_INFINITY:
        soft, hard = min(soft, inherited), min(hard, inherited)
    resource.setrlimit(kind, (soft, hard))
