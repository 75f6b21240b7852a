"""The demo's ICB leader responses: one from every ICB, some rating the statements, every one
answering some free text about training hubs, ARRS, funding and the rest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlmodel import Session, select

from survey_app.demo.storing import insert_responses, likert_answer, text_answer
from survey_app.models import Organisation, OrgLevel, Survey
from survey_app.services.response_rows import stored_time

_ICB_RATERS = 15
_ICB_ON_RECORD = 21
_TRAINING_HUB_MENTIONS = 16
_ARRS_MENTIONS = 20
#: Mean rating of each statement among the leaders who rate them.
_STATEMENT_MEANS = {
    "fund_government": 1.45,
    "fund_icb": 2.2,
    "fund_recruitment": 1.85,
    "rec_gps": 2.7,
    "rec_nurses": 2.4,
    "ret_experienced": 2.5,
    "ret_schemes": 3.3,
    "hub_effective": 4.0,
    "hub_resourced": 3.65,
    "arrs_integrated": 3.1,
    "arrs_supervision": 2.6,
    "est_space": 2.1,
    "dig_systems": 2.8,
}
_TEXT_QUESTIONS = ("icb_support", "challenges", "one_change")
#: Sentences by topic and by each question of `_TEXT_QUESTIONS`. Only the training-hubs sentences
#: mention training hubs and only the arrs ones ARRS or additional roles, so exactly
#: `_TRAINING_HUB_MENTIONS` and `_ARRS_MENTIONS` leaders mention them; other topics overlap.
_LEADER_SENTENCES: dict[str, dict[str, tuple[str, ...]]] = {
    "training-hubs": {
        "icb_support": (
            "Our training hub runs the preceptorship programme for new nurses and mentoring for "
            "early-career GPs",
            "We commission the training hub to place learners across every PCN",
            "The training hubs coordinate educator development and placement capacity",
        ),
        "challenges": (
            "The training hub's funding is confirmed a year at a time, so it cannot plan",
            "Training hubs are asked to do more every year with the same small team",
        ),
        "one_change": (
            "Recurrent funding for training hubs instead of annual allocations",
            "A national role for training hubs in workforce planning",
        ),
    },
    "arrs": {
        "icb_support": (
            "We help PCNs recruit and induct staff under ARRS",
            "A network of clinical supervisors supports the additional roles",
            "Our ARRS induction programme covers clinical pharmacists and paramedics",
        ),
        "challenges": (
            "Practices struggle to supervise the additional roles they have recruited",
            "ARRS staff are not always used to the top of their licence",
            "Integrating additional roles into practice teams takes supervision time nobody has",
        ),
        "one_change": (
            "Let PCNs use ARRS money for GPs and nurses as well",
            "Funded supervision time for every additional role",
            "Longer-term certainty for the additional roles reimbursement scheme",
        ),
    },
    "funding": {
        "icb_support": (
            "We have protected the primary care budget despite system pressures",
            "Local enhanced service funding supports extended access",
        ),
        "challenges": (
            "Core funding has not kept pace with demand or inflation",
            "Practices cannot afford the staff they need on current funding",
            "There is no money left for anything beyond the core contract",
        ),
        "one_change": (
            "A fairer share of NHS funding for general practice",
            "Multi-year financial settlements so practices can plan",
            "Investment in the core contract rather than more targeted schemes",
        ),
    },
    "mentoring": {
        "icb_support": (
            "We fund a mentoring scheme for GPs in their first five years",
            "Coaching is offered to every practice manager",
        ),
        "challenges": ("There are too few experienced clinicians left to mentor new starters",),
        "one_change": ("Protected time for mentors in every practice",),
    },
    "retention": {
        "icb_support": (
            "Our retention fellowships offer portfolio careers to GPs",
            "We run a scheme to retain GPs approaching retirement",
        ),
        "challenges": (
            "Experienced GPs are leaving through burnout and early retirement",
            "Retention of practice nurses is getting harder each year",
            "Salaried GPs are leaving for better terms elsewhere",
        ),
        "one_change": (
            "A national retention offer that keeps experienced staff in the profession",
        ),
    },
    "recruitment": {
        "icb_support": (
            "We run a joint recruitment campaign with our practices",
            "International recruits get help with relocation and induction",
        ),
        "challenges": (
            "GP vacancies in our coastal and rural practices stay open for months",
            "We cannot recruit enough general practice nurses",
        ),
        "one_change": ("Make it easier to recruit newly qualified GPs into substantive posts",),
    },
    "estates": {
        "icb_support": ("We have a capital programme to extend practice premises",),
        "challenges": (
            "Practice buildings have no room for the extra staff or for learners",
            "Many premises are old and cannot be extended",
        ),
        "one_change": (
            "Capital investment in primary care estate",
            "A simpler route to funding for premises improvements",
        ),
    },
}
_LEADER_TOPIC_RATES = {
    "funding": 0.55,
    "mentoring": 0.25,
    "retention": 0.4,
    "recruitment": 0.45,
    "estates": 0.3,
}
_LEADER_OTHER = {
    "icb_support": (
        "We work closely with PCN clinical directors",
        "Our primary care team meets every practice each quarter",
        "A primary care workforce group brings practices, PCNs and the ICB together",
        "We share data on demand and workforce with every PCN",
    ),
    "challenges": (
        "Demand keeps rising faster than capacity",
        "Patient expectations have changed since the pandemic",
        "Workload in general practice is unsustainable",
        "Morale is low after years of pressure",
    ),
    "one_change": (
        "Less central micromanagement and more local flexibility",
        "A simpler contract",
        "A long-term workforce plan for general practice that is delivered",
        "Fewer national targets and more trust in local leaders",
    ),
}


def add_icb_leader_responses(
    session: Session, survey: Survey, rng: np.random.Generator, now: datetime
) -> None:
    """One response per ICB: 15 rate the statements, every one answers some free text."""
    icbs = session.exec(
        select(Organisation).where(Organisation.level == OrgLevel.ICB).order_by(Organisation.code)
    ).all()
    count = len(icbs)
    questions = {question.code: question for question in survey.questions}
    raters = set(rng.choice(count, size=min(_ICB_RATERS, count), replace=False).tolist())
    on_record = set(rng.choice(count, size=min(_ICB_ON_RECORD, count), replace=False).tolist())
    topics_of: list[set[str]] = [set() for _ in range(count)]
    for topic, mentions in (("training-hubs", _TRAINING_HUB_MENTIONS), ("arrs", _ARRS_MENTIONS)):
        for index in rng.choice(count, size=min(mentions, count), replace=False):
            topics_of[index].add(topic)
    for topics in topics_of:
        topics.update(topic for topic, rate in _LEADER_TOPIC_RATES.items() if rng.random() < rate)

    responses: list[dict[str, Any]] = []
    answers: list[list[dict[str, Any]]] = []
    for index, icb in enumerate(icbs):
        moment = now - timedelta(days=float(rng.uniform(1, 70)), hours=float(rng.uniform(0, 9)))
        responses.append(
            {
                "survey_id": survey.id,
                "wave_id": survey.current_wave.id,
                "organisation_id": icb.id,
                "submitted_at": stored_time(survey, moment.replace(microsecond=0)),
                "on_record": index in on_record and survey.asks_on_record,
            }
        )
        row: list[dict[str, Any]] = []
        if index in raters:
            optimism = rng.normal(0, 0.45)
            rated = [code for code in _STATEMENT_MEANS if rng.random() > 0.07] or ["hub_effective"]
            for code in rated:
                value = int(
                    np.clip(np.rint(_STATEMENT_MEANS[code] + optimism + rng.normal(0, 0.6)), 1, 5)
                )
                row.append(likert_answer(questions[code], value))
        row += [
            text_answer(questions[code], text)
            for code, text in _leader_texts(rng, sorted(topics_of[index])).items()
        ]
        answers.append(row)
    insert_responses(session, responses, answers)


def _leader_texts(rng: np.random.Generator, topics: Sequence[str]) -> dict[str, str]:
    """Free-text answers by question code: at least one, together mentioning every topic."""
    answered = [
        code
        for code, rate in zip(_TEXT_QUESTIONS, (0.9, 0.85, 0.7), strict=True)
        if rng.random() < rate
    ] or ["challenges"]
    sentences: dict[str, list[str]] = {code: [] for code in answered}
    for topic in topics:
        code = answered[int(rng.integers(len(answered)))]
        options = _LEADER_SENTENCES[topic][code]
        sentences[code].append(options[int(rng.integers(len(options)))])
    for code, found in sentences.items():
        if not found or rng.random() < 0.25:
            options = _LEADER_OTHER[code]
            found.append(options[int(rng.integers(len(options)))])
        rng.shuffle(found)
    return {code: ". ".join(found) + "." for code, found in sentences.items()}
