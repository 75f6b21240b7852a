"""The demo database: what someone exploring the application would notice in it."""

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from survey_app.db import create_db_engine, create_schema
from survey_app.demo import DEMO_USERS, DemoSummary, build_demo
from survey_app.demo import build as demo_build
from survey_app.models import (
    Answer,
    ChoiceOption,
    Organisation,
    OrgLevel,
    Question,
    QuestionType,
    Response,
    Role,
    Survey,
    SurveyStatus,
    TextTheme,
    Theme,
    User,
)
from survey_app.reporting.scope import text_theme_spec
from survey_app.services import ServiceError
from survey_app.services.organisations import organisation_by_code
from survey_app.services.responses import utcnow
from survey_app.services.users import authenticate, create_user, scope_organisations
from tests.conftest import empty_tables

WEAK_HUB = "Medway and Swale Training Hub"
STRONG_HUB = "Brighton and Hove Training Hub"


@pytest.fixture
def new_database(
    tmp_path: Path, postgres_engine: sa.Engine | None
) -> Iterator[Callable[[], Session]]:
    """Call it for a session on a new, empty database: a new SQLite file each time, or the
    TEST_DATABASE_URL database emptied."""
    engines: list[sa.Engine] = []
    sessions: list[Session] = []

    def new() -> Session:
        for session in sessions:
            session.close()
        if postgres_engine is not None:
            empty_tables(postgres_engine)
            engine = postgres_engine
        else:
            engine = create_db_engine(f"sqlite:///{tmp_path / f'demo-{len(engines)}.db'}")
            create_schema(engine)
            engines.append(engine)
        sessions.append(Session(engine, expire_on_commit=False))
        return sessions[-1]

    yield new
    for session in sessions:
        session.close()
    for engine in engines:
        engine.dispose()


@pytest.fixture
def built(new_database: Callable[[], Session]) -> tuple[Session, DemoSummary]:
    session = new_database()
    return session, build_demo(session)


@pytest.fixture
def demo_db(built: tuple[Session, DemoSummary]) -> Session:
    return built[0]


def _survey(session: Session, slug: str) -> Survey:
    return session.exec(select(Survey).where(Survey.slug == slug)).one()


def _responses(session: Session, slug: str) -> list[Response]:
    survey = _survey(session, slug)
    return list(session.exec(select(Response).where(Response.survey_id == survey.id)).all())


def _answers(
    session: Session, slug: str
) -> list[tuple[int, str, int | None, str | None, str | None]]:
    """(response id, question code, value, option code, text) of every answer to `slug`."""
    statement = (
        select(Answer.response_id, Question.code, Answer.value, ChoiceOption.code, Answer.text)
        .join(Question, col(Question.id) == Answer.question_id)
        .join(Survey, col(Survey.id) == Question.survey_id)
        .join(ChoiceOption, col(ChoiceOption.id) == Answer.option_id, isouter=True)
        .where(Survey.slug == slug)
        .order_by(Answer.response_id, Question.position)
    )
    return list(session.exec(statement).all())


def _mentions(session: Session, slug: str, question_code: str, theme_code: str) -> set[int]:
    """The ids of responses whose answer to `question_code` matches a codebook theme."""
    theme = session.exec(
        select(TextTheme)
        .join(Question, col(Question.id) == TextTheme.question_id)
        .join(Survey, col(Survey.id) == Question.survey_id)
        .where(Survey.slug == slug, Question.code == question_code, TextTheme.code == theme_code)
    ).one()
    coded = text_theme_spec(theme)
    return {
        response_id
        for response_id, code, _, _, text in _answers(session, slug)
        if code == question_code and text and coded.is_mentioned_in(text)
    }


def test_three_icbs_have_hubs_pcns_and_practices(demo_db: Session) -> None:
    for icb_code, hubs in (("QKS", 4), ("QXU", 2), ("QNX", 3)):
        icb = organisation_by_code(demo_db, icb_code)
        assert icb is not None
        below = demo_db.exec(select(Organisation).where(Organisation.icb_id == icb.id)).all()
        by_level = Counter(org.level for org in below)
        assert by_level[OrgLevel.HUB] == hubs
        assert 3 * hubs <= by_level[OrgLevel.PCN] <= 5 * hubs
        assert (
            3 * by_level[OrgLevel.PCN] <= by_level[OrgLevel.PRACTICE] <= 5 * by_level[OrgLevel.PCN]
        )
        for org in below:
            if org.level == OrgLevel.ICB:
                continue
            assert org.code.startswith("DEMO-"), org.code
            assert org.region_id == icb.region_id
            assert org.hub_id is not None
        practices = [org for org in below if org.level == OrgLevel.PRACTICE]
        assert all(org.pcn_id is not None and org.pcn_id == org.parent_id for org in practices)
        assert all(", " in org.name for org in practices)
    assert {
        org.code
        for org in demo_db.exec(
            select(Organisation).where(
                col(Organisation.code).startswith("DEMO-"), col(Organisation.icb_id).is_(None)
            )
        ).all()
    } == set()


