"""Rendered PDF reports, kept on disk by what they show and built in the background when large.

A report is named by the SHA-256 of its data fingerprint (the summary's canonical JSON), its
parameters and the software version: the same data and request give the same file, so a
report is rendered once however often it is downloaded, and new responses give a new name.
Files are written to a temporary name and renamed, so a reader never sees half a PDF; several
worker processes on one host share the folder. A report being built has a `.pending` marker
(its start time); a failed build leaves `.error` with the reason.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

#: One background render at a time per process: rendering is CPU-bound and runs in a child
#: process, so more at once would only slow each down.
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="report")
_lock = threading.Lock()
#: A marker older than this belongs to a build that died (its process was killed).
STALE_AFTER_SECONDS = 600


@dataclass(frozen=True, slots=True)
class ReportState:
    """Where a report stands: `ready` (with its path), `pending` (since when), `failed`
    (with the reason) or `missing`."""

    status: str
    path: Path | None = None
    started_at: float | None = None
    error: str | None = None


def report_key(
    fingerprint: str,
    slug: str,
    scope: str | None,
    by: str | None,
    version: str,
    wave: Mapping[str, object] | None = None,
    figures_as_of: date | None = None,
) -> str:
    """The file name (without extension) of one report, of the wave `wave` names (the
    summary's ``{"number", "name"}``): two waves with the same figures are still two reports,
    each titled with its own wave; so are two days' snapshots of an open wave
    (`figures_as_of`), each dated on its cover."""
    wave_text = f"wave {wave['number']}: {wave['name']}" if wave else ""
    material = [fingerprint, slug, scope or "", by or "", version, wave_text]
    if figures_as_of is not None:
        material.append(f"figures as of {figures_as_of.isoformat()}")
    material_text = "\n".join(material)
    return hashlib.sha256(material_text.encode("utf-8")).hexdigest()


def report_state(folder: Path, key: str) -> ReportState:
    """The state of report `key` in `folder`."""
    pdf, pending, error = _paths(folder, key)
    if pdf.exists():
        return ReportState("ready", path=pdf)
    if error.exists():
        return ReportState("failed", error=error.read_text(encoding="utf-8"))
    if pending.exists():
        started = _read_start(pending)
        if started is not None and time.time() - started < STALE_AFTER_SECONDS:
            return ReportState("pending", started_at=started)
    return ReportState("missing")


def store_report(folder: Path, key: str, pdf: bytes) -> Path:
    """Write `pdf` as report `key` atomically; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path, pending, _error = _paths(folder, key)
    temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_bytes(pdf)
    os.replace(temporary, path)
    pending.unlink(missing_ok=True)
    return path


def build_in_background(folder: Path, key: str, render: Callable[[], bytes]) -> ReportState:
    """Start building report `key` with `render` unless it is ready or being built; returns
    the state after the call (`pending` while it builds)."""
    folder.mkdir(parents=True, exist_ok=True)
    with _lock:
        state = report_state(folder, key)
        if state.status in ("ready", "pending"):
            return state
        _pdf, pending, error = _paths(folder, key)
        error.unlink(missing_ok=True)
        started = time.time()
        pending.write_text(f"{started}", encoding="utf-8")
    _executor.submit(_build, folder, key, render)
    return ReportState("pending", started_at=started)


def _build(folder: Path, key: str, render: Callable[[], bytes]) -> None:
    try:
        store_report(folder, key, render())
    except Exception as exc:  # the reason is shown to the person waiting, and logged by them
        _pdf, pending, error = _paths(folder, key)
        error.write_text(f"{type(exc).__name__}: {exc}", encoding="utf-8")
        pending.unlink(missing_ok=True)


def _paths(folder: Path, key: str) -> tuple[Path, Path, Path]:
    return folder / f"{key}.pdf", folder / f"{key}.pending", folder / f"{key}.error"


def _read_start(pending: Path) -> float | None:
    try:
        return float(pending.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
