"""Which figures of one summary are withheld: the states of its cells, decided elsewhere.

A summary shows the cells of one request: the scope, and with ``by`` each group. Whether each of
their figures is published is a property of the cell, decided once per wave over every cell a user
could request (``reports.disclosure.decide_withheld``, which the application runs over the whole
organisation hierarchy crossed with every choice question). ``CellStates`` carries the answer for
the cells of one summary; the summary only reads it.

Without the application (a summary of aggregates handed in by hand, as the engine's own tests
build), ``states_of_tables`` decides over the one table the summary holds: the scope as the parent
of its groups, with the scope's answers in no group as the parent's own. That is the same rule on
the smallest hierarchy there is, not a weaker one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reports.disclosure import CellCounts, Hierarchy, Withheld, decide_withheld


@dataclass(frozen=True, slots=True)
class CellStates:
    """Withheld (True) or published, per cell of one summary: row 0 is the scope, rows 1.. the
    groups in the order the caller gave them.

    ``responses`` (cells,); ``items`` (cells, items) and ``themes`` (cells, themes) in the survey's
    order; ``text_answered`` (cells, text questions): the count of answers to each text question,
    which its theme counts and quotes follow. ``secondary`` counts the cells of this summary
    withheld for a reason other than their own small n.
    """

    responses: np.ndarray
    items: np.ndarray
    themes: np.ndarray
    text_answered: np.ndarray
    secondary: int
    #: (cells, every text question's codebook themes in order): each theme's mentions.
    text_mentions: np.ndarray | None = None

    def select(self, groups: np.ndarray) -> CellStates:
        """The states of the scope and of the groups ``groups`` (indexes among the groups, in the
        order wanted); ``secondary`` counts only the cells kept, so the caller passes it on as
        it was (the count of the summary's own cells is recomputed by the caller if needed)."""
        rows = np.concatenate([[0], np.asarray(groups, dtype=np.intp) + 1])
        return CellStates(
            self.responses[rows],
            self.items[rows],
            self.themes[rows],
            self.text_answered[rows],
            self.secondary,
            None if self.text_mentions is None else self.text_mentions[rows],
        )


def themes_forced(
    items_withheld: np.ndarray, theme_items: tuple[tuple[int, ...], ...]
) -> np.ndarray:
    """Where each theme must be withheld because one of its statements is: (cells, themes) from
    ``items_withheld`` (cells, items) and each theme's item indexes. A theme's mean and spread
    with its other statements' published counts would let a withheld statement be solved back."""
    forced = np.zeros((items_withheld.shape[0], len(theme_items)), dtype=bool)
    for theme, items in enumerate(theme_items):
        if items:
            forced[:, theme] = items_withheld[:, list(items)].any(axis=1)
    return forced


@dataclass(frozen=True, slots=True)
class CellCountsOfTable:
    """The n of each cell of one summary, row 0 the scope, rows 1.. the groups: ``responses``
    (cells,), ``items`` (cells, items), ``themes`` (cells, themes: respondents with a score),
    ``text_answered`` (cells, text questions); ``theme_items``: each theme's item indexes."""

    responses: np.ndarray
    items: np.ndarray
    themes: np.ndarray
    text_answered: np.ndarray
    theme_items: tuple[tuple[int, ...], ...]


def _one_table(n: np.ndarray) -> tuple[Hierarchy, CellCounts]:
    """The scope (row 0) as the parent of its groups; its own answers are those in no group."""
    cells = n.shape[0]
    hierarchy = Hierarchy(
        np.array([-1] + [0] * (cells - 1), dtype=np.int64),
        np.array([0] + [1] * (cells - 1), dtype=np.int8),
    )
    direct = n.copy()
    direct[0] -= n[1:].sum(axis=0)
    return hierarchy, CellCounts(direct)


def states_of_tables(counts: CellCountsOfTable, min_n: int) -> CellStates:
    """Decide the states of one summary's cells on its own table (see the module's docstring):
    primary suppression of 1..k-1, themes withheld where one of their items is, and
    complementary suppression of the scope against its groups and the answers in no group.

    Refuses (ValueError) a group holding more than the scope and ``min_n < 1``.
    """
    cells = len(counts.responses)
    items = np.asarray(counts.items, dtype=np.int64).reshape(cells, -1)
    texts = np.asarray(counts.text_answered, dtype=np.int64).reshape(cells, -1)
    themes = np.asarray(counts.themes, dtype=np.int64).reshape(cells, -1)
    n = np.concatenate(
        [np.asarray(counts.responses, dtype=np.int64).reshape(cells, 1), items, texts], axis=1
    )
    first = decide_withheld(*_one_table(n), min_n)
    items_withheld = first.totals[:, 1 : 1 + items.shape[1]]
    # A theme with no scores in a cell has nothing to withhold there.
    forced = themes_forced(items_withheld, counts.theme_items) & (themes > 0)
    second = decide_withheld(*_one_table(themes), min_n, forced=Withheld.forcing(forced))
    return CellStates(
        responses=first.totals[:, 0],
        items=items_withheld,
        themes=second.totals,
        text_answered=first.totals[:, 1 + items.shape[1] :],
        secondary=first.secondary_count() + second.secondary_count(),
    )
