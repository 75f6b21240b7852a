"""Small-cell suppression: which figures are withheld so no one can be identified.

Primary suppression withholds any figure computed from fewer than k answers. Secondary
suppression stops a withheld group figure being recovered by subtracting the published group
figures from the published scope figure. Every function here is pure: dicts of counts in, sets
of group keys out, or for a whole breakdown at once (``withheld_groups``) arrays in key order.
"""

from __future__ import annotations

from collections.abc import Mapping, Set

import numpy as np


def check_min_n(min_n: int) -> int:
    """Return ``min_n`` (the minimum cell size k) after refusing (ValueError) values below 1."""
    if isinstance(min_n, bool) or not isinstance(min_n, int) or min_n < 1:
        raise ValueError(f"the minimum cell size must be an integer >= 1, got {min_n!r}")
    return min_n


def is_suppressed(answers: int, min_n: int) -> bool:
    """Return True when a figure computed from ``answers`` answers must be withheld (< k)."""
    return answers < check_min_n(min_n)


def suppressed_groups(responses: Mapping[str, int], min_n: int) -> frozenset[str]:
    """Return the keys of groups whose responses number fewer than k.

    Such a group is published as its key, label and ``suppressed`` flag only, and counts as
    suppressed for every item and theme.
    """
    check_min_n(min_n)
    return frozenset(key for key, count in responses.items() if count < min_n)


def suppress_cells(
    answers: Mapping[str, int],
    min_n: int,
    *,
    scope_published: bool,
    always_suppressed: Set[str] = frozenset(),
    unassigned: int = 0,
) -> frozenset[str]:
    """Return the groups whose figure for one item (or theme) is withheld in one breakdown.

    ``answers`` maps every group key of the breakdown to its number of answers for the item
    (its n). Primary: a group with fewer than k answers, or listed in ``always_suppressed``
    (groups with fewer than k responses), is withheld. Secondary: when exactly one group is
    withheld and the scope's figure is published, the unsuppressed group with the fewest
    answers (ties: the first key in string order) is withheld too. When no other group
    exists there is nothing to withhold. One pass, as the spec defines it.

    ``unassigned`` is the number of the scope's answers that fall in no group (a learner
    placed at a PCN when grouping by practice, a response without the grouping answer). The
    scope figure minus the published groups is exactly their figure, so when they number
    from 1 to k - 1 they count as one withheld cell: if no group is withheld, the smallest
    group is, so the remainder cannot be recovered by subtraction. Refuses
    (ValueError) an ``always_suppressed`` key not in ``answers`` and ``min_n < 1``.
    """
    check_min_n(min_n)
    unknown = set(always_suppressed) - set(answers)
    if unknown:
        raise ValueError(f"always-suppressed groups missing from answers: {sorted(unknown)}")
    keys = sorted(answers)
    withheld = withheld_groups(
        np.array([answers[key] for key in keys], dtype=np.int64),
        min_n,
        scope_published=scope_published,
        always_suppressed=np.array([key in always_suppressed for key in keys], dtype=bool),
        unassigned=unassigned,
    )
    return frozenset(key for key, hidden in zip(keys, withheld.tolist(), strict=True) if hidden)


def withheld_groups(
    answers: np.ndarray,
    min_n: int,
    *,
    scope_published: bool,
    always_suppressed: np.ndarray,
    unassigned: int = 0,
) -> np.ndarray:
    """Return ``suppress_cells`` for groups given as arrays in key order: a boolean array, True
    where the group's figure is withheld.

    ``answers[g]`` is group g's n for the item and ``always_suppressed[g]`` whether it has
    fewer than k responses; groups must be in key order, which breaks ties. The caller
    vouches for ``min_n >= 1``.
    """
    withheld = (answers < min_n) | always_suppressed
    hidden_remainder = 1 if 0 < unassigned < min_n else 0
    if int(withheld.sum()) + hidden_remainder == 1 and scope_published:
        candidates = np.flatnonzero(~withheld)
        if candidates.size:
            # argmin takes the first of equal counts: the first key in string order.
            withheld[candidates[np.argmin(answers[candidates])]] = True
    return withheld
