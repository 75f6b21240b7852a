"""Disclosure control as a hostile lead tries it: every table the app will give, then every
difference of what they publish.

For generated hierarchies (practices of 1 to 9 learners, learners placed at a PCN or hub itself,
one learner of a type no one else is), answers are imported as a lead would, and then every
summary a user can request is read: England and every organisation as the scope, with no
grouping, grouped by every deeper level and by every choice question. The attacker works from
what those summaries publish and from the true counts of the generated answers (which tell it
nothing it could not guess, and let it check whole sets of cells):

* a cell is published or withheld identically (and with the same n) in every request;
* no published count (responses or answers to an item) lies in 1..k-1;
* for every organisation N and every deeper level L, N less its published descendants at L
  (skip levels included), for the totals and for every option of every choice question, and N
  less its published options, leaves neither a single withheld cell nor 1..k-1 learners; a
  withheld N is never the sum of published cells.

The engine itself is attacked harder, with linear combinations, in tests/reports/
test_disclosure.py; this is the same guarantee checked through the application's outputs.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from sqlmodel import Session

from survey_app.models import Organisation, Survey
from survey_app.reporting.summary_data import load_summary
from survey_app.services.organisations import organisation_by_code
from survey_app.services.responses import import_responses
from survey_app.services.surveys import survey_by_slug
from tests.test_summary_data import PLACEMENT

K = 5
LEVELS = ("region", "icb", "hub", "pcn", "practice")
CHOICES = tuple(PLACEMENT.options)
#: Two ICBs of the reference data and their region (loaded with the surveys).
ICBS = ("QKS", "QNX")


@dataclass
class Generated:
    """A generated hierarchy under ICBS and the responses placed in it."""

    parent: dict[str, str] = field(default_factory=dict)
    level: dict[str, str] = field(default_factory=dict)
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    choices: dict[str, list[str | None]] = field(default_factory=dict)
    ratings: dict[str, list[int | None]] = field(default_factory=dict)

    def add(self, code: str, level: str, parent: str) -> str:
        self.rows.append((code, f"{level} {code}", level, parent))
        self.parent[code], self.level[code] = parent, level
        return code

    def ancestors(self, place: str) -> Iterator[str]:
        while True:
            yield place
            if place not in self.parent:
                return
            place = self.parent[place]

    def csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        columns = {**self.choices, **self.ratings}
        writer.writerow(["org_code", *columns])
        for index, place in enumerate(self.places):
            cells = ["" if c[index] is None else str(c[index]) for c in columns.values()]
            writer.writerow([place, *cells])
        return buffer.getvalue()


def generate(seed: int) -> Generated:
    rng = np.random.default_rng(seed)
    wave = Generated()
    for icb in ICBS:
        wave.level[icb] = "icb"
        for h in range(int(rng.integers(1, 3))):
            hub = wave.add(f"H{icb}{h}", "hub", icb)
            wave.places += [hub] * int(rng.integers(0, 2))
            for p in range(int(rng.integers(1, 3))):
                pcn = wave.add(f"N{hub}{p}", "pcn", hub)
                wave.places += [pcn] * int(rng.integers(0, 3))
                for s in range(int(rng.integers(1, 4))):
                    practice = wave.add(f"P{pcn}{s}", "practice", pcn)
                    wave.places += [practice] * int(rng.integers(1, 10))
    size = len(wave.places)
    for code, options in PLACEMENT.options.items():
        chosen: list[str | None] = list(rng.choice(sorted(options), size=size))
        # Only the placement's length may be left unanswered.
        missing = (rng.random(size) < 0.15) & (code == "length")
        wave.choices[code] = [None if gone else c for c, gone in zip(chosen, missing, strict=True)]
    # One learner of a type no one else is: the only paramedic.
    professions = [o for o in PLACEMENT.options["profession"] if o != "paramedic"]
    wave.choices["profession"] = [str(rng.choice(professions)) for _ in range(size)]
    wave.choices["profession"][int(rng.integers(0, size))] = "paramedic"
    for item in PLACEMENT.items:
        values = rng.integers(1, item.points + 1, size=size)
        skip = (rng.random(size) < 0.2) & (item.code != "overall")
        wave.ratings[item.code] = [None if s else int(v) for v, s in zip(values, skip, strict=True)]
    return wave


@pytest.fixture(params=[3, 11, 29])
def generated(
    request: pytest.FixtureRequest,
    db_session: Session,
    surveys: dict[str, Survey],
    make_orgs: Callable[..., dict[str, Organisation]],
) -> Generated:
    wave = generate(request.param)
    make_orgs(*wave.rows)
    for icb in ICBS:
        organisation = organisation_by_code(db_session, icb)
        assert organisation is not None and organisation.parent_id is not None
        region = db_session.get(Organisation, organisation.parent_id)
        assert region is not None
        wave.parent[icb] = region.code
        wave.level[region.code] = "region"
    report = import_responses(
        db_session, surveys["placement-quality"], wave.csv(), "attack.csv", max_text=5000
    )
    assert report.imported == len(wave.places)
    return wave


Cell = tuple[str, ...]  # (node,) or (node, question, option); "" is England


class Attacker:
    """What every request published, and the true counts to check it against."""

    def __init__(self, wave: Generated, session: Session) -> None:
        self.wave, self.session = wave, session
        self.measures = ("responses", *(item.code for item in PLACEMENT.items))
        self.published: dict[tuple[Cell, str], int | None] = {}
        self.nodes = ["", *wave.level]
        self._true: dict[tuple[Cell, str], int] = {}

    def under(self, node: str, place: str) -> bool:
        return node == "" or node in self.wave.ancestors(place)

    def true_n(self, cell: Cell, measure: str) -> int:
        key = (cell, measure)
        if key not in self._true:
            self._true[key] = self._count(cell, measure)
        return self._true[key]

    def _count(self, cell: Cell, measure: str) -> int:
        wave = self.wave
        count = 0
        for index, place in enumerate(wave.places):
            if not self.under(cell[0], place):
                continue
            if len(cell) == 3 and wave.choices[cell[1]][index] != cell[2]:
                continue
            if measure != "responses" and wave.ratings[measure][index] is None:
                continue
            count += 1
        return count

    def record(self, cell: Cell, measure: str, n: int | None) -> None:
        key = (cell, measure)
        if key in self.published:
            assert self.published[key] == n, f"{key}: {self.published[key]} in one request, {n}"
        self.published[key] = n
        if n is not None:
            assert n == self.true_n(cell, measure), key
            assert not 0 < n < K, f"{key}: {n} published"

    def request_everything(self) -> int:
        requests = 0
        survey = survey_by_slug(self.session, "placement-quality")
        assert survey is not None
        for node in self.nodes:
            scope = organisation_by_code(self.session, node) if node else None
            depth = LEVELS.index(self.wave.level[node]) if node else -1
            for by in (None, *LEVELS[depth + 1 :], *CHOICES):
                summary = load_summary(self.session, survey, scope, by, K)
                requests += 1
                self.read(node, by, summary)
        return requests

    def read(self, node: str, by: str | None, summary: Mapping[str, Any]) -> None:
        self.record((node,), "responses", summary["responses"])
        for item in summary["items"]:
            self.record((node,), item["code"], item["n"])
        for group in summary["groups"]:
            cell: Cell = (group["key"],) if by in LEVELS else (node, str(by), group["key"])
            # A group under k responses is listed by name only: nothing of it is published here.
            self.record(cell, "responses", group["responses"])
            for item in group["items"]:
                self.record(cell, item["code"], item["n"])

    def hidden(self, cell: Cell, measure: str) -> bool:
        return self.published.get((cell, measure)) is None

    def solve(self, left: Cell, right: list[Cell], measure: str) -> list[str]:
        rest = self.true_n(left, measure) - sum(self.true_n(c, measure) for c in right)
        assert rest >= 0
        unknown = [c for c in right if self.hidden(c, measure) and self.true_n(c, measure)]
        if self.hidden(left, measure):
            if self.true_n(left, measure) and not unknown and rest == 0:
                return [f"{measure}: withheld {left} = sum of published {right}"]
            return []
        found = []
        if len(unknown) == 1 and rest == 0:
            found.append(f"{measure}: withheld {unknown[0]} = {left} less published {right}")
        left_over = rest + sum(self.true_n(c, measure) for c in unknown)
        if 0 < left_over < K:
            found.append(f"{measure}: {left} less published {right} leaves {left_over}")
        return found

    def leaks(self) -> list[str]:
        found: list[str] = []
        wave = self.wave
        for measure in self.measures:
            for node in self.nodes:
                depth = LEVELS.index(wave.level[node]) if node else -1
                for level in LEVELS[depth + 1 :]:
                    below = [
                        code
                        for code in wave.level
                        if wave.level[code] == level and code != node and self.under(node, code)
                    ]
                    found += self.solve((node,), [(c,) for c in below], measure)
                    for question, options in PLACEMENT.options.items():
                        for option in options:
                            found += self.solve(
                                (node, question, option),
                                [(c, question, option) for c in below],
                                measure,
                            )
                for question, options in PLACEMENT.options.items():
                    found += self.solve(
                        (node,), [(node, question, option) for option in options], measure
                    )
        return found


def test_no_combination_of_a_leads_tables_reveals_fewer_than_k_learners(
    generated: Generated, db_session: Session
) -> None:
    attacker = Attacker(generated, db_session)
    assert attacker.request_everything() > 50
    # The generated waves reach the cases the attack is about.
    assert any(n is None for n in attacker.published.values())
    assert any(n is not None and n > 0 for n in attacker.published.values())
    assert attacker.leaks() == []
