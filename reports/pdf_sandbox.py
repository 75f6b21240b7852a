"""WeasyPrint fenced in: no network, no files but our assets, bounded time and memory.

Rendering never reaches the network or the file system outside the bundled assets: the URL
fetcher serves `data:` URLs and files inside `reports/assets/`, and refuses everything else
(http, https, ftp, other files, redirects), so text a respondent typed (an <img src="http://...">,
a CSS url()) cannot make the renderer fetch anything, even if it ever escaped Jinja's escaping.

``html_to_pdf_bounded`` runs WeasyPrint in a child Python process whose address space is capped
(``RLIMIT_AS``) and whose CPU time is capped (``RLIMIT_CPU``), under a wall-clock timeout after
which the parent kills it. A pathological document therefore costs at most one child's limits,
never the web worker: the child is a fresh interpreter (no fork of a threaded server), reads
the HTML on stdin and writes the PDF on stdout. POSIX only (``resource``).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
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

    Raises ReportRenderingError when the child fails, exceeds its memory or CPU time, or is
    still running at the timeout (it is then killed).
    """
    limits = limits or RenderLimits()
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(_PROJECT_ROOT), environment.get("PYTHONPATH", "")) if part
    )
    command = [
        sys.executable,
        "-c",
        "from reports.pdf_sandbox import child_main; child_main()",
        str(limits.memory_bytes),
        str(max(1, int(limits.timeout_seconds + 0.999))),
    ]
    try:
        finished = subprocess.run(
            command,
            input=html.encode("utf-8"),
            capture_output=True,
            timeout=limits.timeout_seconds,
            env=environment,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ReportRenderingError(
            f"the PDF took longer than {limits.timeout_seconds:g} seconds to render"
        ) from None
    if finished.returncode != 0 or not finished.stdout.startswith(b"%PDF-"):
        reason = _failure_reason(finished.returncode, finished.stderr)
        raise ReportRenderingError(f"the PDF could not be rendered: {reason}")
    return finished.stdout


def _failure_reason(returncode: int, stderr: bytes) -> str:
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    last = lines[-1] if lines else ""
    if "MemoryError" in last:
        return "it needed more memory than allowed"
    if returncode < 0:
        # Cairo and Pango do not all check allocations: out of memory can end in SIGSEGV.
        return f"the renderer stopped on signal {-returncode} (often: out of memory)"
    return last[-300:] or f"the renderer exited with status {returncode}"


def child_main() -> None:
    """Entry point of the child: ``argv`` = memory bytes, CPU seconds; HTML on stdin."""
    memory, cpu_seconds = int(sys.argv[1]), int(sys.argv[2])
    _lower_limit(resource.RLIMIT_AS, memory, memory)
    _lower_limit(resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 1)
    html = sys.stdin.buffer.read().decode("utf-8")
    pdf = html_to_pdf(html)
    sys.stdout.buffer.write(pdf)
    sys.stdout.buffer.flush()


def _lower_limit(kind: int, soft: int, hard: int) -> None:
    """Set a resource limit, never above the hard limit this process inherited."""
    _, inherited = resource.getrlimit(kind)
    if inherited != resource.RLIM_INFINITY:
        soft, hard = min(soft, inherited), min(hard, inherited)
    resource.setrlimit(kind, (soft, hard))