def test_both_surveys_are_open(demo_db: Session) -> None:
    now = utcnow()
    statuses = {survey.slug: survey.status_at(now) for survey in demo_db.exec(select(Survey)).all()}
    assert statuses == {"placement-quality": SurveyStatus.OPEN, "icb-leaders": SurveyStatus.OPEN}


def test_the_placement_survey_ran_in_two_waves_and_supervision_improved_in_the_weak_hub(
    demo_db: Session,
) -> None:
    now = utcnow()
    placement = _survey(demo_db, "placement-quality")
    first, second = placement.waves
    assert (first.number, first.name, first.status_at(now)) == (
        1,
        "2025/26 rotation 1",
        SurveyStatus.CLOSED,
    )
    assert (second.number, second.name, second.status_at(now)) == (
        2,
        "2025/26 rotation 2",
        SurveyStatus.OPEN,
    )
    assert [wave.number for wave in _survey(demo_db, "icb-leaders").waves] == [1]
    responses = _responses(demo_db, "placement-quality")
    by_wave = Counter(response.wave_id for response in responses)
    assert set(by_wave) == {first.id, second.id}
    assert by_wave[first.id] > by_wave[second.id] > 0.2 * len(responses)
    # Each wave's responses fall within its dates.
    for response in responses:
        wave = first if response.wave_id == first.id else second
        assert response.submitted_at <= (wave.closes_at or now)
        assert response.submitted_at >= wave.opens_at.replace(
            hour=0, minute=0, second=0, microsecond=0
        )  # type: ignore[union-attr]

    # The weak hub's supervision ratings rose between the waves; the strong hub's did not.
    def supervision_mean(hub_name: str, wave_id: int) -> float:
        place, hub = aliased(Organisation), aliased(Organisation)
        values = demo_db.exec(
            select(Answer.value)
            .join(Question, col(Question.id) == Answer.question_id)
            .join(Theme, col(Theme.id) == Question.theme_id)
            .join(Response, col(Response.id) == Answer.response_id)
            .join(place, place.id == Response.organisation_id)
            .join(hub, hub.id == place.hub_id)
            .where(Theme.code == "supervision", hub.name == hub_name, Response.wave_id == wave_id)
        ).all()
        return float(np.mean(values))

    weak_change = supervision_mean(WEAK_HUB, second.id) - supervision_mean(WEAK_HUB, first.id)
    strong_change = supervision_mean(STRONG_HUB, second.id) - supervision_mean(STRONG_HUB, first.id)
    assert weak_change > 0.3
    assert abs(strong_change) < 0.2


def test_placement_responses_are_many_complete_and_recent(demo_db: Session) -> None:
    responses = _responses(demo_db, "placement-quality")
    assert 1900 <= len(responses) <= 2100
    levels = dict(demo_db.exec(select(Organisation.id, Organisation.level)).all())
    by_level = Counter(levels[response.organisation_id] for response in responses)
    assert by_level[OrgLevel.PRACTICE] > 0.8 * len(responses)
    assert by_level[OrgLevel.PCN] > 0 and by_level[OrgLevel.HUB] > 0
    per_practice = Counter(
        response.organisation_id
        for response in responses
        if levels[response.organisation_id] == OrgLevel.PRACTICE
    )
    assert sum(1 for count in per_practice.values() if count < 5) >= 5

    answered = defaultdict(set)
    for response_id, code, _, _, _ in _answers(demo_db, "placement-quality"):
        answered[code].add(response_id)
    ids = {response.id for response in responses}
    for required in ("profession", "stage", "overall"):
        assert answered[required] == ids, required
    likert = [
        q.code
        for q in _survey(demo_db, "placement-quality").questions
        if q.type == QuestionType.LIKERT and not q.required
    ]
    missing = sum(len(ids - answered[code]) for code in likert) / (len(ids) * len(likert))
    assert 0.01 < missing < 0.06

    now = utcnow()
    for response in responses:
        assert (response.submitted_at.hour, response.submitted_at.minute) == (0, 0)
        assert 0 <= (now - response.submitted_at).days <= 183
    assert (now - min(r.submitted_at for r in responses)).days > 150


