"""Free-text themes as stored and read from the database: counted once per respondent across
a survey's text questions, and definitions stored before codebooks had phrases still coded by
their regular expressions. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from sqlmodel import Session, select

from survey_app.models import Organisation, OrgLevel, Question, Survey, TextTheme
from survey_app.reporting.scope import survey_spec
from survey_app.reporting.summary_data import load_summary
from survey_app.services.responses import import_responses
from survey_app.services.surveys import survey_by_slug

MIN_N = 5
#: (icb_support, challenges, one_change) per leader; whether each speaks of its training hub.
LEADERS: list[tuple[tuple[str, str, str], bool]] = [
    (("Our training hub runs the fellowship", "", ""), True),
    (("", "The Training-Hub's budget is annual", "Fund training hubs properly"), True),
    (("The hub's preceptorship programme", "", "More money"), True),
    (("We have no training hub", "Recruitment", ""), False),
    (("", "", "Traning hub investment"), True),
    (("Training and Education Hub placements", "Estates", "Training hubs"), True),
    (("We work with the LMC", "Workload", ""), False),
    (("", "Fundamentally, recruitment", ""), False),
    (("ARRS roles", "Room for improvement in planning", ""), False),
    (("", "", ""), False),
    (("The training hub", "", ""), True),
    (("", "", ""), False),
]


def _import(session: Session, survey: Survey) -> None:
    icbs = session.exec(
        select(Organisation.code).where(Organisation.level == OrgLevel.ICB).order_by("code")
    ).all()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["org_code", "icb_support", "challenges", "one_change"])
    for code, (texts, _) in zip(icbs, LEADERS, strict=False):
        writer.writerow([code, *texts])
    report = import_responses(session, survey, buffer.getvalue(), "leaders.csv", max_text=5000)
    assert report.imported == len(LEADERS)
    session.commit()


def test_leaders_are_counted_once_across_their_answers(
    db_session: Session, surveys: dict[str, Survey]
) -> None:
    survey = surveys["icb-leaders"]
    _import(db_session, survey)
    summary = load_summary(db_session, survey, None, None, MIN_N)

    hubs = {row["code"]: row for row in summary["text_themes"]}["training-hubs"]
    wrote = sum(1 for texts, _ in LEADERS if any(text.strip() for text in texts))
    speaking = sum(1 for _, speaks in LEADERS if speaks)
    assert (speaking, wrote) == (6, 10)
    assert hubs == {
        "code": "training-hubs",
        "label": "Training hubs",
        "respondents": speaking,
        "of": len(LEADERS),
        "of_answered": wrote,
        "percent": 100 * speaking / len(LEADERS),
        "suppressed": False,
    }
    # Per question the counts are of answers, and a leader may count in several questions;
    # two mentions to a question are fewer than k and withheld.
    per_question = {
        q["question"]: {t["code"]: t for t in q["themes"]}["training-hubs"]
        for q in summary["free_text"]
    }
    assert per_question["icb_support"]["mentions"] is None
    assert per_question["icb_support"]["suppressed"] is True
    # Funding: "Fundamentally" is another word, the rest are leaders speaking of money.
    funding = {row["code"]: row for row in summary["text_themes"]}["funding"]
    assert funding["respondents"] is None and funding["suppressed"] is True  # 3 of them


def test_a_definition_stored_with_regular_expressions_is_still_read_and_coded_so(
    db_session: Session, surveys: dict[str, Survey]
) -> None:
    survey = surveys["icb-leaders"]
    _import(db_session, survey)
    # As a definition stored before codebooks had phrases: one pattern per line.
    stored = db_session.exec(
        select(TextTheme)
        .join(Question, Question.id == TextTheme.question_id)
        .where(Question.survey_id == survey.id, TextTheme.code == "training-hubs")
    ).all()
    assert stored and all(theme.rules is not None for theme in stored)
    for theme in stored:
        theme.patterns = "training hubs?\n"
        db_session.add(theme)
    db_session.commit()
    survey = survey_by_slug(db_session, "icb-leaders")
    assert survey is not None
    (spec_theme,) = [
        t for t in survey_spec(survey).text_questions[0].themes if t.code == "training-hubs"
    ]
    assert spec_theme.rules is None and spec_theme.patterns == ("training hubs?",)

    summary = load_summary(db_session, survey, None, None, MIN_N)
    hubs = {row["code"]: row for row in summary["text_themes"]}["training-hubs"]
    # The regular expressions count "We have no training hub" and miss the misspelt and
    # hyphenated ones, as they always did.
    regex = re.compile("training hubs?", re.IGNORECASE)
    expected = sum(1 for texts, _ in LEADERS if any(regex.search(text) for text in texts))
    assert expected == 5
    assert hubs["respondents"] == expected


def test_the_report_page_shows_respondents_across_answers_and_withholds_small_counts(
    db_session: Session,
    surveys: dict[str, Survey],
    client: FlaskClient,
    make_user: Callable[..., Any],
    sign_in: Callable[..., Any],
) -> None:
    _import(db_session, surveys["icb-leaders"])
    make_user("admin@example.nhs.uk", "admin", ())
    sign_in("admin@example.nhs.uk")
    page = client.get("/reports/icb-leaders")
    assert page.status_code == 200
    text = " ".join(page.text.split())
    assert "Across all answers" in text
    assert "10 of 12 wrote anything." in text
    assert "6 of 12" in text and "6 of 10" in text  # training hubs, per respondent
    # "one_change" was answered by 4 leaders: fewer than k, so no count is shown.
    one_change = sum(1 for texts, _ in LEADERS if texts[2].strip())
    assert one_change == 4
    assert "The number who answered is withheld." in text
