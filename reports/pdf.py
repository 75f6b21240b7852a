"""The PDF report: the summary JSON rendered through a Jinja template by WeasyPrint.

Rendering never reaches the network or the file system outside the bundled assets: the URL
fetcher below serves `data:` URLs and files inside `reports/assets/`, and refuses everything
else, so text a respondent typed (an <img src="http://...">, a CSS url()) cannot make the
renderer fetch anything. All user text is escaped by Jinja's autoescape.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetchingError

ASSETS = Path(__file__).resolve().parent / "assets"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


class AssetsOnlyFetcher(URLFetcher):
    """Serves `data:` URLs and files under `reports/assets/`; refuses every other URL."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols={"data", "file"}, allow_redirects=False, timeout=1)

    def fetch(self, url: str, headers: Any = None) -> Any:
        """The resource at `url`; raises URLFetchingError for anything but our assets."""
        scheme = url.split(":", 1)[0].lower()
        if scheme == "file":
            path = Path(unquote(urlsplit(url).path)).resolve()
            if not path.is_relative_to(ASSETS) or not path.is_file():
                raise URLFetchingError(f"refused: {url[:80]}")
        elif scheme != "data":
            raise URLFetchingError(f"refused: {url[:80]}")
        return super().fetch(url, headers)


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES / "pdf"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["one_decimal"] = lambda value: "–" if value is None else f"{value:.1f}"
    environment.filters["two_decimals"] = lambda value: "–" if value is None else f"{value:.2f}"
    environment.filters["whole"] = lambda value: "–" if value is None else f"{value:,.0f}"
    return environment


def render_report_html(
    summary: Mapping[str, Any], generated_at: datetime, software_version: str
) -> str:
    """The report as HTML (also the page's preview)."""
    template = _environment().get_template("report.html")
    return template.render(
        summary=summary, generated_at=generated_at, software_version=software_version
    )


def render_report_pdf(
    summary: Mapping[str, Any], generated_at: datetime, software_version: str
) -> bytes:
    """The report as PDF bytes."""
    html = render_report_html(summary, generated_at, software_version)
    document = HTML(string=html, base_url=ASSETS.as_uri() + "/", url_fetcher=AssetsOnlyFetcher())
    title = f"{summary['survey']['title']}: {_scope_name(summary)}"
    return document.write_pdf(pdf_variant=None, metadata={"title": title}) or b""


def _scope_name(summary: Mapping[str, Any]) -> str:
    scope = summary.get("scope")
    return scope["name"] if scope else "England"
