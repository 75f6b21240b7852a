"""Demo data: three ICBs of the south east with their training hubs, PCNs and practices, about
2,000 placement-quality responses and a reply from the leader of every ICB, plus two sign-ins.
The placement survey has run in two waves, one per rotation: wave 1 closed with most of the
responses, wave 2 open with the rest, and supervision better in the weak hub in wave 2.

The numbers are invented but not flat: one hub is clearly weaker and one clearly stronger, each
practice has its own effect, professions differ the way they do in real placement surveys, items
of one theme move together, and free text mentions the codebook themes at rates that differ by
hub, so every chart and table of a report has something to show.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import func, insert
from sqlmodel import Session, col, select

from survey_app.definitions import shipped_definition_paths
from survey_app.models import (
    Answer,
    Organisation,
    OrgLevel,
    Question,
    QuestionType,
    Response,
    Role,
    Survey,
    SurveyStatus,
    User,
    Wave,
)
from survey_app.models.responses import likert_vector_columns
from survey_app.services import ServiceError
from survey_app.services.organisations import (
    OrganisationRow,
    import_organisations,
    load_reference,
    organisation_by_code,
)
from survey_app.services.responses import stored_time, utcnow
from survey_app.services.surveys import load_definition_files, require_survey, start_wave
from survey_app.services.users import create_user

PLACEMENT_SURVEY = "placement-quality"
ICB_LEADERS_SURVEY = "icb-leaders"
PLACEMENT_RESPONSES = 2000


class DemoLogin(NamedTuple):
    email: str
    password: str
    role: Role
    scope: str


#: The demo sign-ins; the passwords are public, so a demo database must never hold real data.
DEMO_USERS: list[DemoLogin] = [
    DemoLogin("admin@demo.example", "demo-admin-password", Role.ADMIN, "every organisation"),
    DemoLogin(
        "lead@demo.example",
        "demo-lead-password",
        Role.LEAD,
        "QKS NHS Kent and Medway Integrated Care Board",
    ),
]
_LEAD_SCOPES = {"lead@demo.example": ("QKS",)}


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What `build_demo` stored."""

    #: Organisations in the database by level value, widest level first.
    organisations: dict[str, int]
    #: Responses by survey slug.
    responses: dict[str, int]
    users: list[DemoLogin] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The summary as lines of text for the command line, ending with the demo sign-ins."""
        plural = {
            "region": "regions",
            "icb": "ICBs",
            "hub": "training hubs",
            "pcn": "PCNs",
            "practice": "practices",
        }
        organisations = ", ".join(
            f"{count:,} {plural.get(level, level)}" for level, count in self.organisations.items()
        )
        lines = ["Demo data built.", f"  Organisations: {organisations}"]
        lines += [f"  {slug}: {count:,} responses" for slug, count in self.responses.items()]
        return lines + login_lines(self.users)


def login_lines(users: Sequence[DemoLogin]) -> list[str]:
    """The demo sign-ins as lines of text for the command line."""
    return [
        "Demo sign-ins at http://127.0.0.1:5000/login (the passwords are public: never put "
        "real data here):",
        *(
            f"  {login.role.value:<6} {login.email:<20} password {login.password}  ({login.scope})"
            for login in users
        ),
    ]


def database_is_empty(session: Session) -> bool:
    """True when no response and no user is stored, so the demo may be built."""
    responses = session.exec(select(func.count()).select_from(Response)).one()
    users = session.exec(select(func.count()).select_from(User)).one()
    return responses == 0 and users == 0


def build_demo(session: Session, seed: int = 2026) -> DemoSummary:
    """Fill an empty database with demo data, in one transaction, and say what was stored.

    The same seed gives the same organisations and answers (submission dates count back from
    today). Refuses (ServiceError) a database that already holds a response or a user; on any
    failure nothing is stored.
    """
    with _one_transaction(session) as demo:
        if not database_is_empty(demo):
            raise ServiceError(
                "the demo goes only into an empty database; this one already holds responses "
                "or users"
            )
        rng = np.random.default_rng(seed)
        load_reference(demo)
        load_definition_files(demo, shipped_definition_paths())
        surveys = {
            slug: require_survey(demo, slug) for slug in (PLACEMENT_SURVEY, ICB_LEADERS_SURVEY)
        }
        now = utcnow()
        leaders = surveys[ICB_LEADERS_SURVEY]
        if leaders.status_at(now) != SurveyStatus.OPEN:
            leaders.open(now)
        demo.add(leaders.current_wave)
        placement_waves = _placement_waves(demo, surveys[PLACEMENT_SURVEY], now)
        import_organisations(demo, _organisation_rows(rng), "demo organisations")
        _add_placement_responses(demo, surveys[PLACEMENT_SURVEY], rng, now, placement_waves)
        _add_icb_leader_responses(demo, surveys[ICB_LEADERS_SURVEY], rng, now)
        _add_users(demo)
        return _summary(demo, surveys.values())


@contextmanager
def _one_transaction(session: Session) -> Iterator[Session]:
    """A session inside `session`'s transaction whose commits only release savepoints.

    The services the demo reuses (reference data, definitions, organisations, users) each commit;
    run through this session their commits are provisional, and `session` commits the whole demo
    at the end or rolls all of it back.
    """
    connection = session.connection()
    dbapi_connection: Any = connection.connection.dbapi_connection
    if connection.dialect.name == "sqlite" and not dbapi_connection.in_transaction:
        # pysqlite opens a transaction only before a write, so the first SAVEPOINT would open
        # one of its own and its RELEASE would commit it.
        connection.exec_driver_sql("BEGIN")
    inner = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield inner
        inner.commit()
    except BaseException:
        inner.close()
        session.rollback()
        raise
    inner.close()
    session.commit()


# --- organisations --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _HubSpec:
    name: str
    icb_code: str
    #: Added to every rating of a placement under the hub.
    effect: float
    #: Added to the ratings of particular themes, on top of `effect`.
    theme_effects: Mapping[str, float]
    #: Multiplies how often free text mentions a codebook theme.
    text_emphasis: Mapping[str, float]
    #: (PCN name, the towns of its practices)
    pcns: tuple[tuple[str, tuple[str, ...]], ...]
    #: Added to the ratings of particular themes in the placement survey's second wave: what
    #: changed between the rotations.
    second_wave_effects: Mapping[str, float] = field(default_factory=dict)


_HUBS: tuple[_HubSpec, ...] = (
    _HubSpec(
        "East Kent Training Hub",
        "QKS",
        0.05,
        {},
        {"variety": 1.3},
        (
            ("Canterbury Central PCN", ("Canterbury",)),
            ("Whitstable and Herne Bay PCN", ("Whitstable", "Herne Bay")),
            ("Thanet Coastal PCN", ("Margate", "Broadstairs", "Ramsgate")),
            ("Ashford Rural PCN", ("Ashford", "Tenterden", "Charing")),
            ("Folkestone and Hythe PCN", ("Folkestone", "Hythe")),
        ),
    ),
    _HubSpec(
        "West Kent Training Hub",
        "QKS",
        0.0,
        {"facilities": -0.2},
        {"it-access": 1.8},
        (
            ("Maidstone Central PCN", ("Maidstone",)),
            ("Tonbridge and Malling PCN", ("Tonbridge", "West Malling")),
            ("Tunbridge Wells PCN", ("Tunbridge Wells", "Southborough")),
            ("Sevenoaks PCN", ("Sevenoaks", "Edenbridge")),
        ),
    ),
    # The weak hub: stretched supervisors and crowded premises.
    _HubSpec(
        "Medway and Swale Training Hub",
        "QKS",
        -0.4,
        {"supervision": -0.35, "facilities": -0.3, "educators": -0.25, "induction": -0.15},
        {"supervision-time": 2.2, "space": 1.8, "supervision": 0.5, "teaching": 0.7},
        (
            ("Rochester and Strood PCN", ("Rochester", "Strood")),
            ("Gillingham South PCN", ("Gillingham", "Rainham")),
            ("Chatham Central PCN", ("Chatham", "Walderslade")),
            ("Sittingbourne PCN", ("Sittingbourne",)),
            ("Sheppey PCN", ("Sheerness", "Minster-on-Sea")),
        ),
        # Two new GP trainers joined for the second rotation: supervision improved.
        second_wave_effects={"supervision": 0.5},
    ),
    _HubSpec(
        "Dartford, Gravesham and Swanley Training Hub",
        "QKS",
        -0.1,
        {},
        {"induction": 1.4},
        (
            ("Dartford Town PCN", ("Dartford",)),
            ("Gravesend Central PCN", ("Gravesend", "Northfleet")),
            ("Swanley and Rural PCN", ("Swanley", "Hextable")),
        ),
    ),
    _HubSpec(
        "Guildford and Waverley Training Hub",
        "QXU",
        0.1,
        {"learning": 0.1},
        {},
        (
            ("Guildford Central PCN", ("Guildford",)),
            ("Farnham PCN", ("Farnham",)),
            ("Godalming and Cranleigh PCN", ("Godalming", "Cranleigh")),
            ("Haslemere PCN", ("Haslemere",)),
        ),
    ),
    _HubSpec(
        "East Surrey Training Hub",
        "QXU",
        0.0,
        {},
        {"space": 1.3},
        (
            ("Reigate and Redhill PCN", ("Reigate", "Redhill")),
            ("Caterham and Oxted PCN", ("Caterham", "Oxted")),
            ("Horley PCN", ("Horley",)),
        ),
    ),
    # The strong hub: protected supervision and teaching time.
    _HubSpec(
        "Brighton and Hove Training Hub",
        "QNX",
        0.3,
        {"supervision": 0.25, "educators": 0.25, "learning": 0.1},
        {"supervision": 1.6, "teaching": 1.6, "supervision-time": 0.4, "space": 0.8},
        (
            ("Brighton Central PCN", ("Brighton",)),
            ("Hove PCN", ("Hove",)),
            ("Brighton East PCN", ("Brighton", "Woodingdean")),
            ("Portslade PCN", ("Portslade",)),
        ),
    ),
    _HubSpec(
        "East Sussex Training Hub",
        "QNX",
        -0.05,
        {"facilities": -0.1},
        {"space": 1.4},
        (
            ("Eastbourne Central PCN", ("Eastbourne",)),
            ("Hastings and St Leonards PCN", ("Hastings", "St Leonards-on-Sea")),
            ("Lewes and Newhaven PCN", ("Lewes", "Newhaven")),
            ("Rural Rother PCN", ("Rye", "Battle")),
        ),
    ),
    _HubSpec(
        "West Sussex Training Hub",
        "QNX",
        0.05,
        {},
        {"team": 1.3},
        (
            ("Crawley Central PCN", ("Crawley",)),
            ("Horsham PCN", ("Horsham",)),
            ("Worthing Coastal PCN", ("Worthing", "Lancing")),
            ("Chichester City PCN", ("Chichester",)),
            ("Bognor Regis PCN", ("Bognor Regis",)),
        ),
    ),
)

_PRACTICE_STEMS = (
    "Riverside",
    "Oak Tree",
    "The Grove",
    "Station Road",
    "Church Lane",
    "Park View",
    "Harbour",
    "Meadowbank",
    "Westgate",
    "Castle",
    "Orchard",
    "Beech House",
    "Cedars",
    "Hillside",
    "Millbrook",
    "The Limes",
    "Priory",
    "Abbey",
    "Kingsway",
    "Marine Parade",
    "Willow Tree",
    "High Street",
    "Elm Grove",
    "Greenfields",
    "Bridge",
    "St Mary's",
    "Lighthouse",
    "Forest Row",
    "The Avenue",
    "Victoria",
    "Northgate",
    "Old School",
    "Brookside",
    "Linden",
    "Seaview",
)
_PRACTICE_KINDS = (
    "Surgery",
    "Medical Centre",
    "Medical Practice",
    "Health Centre",
    "Family Practice",
)
_PRACTICE_KIND_SHARES = (0.4, 0.3, 0.15, 0.1, 0.05)


def _organisation_rows(rng: np.random.Generator) -> list[OrganisationRow]:
    """Hubs under their ICBs, 3-5 PCNs per hub, 3-5 practices per PCN, with DEMO- codes that
    cannot be mistaken for ODS codes."""
    rows: list[OrganisationRow] = []

    def add(code: str, name: str, level: OrgLevel, parent_code: str) -> None:
        rows.append(OrganisationRow(code, name, level, parent_code, row_number=len(rows) + 1))

    pcn_number = practice_number = 0
    for hub_number, hub in enumerate(_HUBS, start=1):
        hub_code = _hub_code(hub_number)
        add(hub_code, hub.name, OrgLevel.HUB, hub.icb_code)
        for pcn_name, towns in hub.pcns:
            pcn_number += 1
            pcn_code = f"DEMO-N{pcn_number:03d}"
            add(pcn_code, pcn_name, OrgLevel.PCN, hub_code)
            size = int(rng.integers(3, 6))
            stems = rng.choice(len(_PRACTICE_STEMS), size=size, replace=False)
            kinds = rng.choice(len(_PRACTICE_KINDS), size=size, p=_PRACTICE_KIND_SHARES)
            for position, (stem, kind) in enumerate(zip(stems, kinds, strict=True)):
                practice_number += 1
                town = towns[position % len(towns)]
                add(
                    f"DEMO-P{practice_number:04d}",
                    f"{_PRACTICE_STEMS[stem]} {_PRACTICE_KINDS[kind]}, {town}",
                    OrgLevel.PRACTICE,
                    pcn_code,
                )
    return rows


def _hub_code(hub_number: int) -> str:
    return f"DEMO-H{hub_number:02d}"


# --- placement-quality responses ------------------------------------------------------------------


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
        "Regular feedback on my consultations",
        "Protected teaching time every week",
        "A debrief at the end of every session",
        "Joint surgeries with feedback after each patient",
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
    "supervision-time": (
        "Supervisors were very busy and hard to find",
        "Not enough time with my supervisor",
        "My supervisor had no time for case discussion",
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
    "supervision-time": 0.25,
}


#: The placement survey's waves: the rotation that ended, and the one under way.
FIRST_WAVE_NAME = "2025/26 rotation 1"
SECOND_WAVE_NAME = "2025/26 rotation 2"
#: Days before today the first wave opened and the second wave opened (the first closing).
FIRST_WAVE_DAYS = 182
SECOND_WAVE_DAYS = 61


def _placement_waves(session: Session, survey: Survey, now: datetime) -> tuple[Wave, Wave]:
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


def _add_placement_responses(
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
    hub_number = {_hub_code(number): number - 1 for number in range(1, len(_HUBS) + 1)}
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
            [hub.effect + hub.theme_effects.get(theme, 0.0) for hub in _HUBS]
        )[hubs]
        theme_score[:, column] += np.array(
            [profession.theme_effects.get(theme, 0.0) for profession in _PROFESSIONS]
        )[professions]
        second_wave_change = np.array([hub.second_wave_effects.get(theme, 0.0) for hub in _HUBS])
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
        hub = _HUBS[hubs[index]]
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
            _choice(questions["profession"], option_ids["profession"][profession.code]),
            _choice(questions["stage"], option_ids["stage"][_pick(rng, profession.stages)]),
        ]
        if rng.random() > 0.04:
            row.append(
                _choice(questions["length"], option_ids["length"][_pick(rng, profession.lengths)])
            )
        row += [
            _likert(questions[code], int(column[index]))
            for code, column in values.items()
            if column[index] > 0
        ]
        if writes_well[index]:
            row.append(
                _text(
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
                _text(
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
    _insert_responses(session, responses, answers)


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


# --- icb-leaders responses ------------------------------------------------------------------------

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


def _add_icb_leader_responses(
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
                row.append(_likert(questions[code], value))
        row += [
            _text(questions[code], text)
            for code, text in _leader_texts(rng, sorted(topics_of[index])).items()
        ]
        answers.append(row)
    _insert_responses(session, responses, answers)


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


# --- users ----------------------------------------------------------------------------------------


def _add_users(session: Session) -> None:
    for login in DEMO_USERS:
        codes = _LEAD_SCOPES.get(login.email, ())
        scopes = [org for org in (organisation_by_code(session, code) for code in codes) if org]
        create_user(session, login.email, login.password, login.role, scopes)


# --- storing --------------------------------------------------------------------------------------


def _choice(question: Question, option_id: int | None) -> dict[str, Any]:
    return {"question_id": question.id, "value": None, "option_id": option_id, "text": None}


def _likert(question: Question, value: int) -> dict[str, Any]:
    return {"question_id": question.id, "value": value, "option_id": None, "text": None}


def _text(question: Question, text: str) -> dict[str, Any]:
    return {"question_id": question.id, "value": None, "option_id": None, "text": text}


def _insert_responses(
    session: Session, responses: Sequence[dict[str, Any]], answers: Sequence[list[dict[str, Any]]]
) -> None:
    """Insert the responses, each with its Likert vector, then their answers, each in one
    executemany (not one ORM object per answer: the demo stores some 60,000 rows)."""
    likert: dict[int, set[int]] = {response["survey_id"]: set() for response in responses}
    for survey_id, question_id in session.exec(
        select(Question.survey_id, Question.id).where(
            col(Question.survey_id).in_(likert), Question.type == QuestionType.LIKERT
        )
    ):
        likert[survey_id].add(question_id)  # type: ignore[arg-type]
    responses = [
        response
        | likert_vector_columns(
            likert[response["survey_id"]],
            {answer["question_id"]: answer["value"] for answer in row if answer["value"]},
        )
        for response, row in zip(responses, answers, strict=True)
    ]
    table = Response.__table__  # type: ignore[attr-defined]
    ids = (
        session.exec(  # type: ignore[call-overload]
            insert(table).returning(table.c.id, sort_by_parameter_order=True), params=responses
        )
        .scalars()
        .all()
    )
    session.exec(  # type: ignore[call-overload]
        insert(Answer.__table__),  # type: ignore[attr-defined]
        params=[
            {**answer, "response_id": response_id}
            for response_id, row in zip(ids, answers, strict=True)
            for answer in row
        ],
    )


def _summary(session: Session, surveys: Iterable[Survey]) -> DemoSummary:
    by_level = dict(
        session.exec(select(Organisation.level, func.count()).group_by(Organisation.level)).all()
    )
    by_survey = dict(
        session.exec(select(Response.survey_id, func.count()).group_by(Response.survey_id)).all()
    )
    return DemoSummary(
        organisations={level.value: by_level.get(level, 0) for level in OrgLevel},
        responses={survey.slug: by_survey.get(survey.id, 0) for survey in surveys},
        users=list(DEMO_USERS),
    )
