"""The demo's organisations: nine training hubs under three ICBs of the south east, each with
its PCNs and practices, and what sets each hub's placements apart."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from survey_app.models import OrgLevel
from survey_app.services.organisations import OrganisationRow


@dataclass(frozen=True, slots=True)
class HubSpec:
    """A demo training hub: its name, its ICB, and how its placements differ from the rest."""

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


#: The demo hubs, in the order of their codes (DEMO-H01, ...).
HUBS: tuple[HubSpec, ...] = (
    HubSpec(
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
    HubSpec(
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
    HubSpec(
        "Medway and Swale Training Hub",
        "QKS",
        -0.4,
        {"supervision": -0.35, "facilities": -0.3, "educators": -0.25, "induction": -0.15},
        {"workload": 2.2, "space": 1.8, "supervision": 0.5, "teaching": 0.7},
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
    HubSpec(
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
    HubSpec(
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
    HubSpec(
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
    HubSpec(
        "Brighton and Hove Training Hub",
        "QNX",
        0.3,
        {"supervision": 0.25, "educators": 0.25, "learning": 0.1},
        {"supervision": 1.6, "teaching": 1.6, "workload": 0.4, "space": 0.8},
        (
            ("Brighton Central PCN", ("Brighton",)),
            ("Hove PCN", ("Hove",)),
            ("Brighton East PCN", ("Brighton", "Woodingdean")),
            ("Portslade PCN", ("Portslade",)),
        ),
    ),
    HubSpec(
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
    HubSpec(
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


def organisation_rows(rng: np.random.Generator) -> list[OrganisationRow]:
    """Hubs under their ICBs, 3-5 PCNs per hub, 3-5 practices per PCN, with DEMO- codes that
    cannot be mistaken for ODS codes."""
    rows: list[OrganisationRow] = []

    def add(code: str, name: str, level: OrgLevel, parent_code: str) -> None:
        rows.append(OrganisationRow(code, name, level, parent_code, row_number=len(rows) + 1))

    pcn_number = practice_number = 0
    for hub_number, hub in enumerate(HUBS, start=1):
        hub_code = demo_hub_code(hub_number)
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


def demo_hub_code(hub_number: int) -> str:
    """The demo code of the `hub_number`th hub of `HUBS`, counting from 1: "DEMO-H01"."""
    return f"DEMO-H{hub_number:02d}"
