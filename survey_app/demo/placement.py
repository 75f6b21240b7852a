"""The demo's placement-quality responses: about 2,000 learners of eleven professions over the
demo practices, PCNs and hubs, in two waves, one per rotation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import numpy as np
from sqlmodel import Session, col, select

from survey_app.demo.organisations import HUBS, demo_hub_code
from survey_app.demo.storing import choice_answer, insert_responses, likert_answer, text_answer
from survey_app.models import Organisation, OrgLevel, QuestionType, Survey, Wave
from survey_app.services.response_rows import stored_time
from survey_app.services.waves import start_wave

PLACEMENT_RESPONSES = 2000


class _Profession(NamedTuple):
    code: str
    share: float
    #: Added to the ratings of these themes.
    theme_effects: Mapping[str, float]
    #: Stage option codes and their shares.
    stages: Mapping[str, float]
    #: Placement length option codes and their shares.
    lengths: Mapping[str, float]


_ARRS_GAPS = {"induction": -0.55, "supervision": -0.5, "educators": -0.25}
_PROFESSIONS: tuple[_Profession, ...] = (
    _Profession(
        "gp-trainee",
        0.28,
        {"supervision": 0.35, "educators": 0.25, "learning": 0.1, "career": 0.35},
        {"postgraduate": 1.0},
        {"3-to-6-months": 0.45, "over-6-months": 0.45, "1-to-3-months": 0.1},
    ),
    _Profession(
        "medical-student",
        0.30,
        {"learning": 0.1, "facilities": -0.1, "career": -0.1},
        {"pre-registration": 1.0},
        {"under-2-weeks": 0.3, "2-to-4-weeks": 0.5, "1-to-3-months": 0.2},
    ),
    _Profession(
        "student-nurse",
        0.11,
        {"culture": 0.1, "supervision": -0.1},
        {"pre-registration": 1.0},
        {"2-to-4-weeks": 0.3, "1-to-3-months": 0.6, "3-to-6-months": 0.1},
    ),
    _Profession(
        "practice-nurse",
        0.05,
        {"induction": -0.2},
        {"newly-qualified": 0.5, "experienced": 0.5},
        {"3-to-6-months": 0.4, "over-6-months": 0.6},
    ),
    _Profession(
        "nursing-associate",
        0.04,
        {"induction": -0.1},
        {"pre-registration": 0.6, "newly-qualified": 0.4},
        {"1-to-3-months": 0.5, "3-to-6-months": 0.3, "over-6-months": 0.2},
    ),
    _Profession(
        "pharmacist",
        0.06,
        {**_ARRS_GAPS, "culture": -0.15},
        {"newly-qualified": 0.4, "experienced": 0.6},
        {"1-to-3-months": 0.2, "3-to-6-months": 0.3, "over-6-months": 0.5},
    ),
    _Profession(
        "pharmacy-technician",
        0.03,
        {"induction": -0.4, "supervision": -0.4},
        {"newly-qualified": 0.5, "experienced": 0.5},
        {"1-to-3-months": 0.3, "3-to-6-months": 0.3, "over-6-months": 0.4},
    ),
    _Profession(
        "paramedic",
        0.04,
        {**_ARRS_GAPS, "facilities": -0.15},
        {"experienced": 0.8, "newly-qualified": 0.2},
        {"1-to-3-months": 0.3, "3-to-6-months": 0.3, "over-6-months": 0.4},
    ),
    _Profession(
        "physician-associate",
        0.04,
        {"induction": -0.3, "supervision": -0.35, "career": -0.2},
        {"newly-qualified": 0.7, "postgraduate": 0.3},
        {"3-to-6-months": 0.4, "over-6-months": 0.6},
    ),
    _Profession(
        "physiotherapist",
        0.025,
        {"induction": -0.4, "supervision": -0.3},
        {"experienced": 0.9, "newly-qualified": 0.1},
        {"3-to-6-months": 0.3, "over-6-months": 0.7},
    ),
    _Profession(
        "other-arrs",
        0.025,
        {**_ARRS_GAPS, "culture": -0.25, "facilities": -0.2},
        {"experienced": 0.6, "newly-qualified": 0.4},
        {"1-to-3-months": 0.3, "3-to-6-months": 0.3, "over-6-months": 0.4},
    ),
)
_ARRS_ROLES = frozenset(
    {
        "pharmacist",
        "pharmacy-technician",
        "paramedic",
        "physician-associate",
        "physiotherapist",
        "other-arrs",
    }
)

#: Mean rating of each theme for an average placement.
_THEME_MEANS = {
    "induction": 3.95,
    "supervision": 4.05,
    "learning": 4.0,
    "facilities": 3.55,
    "culture": 4.2,
    "educators": 3.9,
    "concerns": 3.85,
    "career": 3.6,
}
#: How an item sits against its theme's mean: some statements are harder to agree with.
_ITEM_OFFSETS = {
    "ind_welcome": 0.2,
    "ind_orientation": -0.15,
    "sup_named": 0.15,
    "sup_access": -0.1,
    "sup_scope": 0.1,
    "fac_it": -0.25,
    "fac_study": -0.3,
    "cul_respect": 0.15,
    "edu_time": -0.2,
    "con_confident": -0.15,
}
_MISSING_LIKERT = 0.03
#: The weight of a PCN or hub as a placement, against a typical practice's 1.7.
_LEARNERS_PLACED_BY = {OrgLevel.PCN: 0.18, OrgLevel.HUB: 0.25}

#: Free text: phrases for each codebook theme, and phrases that mention none.
_WORKED_WELL = {
    "supervision": (
        "My supervisor was always available between patients",
        "Excellent supervision throughout",
        "I always felt supported, even on the busiest days",
        "My GP trainer made time to go through every difficult case",
        "Supervision was well organised and I always knew who to ask",
        "A really supportive clinical supervisor",
    ),
    "team": (
        "The whole team made me feel welcome",
        "Friendly reception and admin staff",
        "Everyone in the practice team knew I was coming",
        "A really friendly practice",
        "I was included in team meetings from the start",
    ),
    "variety": (
        "A good variety of patients",
        "I saw a wide range of presentations",
        "Lots of different conditions, from baby checks to palliative care",
        "Home visits and care home rounds added variety",
        "A real range of ages and problems",
    ),
    "teaching": (
        "Weekly tutorials were excellent",
        "Case-based teaching at lunchtime",
        "Protected teaching time every week",
        "I was taught to do joint injections",
        "Teaching sessions with the other learners every Thursday",
    ),
}
_WORKED_WELL_OTHER = (
    "Good placement overall",
    "I would happily come back here",
    "I learned a lot about managing uncertainty",
    "My timetable was well planned",
    "Being trusted with my own clinics",
)
_COULD_BE_BETTER = {
    "space": (
        "There was often no room free for me to consult in",
        "Not enough clinical space for learners",
        "I had to hot-desk in the admin office",
        "The consulting rooms are cramped",
        "Finding a room to see patients was a daily struggle",
    ),
    "it-access": (
        "My smartcard took three weeks to arrive",
        "No EMIS login for the first fortnight",
        "IT access was slow to set up",
        "I could not get access to the records system at first",
        "SystmOne permissions kept expiring",
    ),
    "induction": (
        "A proper induction would have helped",
        "My first day was disorganised",
        "There was no orientation to the practice's policies",
        "The first week felt rushed and nobody knew I was coming",
    ),
    "workload": (
        "Supervisors were very busy and hard to find",
        "The workload left little time with my supervisor",
        "Clinics were so busy there was no time for case discussion",
        "The GPs were too busy to debrief after clinics",
    ),
}
_COULD_BE_BETTER_OTHER = (
    "More notice of the timetable would help",
    "Parking was difficult",
    "I would have liked more home visits",
    "Nothing major",
    "More chances to run my own clinic",
)
#: How often a free-text answer mentions each theme, before the hub's emphasis.
_WORKED_WELL_RATES = {"supervision": 0.35, "team": 0.35, "variety": 0.25, "teaching": 0.3}
_COULD_BE_BETTER_RATES = {
    "space": 0.25,
    "it-access": 0.25,
    "induction": 0.2,
    "workload": 0.25,
}


#: The placement survey's waves: the rotation that ended, and the one under way.
FIRST_WAVE_NAME = "2025/26 rotation 1"
SECOND_WAVE_NAME = "2025/26 rotation 2"
#: Days before today the first wave opened and the second wave opened (the first closing).
FIRST_WAVE_DAYS = 182
SECOND_WAVE_DAYS = 61


def placement_waves(session: Session, survey: Survey, now: datetime) -> tuple[Wave, Wave]:
    """The placement survey's wave 1, dated to close when the second rotation began, and its
    wave 2, started for that rotation and open since: (wave 1, wave 2)."""
    first = survey.current_wave
    first.name = FIRST_WAVE_NAME
    first.opens_at = now - timedelta(days=FIRST_WAVE_DAYS)
    first.closes_at = now - timedelta(days=SECOND_WAVE_DAYS)
    session.add(first)
    second = start_wave(
        session, survey, SECOND_WAVE_NAME, opens_at=now - timedelta(days=SECOND_WAVE_DAYS)
    )
    return first, second


def add_placement_responses(
    session: Session,
    survey: Survey,
    rng: np.random.Generator,
    now: datetime,
    waves: tuple[Wave, Wave],
) -> None:
    """About 2,000 responses over the demo practices (most), PCNs and hubs, in the two waves
    by their date: about two thirds in wave 1, the rest in wave 2, where the hubs'
    `second_wave_effects` apply."""
    orgs = session.exec(
        select(Organisation)
        .where(col(Organisation.code).startswith("DEMO-"))
        .order_by(Organisation.code)
    ).all()
    hub_number = {demo_hub_code(number): number - 1 for number in range(1, len(HUBS) + 1)}
    hub_index = {org.id: hub_number[org.code] for org in orgs if org.level == OrgLevel.HUB}
    # Practices differ in how many learners they take; a long tail takes very few, so some
    # fall under the small-number threshold.
    weights = np.array(
        [
            rng.gamma(1.7) if org.level == OrgLevel.PRACTICE else _LEARNERS_PLACED_BY[org.level]
            for org in orgs
        ]
    )
    place = rng.choice(len(orgs), size=PLACEMENT_RESPONSES, p=weights / weights.sum())
    place.sort()
    practice_effect = np.array(
        [rng.normal(0, 0.3) if org.level == OrgLevel.PRACTICE else 0.0 for org in orgs]
    )
    hubs = np.array([hub_index[org.hub_id] for org in orgs])[place]
    days_ago = rng.uniform(0, FIRST_WAVE_DAYS, size=PLACEMENT_RESPONSES)
    in_second_wave = days_ago < SECOND_WAVE_DAYS

    professions = rng.choice(
        len(_PROFESSIONS),
        size=PLACEMENT_RESPONSES,
        p=[profession.share for profession in _PROFESSIONS],
    )
    questions = {question.code: question for question in survey.questions}
    theme_of = {
        q.code: q.theme.code
        for q in survey.questions
        if q.type == QuestionType.LIKERT and q.theme is not None
    }
    themes = sorted(set(theme_of.values()))

    # A respondent's latent view of the placement, shared by every theme, plus a view of each
    # theme, plus noise per item: items of a theme correlate more than items across themes.
    latent = rng.normal(0, 0.55, size=PLACEMENT_RESPONSES)
    theme_view = rng.normal(0, 0.35, size=(PLACEMENT_RESPONSES, len(themes)))
    theme_score = latent[:, None] + theme_view + practice_effect[place][:, None]
    for column, theme in enumerate(themes):
        theme_score[:, column] += _THEME_MEANS.get(theme, 3.8)
        theme_score[:, column] += np.array(
            [hub.effect + hub.theme_effects.get(theme, 0.0) for hub in HUBS]
        )[hubs]
        theme_score[:, column] += np.array(
            [profession.theme_effects.get(theme, 0.0) for profession in _PROFESSIONS]
        )[professions]
        second_wave_change = np.array([hub.second_wave_effects.get(theme, 0.0) for hub in HUBS])
        theme_score[:, column] += np.where(in_second_wave, second_wave_change[hubs], 0.0)

    values: dict[str, np.ndarray] = {}
    for code, theme in theme_of.items():
        raw = (
            theme_score[:, themes.index(theme)]
            + _ITEM_OFFSETS.get(code, 0.0)
            + rng.normal(0, 0.55, size=PLACEMENT_RESPONSES)
        )
        values[code] = _on_scale(raw, rng, missing=_MISSING_LIKERT)
    overall = theme_score.mean(axis=1)
    values["overall"] = _on_scale(overall + rng.normal(0, 0.45, PLACEMENT_RESPONSES), rng, 0.0)
    values["recommend"] = _on_scale(
        overall + 0.1 + rng.normal(0, 0.6, PLACEMENT_RESPONSES), rng, _MISSING_LIKERT
    )

    option_ids = {
        code: {option.code: option.id for option in questions[code].options}
        for code in ("profession", "stage", "length")
    }
    writes_well = rng.random(PLACEMENT_RESPONSES) < 0.4
    # Those who rated the placement lower are likelier to say what could be better.
    writes_better = rng.random(PLACEMENT_RESPONSES) < np.clip(0.35 - 0.25 * latent, 0.05, 0.9)

    responses: list[dict[str, Any]] = []
    answers: list[list[dict[str, Any]]] = []
    for index in range(PLACEMENT_RESPONSES):
        profession = _PROFESSIONS[professions[index]]
        hub = HUBS[hubs[index]]
        responses.append(
            {
                "survey_id": survey.id,
                "wave_id": waves[1].id if in_second_wave[index] else waves[0].id,
                "organisation_id": orgs[place[index]].id,
                "submitted_at": stored_time(survey, now - timedelta(days=float(days_ago[index]))),
                "on_record": False,
            }
        )
        row = [
            choice_answer(questions["profession"], option_ids["profession"][profession.code]),
            choice_answer(questions["stage"], option_ids["stage"][_pick(rng, profession.stages)]),
        ]
        if rng.random() > 0.04:
            row.append(
                choice_answer(
                    questions["length"], option_ids["length"][_pick(rng, profession.lengths)]
                )
            )
        row += [
            likert_answer(questions[code], int(column[index]))
            for code, column in values.items()
            if column[index] > 0
        ]
        if writes_well[index]:
            row.append(
                text_answer(
                    questions["worked_well"],
                    _free_text(
                        rng, _WORKED_WELL, _WORKED_WELL_OTHER, _WORKED_WELL_RATES, hub.text_emphasis
                    ),
                )
            )
        if writes_better[index]:
            emphasis = dict(hub.text_emphasis)
            if profession.code in _ARRS_ROLES:
                emphasis["induction"] = emphasis.get("induction", 1.0) * 1.8
            row.append(
                text_answer(
                    questions["could_be_better"],
                    _free_text(
                        rng,
                        _COULD_BE_BETTER,
                        _COULD_BE_BETTER_OTHER,
                        _COULD_BE_BETTER_RATES,
                        emphasis,
                    ),
                )
            )
        answers.append(row)
    insert_responses(session, responses, answers)


def _on_scale(raw: np.ndarray, rng: np.random.Generator, missing: float) -> np.ndarray:
    """`raw` rounded onto the 1-5 scale, with a share `missing` left unanswered (0)."""
    values = np.clip(np.rint(raw), 1, 5).astype(int)
    values[rng.random(len(values)) < missing] = 0
    return values


def _pick(rng: np.random.Generator, shares: Mapping[str, float]) -> str:
    codes = list(shares)
    weights = np.array([shares[code] for code in codes])
    return codes[int(rng.choice(len(codes), p=weights / weights.sum()))]


def _free_text(
    rng: np.random.Generator,
    phrases: Mapping[str, Sequence[str]],
    other: Sequence[str],
    rates: Mapping[str, float],
    emphasis: Mapping[str, float],
) -> str:
    """A few sentences, each theme mentioned at its rate times the hub's emphasis."""
    sentences = [
        phrases[theme][int(rng.integers(len(phrases[theme])))]
        for theme, rate in rates.items()
        if rng.random() < min(rate * emphasis.get(theme, 1.0), 0.9)
    ]
    if not sentences or rng.random() < 0.2:
        sentences.append(other[int(rng.integers(len(other)))])
    rng.shuffle(sentences)
    return ". ".join(sentences) + "."
