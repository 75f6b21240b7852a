"""One report path for the web, the command line and the benchmarks: which summary a report
is of, what else it needs from the database, and its rendering.

`build_summary` reads the summary of one wave, scope and grouping; `build_report` adds what
the PDF needs besides (`load_report_inputs`); `render_report` makes the PDF or its HTML. The
wave and grouping are passed in and kept beside the summary, never read back out of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, overload

from sqlmodel import Session

from reports.pdf import render_report_html, render_report_pdf
from reports.summary_types import Summary
from survey_app.models import Organisation, Survey, Wave
from survey_app.reporting.report_inputs import ReportInputs, load_report_inputs
from survey_app.reporting.scope import Grouping, resolve_grouping
from survey_app.reporting.summary_data import load_summary


@dataclass(frozen=True, slots=True)
class WaveSummary:
    """The summary JSON of one wave of a survey for a scope (None: England), grouped or not,
    with the survey, scope, wave and grouping it was read for."""

    survey: Survey
    scope: Organisation | None
    wave: Wave
    grouping: Grouping | None
    summary: Summary

    @property
    def by(self) -> str | None:
        """The level or choice question code the summary is grouped by; None for none."""
        return self.grouping.by if self.grouping is not None else None

    @property
    def scope_code(self) -> str | None:
        """The scope's organisation code; None for England."""
        return self.scope.code if self.scope is not None else None


@dataclass(frozen=True, slots=True)
class Report:
    """Everything a rendered report shows: the summary of `wave` of `survey` for `scope`
    grouped `by`, and the period, wording and quotes beside it."""

    survey: Survey
    scope: Organisation | None
    wave: Wave
    by: str | None
    summary: Summary
    inputs: ReportInputs


def build_summary(
    session: Session,
    survey: Survey,
    scope: Organisation | None,
    *,
    by: str | None,
    wave: Wave,
    min_n: int,
) -> WaveSummary:
    """The summary of `wave` of `survey` for `scope` grouped `by` (a level or a choice
    question code; None or "" for no grouping), withholding groups under `min_n`.

    Refuses (ServiceError) an unknown `by`, and (ValueError) a wave of another survey.
    """
    grouping = resolve_grouping(survey, by)
    summary = load_summary(session, survey, scope, by, min_n, wave)
    return WaveSummary(survey, scope, wave, grouping, summary)


def report_from_summary(session: Session, summarised: WaveSummary) -> Report:
    """The report of a summary `build_summary` made: the summary with the period of its
    responses, the survey's wording and the quotes its rules allow, all of its wave, scope and
    grouping. For callers that look at the summary first (the web's file store) so as to read
    the rest only when a report must be rendered."""
    inputs = load_report_inputs(
        session,
        summarised.survey,
        summarised.scope,
        summarised.wave,
        summarised.summary,
    )
    return Report(
        summarised.survey,
        summarised.scope,
        summarised.wave,
        summarised.by,
        summarised.summary,
        inputs,
    )


def build_report(
    session: Session,
    survey: Survey,
    scope: Organisation | None,
    *,
    by: str | None,
    wave: Wave,
    min_n: int,
) -> Report:
    """The report of `wave` of `survey` for `scope` grouped `by`, withholding groups under
    `min_n`: `build_summary` and then `report_from_summary`.

    Refuses (ServiceError) an unknown `by`, and (ValueError) a wave of another survey.
    """
    return report_from_summary(
        session, build_summary(session, survey, scope, by=by, wave=wave, min_n=min_n)
    )


@overload
def render_report(
    report: Report, generated_at: datetime, version: str, *, fmt: Literal["pdf"] = "pdf"
) -> bytes: ...


@overload
def render_report(
    report: Report, generated_at: datetime, version: str, *, fmt: Literal["html"]
) -> str: ...


def render_report(
    report: Report,
    generated_at: datetime,
    version: str,
    *,
    fmt: Literal["pdf", "html"] = "pdf",
) -> bytes | str:
    """`report` as a PDF (bytes) or as the HTML the PDF is made from (str), stamped with
    `generated_at` and the software `version`.

    Refuses (ReportRenderingError) a PDF its bounded rendering child could not make, and
    (ValueError) a format other than "pdf" or "html".
    """
    if fmt == "pdf":
        return render_report_pdf(report.summary, generated_at, version, **report.inputs.as_kwargs())
    if fmt == "html":
        return render_report_html(
            report.summary, generated_at, version, **report.inputs.as_kwargs()
        )
    raise ValueError(f"fmt: {fmt!r} is neither 'pdf' nor 'html'")
