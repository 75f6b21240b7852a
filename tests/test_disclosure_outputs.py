"""Two rules of disclosure control that a table-by-table attack does not see.

* A theme is withheld wherever one of its statements is: its mean and spread beside its other
  statements' published counts could solve the withheld statement back.
* The quotes of a scope are the same whatever the report is grouped by, and come only from a
  question answered by at least k in the scope: comparing two reports ties no quote to a group.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from survey_app.models import Organisation, Survey
from survey_app.reporting.report import build_report
from survey_app.reporting.summary_data import load_summary
from survey_app.services.organisations import organisation_by_code
from survey_app.services.responses import import_responses

K = 5
HEADER = "org_code,profession,stage,overall,fac_space,fac_it,fac_study,worked_well\n"


def rows(place: str, count: int, fac_study: str, text: str = "") -> str:
    return f"{place},gp-trainee,postgraduate,4,4,5,{fac_study},{text}\n" * count


def test_a_theme_is_withheld_where_one_of_its_statements_is(
    db_session: Session,
    surveys: dict[str, Survey],
    hubs: dict[str, Organisation],
) -> None:
    # Cathedral Surgery: nine learners, three of whom rated study time; everyone has a
    # facilities score (two of its three statements answered).
    csv = HEADER + rows("P-EK1", 3, "2") + rows("P-EK1", 6, "") + rows("P-WK1", 12, "4")
    import_responses(db_session, surveys["placement-quality"], csv, "themes.csv", 5000)
    scope = organisation_by_code(db_session, "P-EK1")
    summary = load_summary(db_session, surveys["placement-quality"], scope, None, K)
    items = {item["code"]: item for item in summary["items"]}
    facilities = next(theme for theme in summary["themes"] if theme["code"] == "facilities")
    assert summary["responses"] == 9
    assert items["fac_study"]["suppressed"] is True  # three answers
    assert items["fac_space"]["n"] == 9 and items["fac_it"]["n"] == 9
    # Nine theme scores, but published they would give the three study ratings away: the mean
    # of nine scores less the two published statements' totals is the withheld one's total.
    assert facilities["suppressed"] is True and facilities["mean"] is None
    assert summary["secondary_suppressed"] >= 1
    # West Kent's theme goes too (England less it would give Cathedral's); England's, whose
    # statements are all published, is shown.
    england = load_summary(db_session, surveys["placement-quality"], None, None, K)
    england_facilities = next(t for t in england["themes"] if t["code"] == "facilities")
    assert england_facilities["suppressed"] is False and england_facilities["n"] == 21


def quotes_of(session: Session, survey: Survey, scope: str | None, by: str | None) -> list[Any]:
    organisation = organisation_by_code(session, scope) if scope else None
    report = build_report(session, survey, organisation, by=by, wave=survey.waves[0], min_n=K)
    return sorted((quote["question"], quote["text"]) for quote in report.inputs.quotes)


def test_the_quotes_of_a_scope_do_not_depend_on_the_grouping(
    db_session: Session,
    surveys: dict[str, Survey],
    hubs: dict[str, Organisation],
    make_orgs: Callable[..., dict[str, Organisation]],
) -> None:
    survey = surveys["placement-quality"]
    # A lone learner at Harbour Surgery writes the only comment about the IT there; eight
    # learners at Cathedral Surgery write about supervision.
    csv = (
        HEADER
        + rows("P-EK2", 1, "4", "The clinical system logins never worked for me all week")
        + rows("P-EK1", 8, "4", "My supervisor made time for me every single day")
    )
    import_responses(db_session, survey, csv, "quotes.csv", 5000)
    plain = quotes_of(db_session, survey, "H-EK", None)
    assert plain, "nine answers in the hub: quotes are shown"
    for by in ("practice", "pcn", "profession", "stage"):
        assert quotes_of(db_session, survey, "H-EK", by) == plain, by
    # The lone learner's own practice is a scope of one answer: no quote at all.
    assert quotes_of(db_session, survey, "P-EK2", None) == []