def _theme_means_by_hub(session: Session, theme_code: str) -> dict[str, float]:
    place, hub = aliased(Organisation), aliased(Organisation)
    statement = (
        select(hub.name, func.avg(Answer.value))
        .join(Question, col(Question.id) == Answer.question_id)
        .join(Theme, col(Theme.id) == Question.theme_id)
        .join(Response, col(Response.id) == Answer.response_id)
        .join(place, place.id == Response.organisation_id)
        .join(hub, hub.id == place.hub_id)
        .where(Theme.code == theme_code)
        .group_by(hub.name)
    )
    return {name: float(mean) for name, mean in session.exec(statement).all()}


def test_the_weak_hub_rates_supervision_clearly_below_the_strong_hub(demo_db: Session) -> None:
    means = _theme_means_by_hub(demo_db, "supervision")
    assert len(means) == 9
    assert min(means, key=means.__getitem__) == WEAK_HUB
    assert max(means, key=means.__getitem__) == STRONG_HUB
    assert means[STRONG_HUB] - means[WEAK_HUB] > 0.6


def test_professions_differ_in_mix_and_in_supervision(demo_db: Session) -> None:
    rows = _answers(demo_db, "placement-quality")
    profession = {rid: option for rid, code, _, option, _ in rows if code == "profession"}
    mix = Counter(profession.values())
    assert {code for code, _ in mix.most_common(2)} == {"gp-trainee", "medical-student"}
    supervision: dict[str, list[int]] = defaultdict(list)
    for rid, code, value, _, _ in rows:
        if code.startswith("sup_") and value is not None:
            supervision[profession[rid]].append(value)
    mean = {code: sum(values) / len(values) for code, values in supervision.items()}
    for arrs_role in ("pharmacist", "paramedic", "other-arrs"):
        assert mean["gp-trainee"] - mean[arrs_role] > 0.4, arrs_role


def test_items_of_a_theme_move_together(demo_db: Session) -> None:
    values: dict[int, dict[str, int]] = defaultdict(dict)
    for rid, code, value, _, _ in _answers(demo_db, "placement-quality"):
        if value is not None:
            values[rid][code] = value

    def correlation(first: str, second: str) -> float:
        pairs = np.array(
            [(v[first], v[second]) for v in values.values() if first in v and second in v]
        )
        return float(np.corrcoef(pairs.T)[0, 1])

    within = correlation("sup_named", "sup_access")
    across = correlation("sup_named", "fac_space")
    assert within > across + 0.1
    assert across > 0.2


def test_free_text_mentions_the_codebook_themes_at_rates_that_differ_by_hub(
    demo_db: Session,
) -> None:
    responses = _responses(demo_db, "placement-quality")
    texts = Counter(code for _, code, _, _, text in _answers(demo_db, "placement-quality") if text)
    assert 0.35 < texts["worked_well"] / len(responses) < 0.45
    assert 0.30 < texts["could_be_better"] / len(responses) < 0.40
    for question_code, themes in (
        ("worked_well", ("supervision", "team", "variety", "teaching")),
        ("could_be_better", ("space", "it-access", "induction", "workload")),
    ):
        for theme in themes:
            share = len(_mentions(demo_db, "placement-quality", question_code, theme))
            assert share > 0.15 * texts[question_code], theme

    hub_names = {
        org.id: org.name
        for org in demo_db.exec(
            select(Organisation).where(Organisation.level == OrgLevel.HUB)
        ).all()
    }
    place_hub = {
        org_id: hub_names.get(hub_id)
        for org_id, hub_id in demo_db.exec(select(Organisation.id, Organisation.hub_id)).all()
    }
    hub_of = {r.id: place_hub[r.organisation_id] for r in responses}
    writers = Counter(
        hub_of[rid]
        for rid, code, _, _, text in _answers(demo_db, "placement-quality")
        if code == "could_be_better"
    )
    busy = Counter(
        hub_of[rid]
        for rid in _mentions(demo_db, "placement-quality", "could_be_better", "workload")
    )
    assert busy[WEAK_HUB] / writers[WEAK_HUB] > 2 * busy[STRONG_HUB] / writers[STRONG_HUB]


