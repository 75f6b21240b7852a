"""Organisations in one hierarchy: region > icb > hub > pcn > practice."""

import enum

from sqlmodel import Field, SQLModel


class OrgLevel(enum.StrEnum):
    """A level of the hierarchy, from the widest to the narrowest."""

    REGION = "region"
    ICB = "icb"
    HUB = "hub"
    PCN = "pcn"
    PRACTICE = "practice"

    @property
    def rank(self) -> int:
        """0 for a region, 4 for a practice: a parent's rank is always lower than its child's."""
        return list(OrgLevel).index(self)

    @property
    def path_column(self) -> str:
        """The name of the `Organisation` column holding the ancestor at this level."""
        return f"{self.value}_id"

    @property
    def label(self) -> str:
        return {
            "region": "NHS England region",
            "icb": "Integrated care board",
            "hub": "Training hub",
            "pcn": "Primary care network",
            "practice": "GP practice",
        }[self.value]

    @property
    def with_article(self) -> str:
        """The level as a message names it: "a region", "an ICB", "a hub", "a PCN", "a practice"."""
        return {
            "region": "a region",
            "icb": "an ICB",
            "hub": "a hub",
            "pcn": "a PCN",
            "practice": "a practice",
        }[self.value]


class Organisation(SQLModel, table=True):
    """A region, ICB, training hub, PCN or practice.

    Besides its parent, each organisation carries its ancestor (or itself) at every level in the
    `*_id` path columns, so "responses under this scope" and "grouped by hub" are one indexed
    equality each, with no recursive query on the hot path of a report.
    """

    id: int | None = Field(default=None, primary_key=True)
    #: ODS code (or a local code for hubs), unique across every level.
    code: str = Field(max_length=20, unique=True, index=True)
    name: str = Field(max_length=200)
    level: OrgLevel = Field(max_length=10, index=True)
    parent_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    #: Ancestor-or-self at each level; null where the chain has no organisation at that level.
    region_id: int | None = Field(default=None, index=True)
    icb_id: int | None = Field(default=None, index=True)
    hub_id: int | None = Field(default=None, index=True)
    pcn_id: int | None = Field(default=None, index=True)
    practice_id: int | None = Field(default=None, index=True)

    def path_id(self, level: OrgLevel) -> int | None:
        """This organisation's ancestor (or itself) at `level`."""
        return getattr(self, level.path_column)
