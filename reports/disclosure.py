"""Disclosure control over the whole hierarchy: which cells of one survey wave are withheld.

Complementary (secondary) suppression is decided once per wave over every cell any user could
request, not per table, so a cell is published or withheld identically in every output. This
module is pure: numpy arrays in, boolean masks out (no database, no web framework).

Data model
----------
* ``Hierarchy``: organisations as a tree under a synthetic root, index 0 ("England"), level 0.
  Levels: root 0 > region 1 > icb 2 > hub 3 > pcn 4 > practice 5. ``parent[0] == -1``; every other
  node's parent comes before it (``parent[i] < i``) and lies at a shallower level (a level may be
  skipped, e.g. a practice directly under a hub).
* A *measure* is one figure's count (the answers to one Likert item, the respondents with a score
  for one theme, the responses, one text theme's mentions...). M measures are decided at once and
  independently: every array has a trailing measure axis.
* ``CellCounts``: ``direct[node, m]`` counts the responses attached to the node itself (a response
  is attached to one node at any level). For each choice question q with P_q options,
  ``crossed_direct[q][node, o, m]`` splits ``direct`` by the option chosen; slot P_q is "no answer"
  (never a cell, never published), and the slots sum to ``direct``.
* The cells: ``total(N, m)`` for every node (the node's own responses and all its descendants'),
  and ``cross(N, q, o, m)`` for every node, question and option (``N`` by ``q``).

The rule (``decide_withheld``)
------------------------------
Primary: a cell with n in 1..k-1 is withheld; a cell of n 0 is published. Cells in ``forced`` are
withheld too (and count as secondary). Then, for every equation an attacker can build from one
request,

* levels: for every node N and every level L deeper than N's, ``total(N) = sum of total(D) over
  N's descendants D at level L + residual`` (the residual, never published, is the responses of
  N's subtree attached above level L). Skip-level equations included: ICB minus its practices.
* crossing: for every node N and question q, ``total(N) = sum_o cross(N, q, o) + no-answer(N, q)``.
* crossed levels: for every (q, o), node N and deeper level L, the levels equation of
  ``cross(., q, o)``,

with U the unknown terms of the right-hand side whose n > 0 (withheld cells, and the residual or
no-answer term when its n > 0): when the left side is published the equation is violated if U is
one withheld cell (it would be solved exactly) or if 0 < sum of n over U < k (a set of 1..k-1
respondents); when the left side is withheld (n > 0) it is violated if U is empty. Repair: withhold
the published right-hand cell with the smallest n > 0 (ties: the lowest cell index, totals before
each question's crossing, nodes in order then options) or, when none is left, the left side. The
equations are swept family by family (all parents at one level with their descendants at one
deeper level, for one measure axis at once) until a whole sweep changes nothing.

Then the linear audit (``reports.disclosure_audit``): for each measure, whether a withheld cell
with n > 0, or a non-empty atom of 1..k-1 respondents (the responses attached to one node with
one slot of one question, "no answer" included), lies in the linear span of the published cells
of that measure, empty atoms being known zeros. It follows the changes of the atoms that leave
every published cell as it is, up and down the tree, in exact arithmetic modulo a prime; where
something is solved it withholds the published cells moved by the cheapest cycle through it (a
trade between two slots at one node against the opposite trade at another, or a learner moved
between two nodes). The equations are swept again and the changed measures audited again until
nothing is solved. Suppression only grows, so it terminates; the result depends on the input
only (no randomness; ties go to the smaller n, then the lower cell index).

Guarantee and its limit: for each measure, no linear combination of its published cells (sums
and differences across levels, options and questions, from any number of requests) determines a
withheld cell with n > 0 or the number, 1..k-1, of respondents attached to one node with one
answer to one question, even for an attacker who knows which such groups are empty; a fortiori
no single request's equation does. Not covered: combinations across measures (an item's cells
against a theme's or the response counts'; the caller ties those with ``forced``); an attacker
who knows more than the published cells, such as which *combinations* of answers to two
questions nobody at a node gave (the engine is given each question's counts, not their crossing)
or some respondents' own answers; bounds from counts being non-negative whole numbers (a
withheld cell no combination determines can still be narrowed to a range, in corner cases to one
value); other waves' cells. The tests check
this with two attackers written independently of the engine, on generated waves.

Performance (bench/disclosure.py; README, Benchmarks): 50,000 responses over 1,400 nodes, 25
measures, two questions of 8 options (595,000 cells) take about 23 CPU s, against 33 ms for the
floor (every cell's n) and 0.27-0.35 s for the sweep alone: the audit is pure Python over
subspaces of dimension at most 1 + the options of all questions (17 here) per node and measure,
so its work grows with nodes x measures, not with the square of the cells as a rank over all
cells at once would, but it is meant to run once per wave, not per request. Measures with
identical counts and states are audited once.

API
---
``decide_withheld(hierarchy, counts, min_n, *, forced=None) -> Withheld`` and
``subtree_totals(hierarchy, direct) -> totals`` (any trailing axes). ``Withheld`` holds the masks
``totals (nodes, M)`` and ``crossed[q] (nodes, P_q, M)``, and their primary parts, so a caller
counts the secondary cells as ``withheld & ~primary``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reports.disclosure_audit import audit_repairs

#: Levels of the organisation tree: root (England) 0 to practice 5.
ROOT, REGION, ICB, HUB, PCN, PRACTICE = range(6)
_NO_CELL = np.iinfo(np.int64).max


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """The organisation tree: ``parent`` int64 (nodes,), -1 for the root at index 0; ``level``
    int8 (nodes,), 0 for the root. A parent comes before its children."""

    parent: np.ndarray
    level: np.ndarray


@dataclass(frozen=True, slots=True)
class CellCounts:
    """Counts of the responses attached to each node itself, per measure.

    ``direct`` int64 (nodes, M); ``crossed_direct`` one int64 array (nodes, P_q + 1, M) per
    choice question, the last option slot being "no answer"; summed over options it is ``direct``.
    """

    direct: np.ndarray
    crossed_direct: tuple[np.ndarray, ...] = ()


@dataclass(frozen=True, slots=True)
class Withheld:
    """Which cells are withheld: ``totals`` bool (nodes, M), ``crossed`` one bool array
    (nodes, P_q, M) per question (no "no answer" slot: it is never a cell). ``primary_totals``
    and ``primary_crossed`` are the primary part (n in 1..k-1); the rest is secondary."""

    totals: np.ndarray
    crossed: tuple[np.ndarray, ...]
    primary_totals: np.ndarray
    primary_crossed: tuple[np.ndarray, ...]

    @classmethod
    def forcing(cls, totals: np.ndarray, crossed: tuple[np.ndarray, ...] = ()) -> Withheld:
        """Masks to pass as ``forced`` (no primary part)."""
        return cls(
            totals,
            crossed,
            np.zeros_like(totals, dtype=bool),
            tuple(np.zeros_like(c) for c in crossed),
        )

    def secondary_count(self) -> int:
        """The number of cells withheld for a reason other than their own small n."""
        count = int((self.totals & ~self.primary_totals).sum())
        for crossed, primary in zip(self.crossed, self.primary_crossed, strict=True):
            count += int((crossed & ~primary).sum())
        return count


_COUNT_BITS = 24  # an equation has fewer than 2**24 right-hand terms
_CELL_BITS = 32  # and there are fewer than 2**32 cells


@dataclass(slots=True)
class _Family:
    """Equations that share no cell, so they are checked and repaired at once: ``lhs`` (E,) the
    left-hand cells, ``terms`` (T,) the right-hand cells grouped by equation (equation e's are
    ``terms[bounds[e]:bounds[e + 1]]``), and their counts, precomputed (counts never change, only
    the withheld mask grows). ``cells`` lists every cell of the family; ``checked`` is the step
    after which it was last found clean (-1: never checked)."""

    lhs: np.ndarray
    terms: np.ndarray
    bounds: np.ndarray  # (E + 1,)
    lhs_n: np.ndarray  # (M, E)
    term_n: np.ndarray  # (M, T)
    residual_n: np.ndarray  # (M, E), >= 0
    cells: np.ndarray
    cell_equation: np.ndarray  # the equation of each entry of ``cells``
    checked: int = -1


def _check_hierarchy(hierarchy: Hierarchy) -> tuple[np.ndarray, np.ndarray]:
    parent = np.asarray(hierarchy.parent, dtype=np.int64)
    level = np.asarray(hierarchy.level, dtype=np.int64)
    if parent.ndim != 1 or level.shape != parent.shape or parent.size == 0:
        raise ValueError("parent and level must be 1-D arrays of the same non-zero length")
    if parent[0] != -1 or level[0] != ROOT:
        raise ValueError("node 0 must be the root: parent -1, level 0")
    rest = np.arange(1, parent.size)
    if np.any(parent[1:] < 0) or np.any(parent[1:] >= rest):
        raise ValueError("every node but the root needs a parent that comes before it")
    if np.any(level[1:] <= level[parent[1:]]) or np.any(level > PRACTICE):
        raise ValueError("every node must lie deeper than its parent, at most at level 5")
    return parent, level


def ancestors_by_level(hierarchy: Hierarchy) -> np.ndarray:
    """Return int64 (nodes, 6): each node's ancestor at each level (itself at its own level),
    -1 where it has none (levels deeper than the node's, or a skipped level)."""
    parent, level = _check_hierarchy(hierarchy)
    ancestors = np.full((parent.size, PRACTICE + 1), -1, dtype=np.int64)
    ancestors[0, ROOT] = 0
    for depth in range(1, PRACTICE + 1):
        nodes = np.flatnonzero(level == depth)
        ancestors[nodes] = ancestors[parent[nodes]]
        ancestors[nodes, depth] = nodes
    return ancestors


def subtree_totals(hierarchy: Hierarchy, direct: np.ndarray) -> np.ndarray:
    """Return the totals per node: its own ``direct`` counts plus all its descendants', for an
    array whose first axis is the node (any trailing axes)."""
    parent, level = _check_hierarchy(hierarchy)
    totals = np.array(direct, dtype=np.int64, copy=True)
    if totals.shape[:1] != parent.shape:
        raise ValueError("direct must have one row per node")
    for depth in range(PRACTICE, ROOT, -1):
        nodes = np.flatnonzero(level == depth)
        # Children are at a deeper level than their parent, so each level is complete when added.
        np.add.at(totals, parent[nodes], totals[nodes])
    return totals


def _segment_sums(values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Sum ``values`` (M, T) over each segment ``bounds[e]:bounds[e + 1]`` of its last axis."""
    running = np.zeros((values.shape[0], values.shape[1] + 1), dtype=np.int64)
    np.cumsum(values, axis=1, out=running[:, 1:])
    return running[:, bounds[1:]] - running[:, bounds[:-1]]


def _family(lhs: np.ndarray, terms: np.ndarray, n: np.ndarray) -> _Family | None:
    """Build a family from one (left-hand cell, right-hand cell) pair per right-hand term;
    equations without a right-hand cell are safe whatever happens (their residual is their whole
    n) and left out."""
    order = np.lexsort((terms, lhs))
    terms = terms[order]
    lhs, starts = np.unique(lhs[order], return_index=True)
    if lhs.size == 0:
        return None
    bounds = np.append(starts, terms.size)
    term_n = n[:, terms]
    residual_n = n[:, lhs] - _segment_sums(term_n, bounds)
    if np.any(residual_n < 0):
        raise ValueError("a node's crossed or descendant counts exceed its total")
    cells = np.concatenate([lhs, terms])
    equation = np.arange(lhs.size)
    cell_equation = np.concatenate([equation, np.repeat(equation, np.diff(bounds))])
    return _Family(lhs, terms, bounds, n[:, lhs], term_n, residual_n, cells, cell_equation)


def _segment_rows(bounds: np.ndarray, equations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the term rows of ``equations`` laid end to end, and the start of each."""
    lengths = bounds[equations + 1] - bounds[equations]
    ends = np.cumsum(lengths)
    starts = ends - lengths
    total = int(ends[-1]) if ends.size else 0
    return np.arange(total) + np.repeat(bounds[equations] - starts, lengths), starts


def _restrict(family: _Family, equations: np.ndarray) -> _Family:
    """The family's equations ``equations`` only (sorted indices), as a family of their own."""
    rows, starts = _segment_rows(family.bounds, equations)
    return _Family(
        family.lhs[equations],
        family.terms[rows],
        np.append(starts, rows.size),
        family.lhs_n[:, equations],
        family.term_n[:, rows],
        family.residual_n[:, equations],
        family.cells[:0],
        family.cell_equation[:0],
    )


def _families(
    ancestors: np.ndarray,
    level: np.ndarray,
    options: tuple[int, ...],
    n: np.ndarray,
) -> list[_Family]:
    """All equation families, in the order they are swept: crossing, then for each deeper level
    L (practices first) and each shallower level l (nearest first) the levels equations of the
    totals and of every question's options."""
    nodes = level.size
    offsets = np.cumsum((nodes, *(nodes * p for p in options)))[:-1]
    families: list[_Family | None] = []
    for q, p in enumerate(options):
        node = np.repeat(np.arange(nodes), p)
        cell = offsets[q] + np.arange(nodes * p)
        families.append(_family(node, cell, n))
    for deep in range(PRACTICE, ROOT, -1):
        below = np.flatnonzero(level == deep)
        for shallow in range(deep - 1, ROOT - 1, -1):
            top = ancestors[below, shallow]
            keep = top >= 0
            child, top = below[keep], top[keep]
            families.append(_family(top, child, n))
            for q, p in enumerate(options):
                option = np.tile(np.arange(p), child.size)
                child_cells = offsets[q] + np.repeat(child, p) * p + option
                top_cells = offsets[q] + np.repeat(top, p) * p + option
                families.append(_family(top_cells, child_cells, n))
    return [f for f in families if f is not None]


def _repair(family: _Family, withheld: np.ndarray, min_n: int) -> np.ndarray:
    """Check one family against the rule on every measure and withhold the repairs in place;
    return the cells (columns of ``withheld``, (M, cells)) that changed."""
    term_withheld = withheld[:, family.terms]
    unknown = term_withheld & (family.term_n > 0)
    # One running sum gives both the number of unknown cells (low bits) and their n (high bits).
    packed = _segment_sums(np.where(unknown, (family.term_n << _COUNT_BITS) + 1, 0), family.bounds)
    unknown_cells = packed & ((1 << _COUNT_BITS) - 1)
    unknown_sum = (packed >> _COUNT_BITS) + family.residual_n
    no_residual = family.residual_n == 0
    revealed = ((unknown_cells == 1) & no_residual) | ((unknown_sum > 0) & (unknown_sum < min_n))
    violated = np.where(
        withheld[:, family.lhs],
        (family.lhs_n > 0) & (unknown_cells == 0) & no_residual,
        revealed,
    )
    measures, equations = np.nonzero(violated)
    if equations.size == 0:
        return equations
    # The right-hand terms of each violated (equation, measure), laid end to end.
    rows, starts = _segment_rows(family.bounds, equations)
    columns = np.repeat(measures, np.diff(np.append(starts, rows.size)))
    term_n = family.term_n[columns, rows]
    candidate = (term_n > 0) & ~term_withheld[columns, rows]
    keys = np.where(candidate, (term_n << _CELL_BITS) + family.terms[rows], _NO_CELL)
    smallest = np.minimum.reduceat(keys, starts)
    cells = np.where(
        smallest != _NO_CELL, smallest & ((1 << _CELL_BITS) - 1), family.lhs[equations]
    )
    withheld[measures, cells] = True
    return cells


class _Sweep:
    """The equation families and what was checked since: sweeps them family by family until a
    whole round changes nothing, and again after cells are withheld from outside (the audit)."""

    def __init__(self, families: list[_Family], cells: int) -> None:
        self.families = families
        # changed_at[cell]: the step at which the cell was last withheld; a family whose cells
        # have not changed since it was last found clean is skipped.
        self.changed_at = np.zeros(cells, dtype=np.int64)
        self.step = 0

    def mark(self, cells: np.ndarray) -> None:
        self.step += 1
        self.changed_at[cells] = self.step

    def run(self, withheld: np.ndarray, min_n: int) -> None:
        families = self.families
        clean = 0  # a full round of clean families ends
        while clean < len(families):
            family = families[self.step % len(families)]
            self.step += 1
            if family.checked < 0:
                changed = _repair(family, withheld, min_n)
            else:
                # Only the equations with a cell withheld since the family was last found clean.
                touched = family.cell_equation[self.changed_at[family.cells] > family.checked]
                if touched.size == 0:
                    clean += 1
                    continue
                changed = _repair(_restrict(family, np.unique(touched)), withheld, min_n)
            if changed.size:
                # A repair may leave its equation violated (still fewer than k): check it again.
                self.changed_at[changed] = self.step
                family.checked = self.step - 1
                clean = 0
            else:
                family.checked = self.step
                clean += 1


def decide_withheld(
    hierarchy: Hierarchy,
    counts: CellCounts,
    min_n: int,
    *,
    forced: Withheld | None = None,
) -> Withheld:
    """Return which cells of a wave are withheld (primary and complementary), per measure.

    ``min_n`` is k (an integer >= 1). ``forced`` (optional, e.g. ``Withheld.forcing(...)``; only
    its ``totals`` and ``crossed`` are read) marks cells to withhold before the secondary repair,
    e.g. a theme wherever one of its items is withheld; they count as secondary. Refuses
    (ValueError) inconsistent shapes, negative counts, crossed counts that do not add up to
    ``direct`` and a malformed tree.
    """
    if isinstance(min_n, bool) or not isinstance(min_n, int) or min_n < 1:
        raise ValueError(f"the minimum cell size must be an integer >= 1, got {min_n!r}")
    parent, level = _check_hierarchy(hierarchy)
    direct = np.asarray(counts.direct, dtype=np.int64)
    if direct.ndim != 2 or direct.shape[0] != parent.size:
        raise ValueError("direct must be (nodes, measures)")
    if np.any(direct < 0):
        raise ValueError("counts must not be negative")
    crossed_direct = tuple(np.asarray(c, dtype=np.int64) for c in counts.crossed_direct)
    for crossed in crossed_direct:
        if crossed.ndim != 3 or crossed.shape[0::2] != direct.shape or crossed.shape[1] < 2:
            raise ValueError("each crossed_direct must be (nodes, options + 1, measures)")
        if np.any(crossed < 0) or not np.array_equal(crossed.sum(axis=1), direct):
            raise ValueError("crossed_direct must be non-negative and sum to direct")
    options = tuple(c.shape[1] - 1 for c in crossed_direct)
    nodes, measures = direct.shape

    totals = subtree_totals(hierarchy, direct)
    crossed_totals = [subtree_totals(hierarchy, c[:, :-1, :]) for c in crossed_direct]
    # Every cell's n, measure-major (M, cells): totals by node, then each question's crossing by
    # node then option. Runs over a measure's cells are contiguous, which the sums need.
    flat = [totals, *(c.reshape(nodes * c.shape[1], measures) for c in crossed_totals)]
    n = np.ascontiguousarray(np.concatenate(flat).T)
    primary = (n > 0) & (n < min_n)
    withheld = primary.copy()
    if forced is not None:
        shapes = [totals.shape, *(c.shape for c in crossed_totals)]
        masks = [forced.totals, *forced.crossed]
        if len(masks) != len(shapes) or any(
            np.shape(m) != s for m, s in zip(masks, shapes, strict=True)
        ):
            raise ValueError("forced masks must match the cells' shapes")
        stacked = np.concatenate([np.asarray(m, dtype=bool).reshape(-1, measures) for m in masks])
        withheld |= stacked.T

    sweep = _Sweep(_families(ancestors_by_level(hierarchy), level, options, n), n.shape[1])
    sweep.run(withheld, min_n)
    # Each node's cells as columns of ``n``: its total, then every question's options.
    offsets = np.cumsum((nodes, *(nodes * p for p in options)))[:-1]
    node_cells = np.concatenate(
        [
            np.arange(nodes)[:, None],
            *(offsets[q] + np.arange(nodes * p).reshape(nodes, p) for q, p in enumerate(options)),
        ],
        axis=1,
    )
    cell_n = n[:, node_cells]
    audited = list(range(measures))
    while audited:
        measures_to, cells_to = audit_repairs(
            parent,
            direct,
            crossed_direct,
            cell_n,
            withheld[:, node_cells],
            node_cells,
            min_n,
            audited,
        )
        withheld[measures_to, cells_to] = True
        sweep.mark(cells_to)
        sweep.run(withheld, min_n)
        # Only a measure with cells withheld since its audit can have changed.
        audited = np.unique(measures_to).tolist()

    def split(mask: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        parts = np.split(mask.T, np.cumsum((nodes, *(nodes * p for p in options)))[:-1])
        crossed = tuple(
            np.ascontiguousarray(part.reshape(nodes, p, measures))
            for part, p in zip(parts[1:], options, strict=True)
        )
        return np.ascontiguousarray(parts[0]), crossed

    withheld_totals, withheld_crossed = split(withheld)
    primary_totals, primary_crossed = split(primary)
    return Withheld(withheld_totals, withheld_crossed, primary_totals, primary_crossed)