def test_every_icb_leader_answered_and_15_rated(demo_db: Session) -> None:
    responses = _responses(demo_db, "icb-leaders")
    icbs = demo_db.exec(select(Organisation.id).where(Organisation.level == OrgLevel.ICB)).all()
    assert sorted(r.organisation_id for r in responses) == sorted(icbs)
    assert len(responses) == 42
    rows = _answers(demo_db, "icb-leaders")
    rated = {rid for rid, _, value, _, _ in rows if value is not None}
    wrote = {rid for rid, _, _, _, text in rows if text}
    assert len(rated) == 15
    assert wrote == {r.id for r in responses}
    ratings = Counter(rid for rid, _, value, _, _ in rows if value is not None)
    assert all(count >= 10 for count in ratings.values())
    assert 15 <= sum(r.on_record for r in responses) <= 27

    def mentioning(theme: str) -> set[int]:
        return set().union(
            *(
                _mentions(demo_db, "icb-leaders", question, theme)
                for question in ("icb_support", "challenges", "one_change")
            )
        )

    assert 12 <= len(mentioning("training-hubs")) <= 20
    assert 16 <= len(mentioning("arrs")) <= 24
    for theme in ("funding", "mentoring", "retention", "recruitment", "estates"):
        assert len(mentioning(theme)) >= 4, theme

    by_code: dict[str, list[int]] = defaultdict(list)
    for _, code, value, _, _ in rows:
        if value is not None:
            by_code[code.split("_")[0]].append(value)
    mean = {prefix: sum(values) / len(values) for prefix, values in by_code.items()}
    assert mean["fund"] < 2.4
    assert 3.3 < mean["hub"] < 4.2
    assert mean["fund"] < mean["arrs"] < mean["hub"]


def test_the_demo_logins_sign_in_with_their_roles_and_scopes(demo_db: Session) -> None:
    assert {login.role for login in DEMO_USERS} == {Role.ADMIN, Role.LEAD}
    for email, password, role, _scope in DEMO_USERS:
        assert len(password) >= 12
        user = authenticate(demo_db, email, password)
        assert user is not None and user.role == role
        scopes = [org.code for org in scope_organisations(demo_db, user)]
        assert scopes == ([] if role == Role.ADMIN else ["QKS"])


def test_the_summary_counts_what_was_stored_and_shows_the_logins(
    built: tuple[Session, DemoSummary],
) -> None:
    session, summary = built
    levels = Counter(session.exec(select(Organisation.level)).all())
    assert summary.organisations == {level.value: levels[level] for level in OrgLevel}
    assert summary.organisations["region"] == 7 and summary.organisations["icb"] == 42
    assert summary.responses == {
        slug: len(_responses(session, slug)) for slug in ("icb-leaders", "placement-quality")
    }
    printed = "\n".join(summary.lines())
    assert f"{summary.responses['placement-quality']:,}" in printed
    for login in DEMO_USERS:
        assert login.email in printed and login.password in printed


def test_building_twice_refuses_and_changes_nothing(demo_db: Session) -> None:
    before = demo_db.exec(select(func.count()).select_from(Response)).one()
    with pytest.raises(ServiceError, match="empty database"):
        build_demo(demo_db)
    assert demo_db.exec(select(func.count()).select_from(Response)).one() == before
    assert demo_db.exec(select(func.count()).select_from(User)).one() == len(DEMO_USERS)


def test_a_database_with_a_user_is_refused(new_database: Callable[[], Session]) -> None:
    session = new_database()
    create_user(session, "someone@nhs.example", "a long enough password", Role.ADMIN, [])
    with pytest.raises(ServiceError):
        build_demo(session)
    assert session.exec(select(func.count()).select_from(Organisation)).one() == 0


def test_a_failure_part_way_leaves_nothing(
    new_database: Callable[[], Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("disk full")

    # By then reference data, definitions and organisations went through services that commit.
    monkeypatch.setattr(demo_build, "add_icb_leader_responses", broken)
    session = new_database()
    with pytest.raises(RuntimeError):
        build_demo(session)
    for table in (Organisation, Survey, Response, User):
        assert session.exec(select(func.count()).select_from(table)).one() == 0, table


def test_the_same_seed_gives_the_same_answers(new_database: Callable[[], Session]) -> None:
    def snapshot(seed: int) -> list[tuple[object, ...]]:
        session = new_database()
        summary = build_demo(session, seed=seed)
        assert summary.responses["placement-quality"] > 0
        codes = dict(session.exec(select(Organisation.id, Organisation.code)).all())
        places = {
            r.id: (codes[r.organisation_id], r.on_record)
            for slug in ("placement-quality", "icb-leaders")
            for r in _responses(session, slug)
        }
        return [
            (places[rid], *rest)
            for slug in ("placement-quality", "icb-leaders")
            for rid, *rest in _answers(session, slug)
        ]

    first = snapshot(7)
    assert snapshot(7) == first
    assert snapshot(8) != first
