"""Primary and secondary small-cell suppression."""

from __future__ import annotations

import pytest

from reports.suppression import (
    check_min_n,
    is_suppressed,
    suppress_cells,
    suppressed_groups,
)


def test_primary_suppression_is_strictly_fewer_than_k() -> None:
    assert is_suppressed(4, 5)
    assert not is_suppressed(5, 5)
    assert not is_suppressed(6, 5)
    assert is_suppressed(0, 1)


def test_groups_just_under_and_at_k() -> None:
    assert suppressed_groups({"A": 4, "B": 5, "C": 6, "D": 0}, 5) == {"A", "D"}


def test_exactly_one_suppressed_group_takes_the_next_smallest_with_it() -> None:
    answers = {"A": 40, "B": 3, "C": 12, "D": 9, "E": 30}
    assert suppress_cells(answers, 5, scope_published=True) == {"B", "D"}


def test_secondary_ties_go_to_the_first_key() -> None:
    answers = {"Z": 9, "M": 2, "C": 9, "K": 9, "A": 50}
    assert suppress_cells(answers, 5, scope_published=True) == {"M", "C"}


def test_two_suppressed_groups_need_no_secondary_suppression() -> None:
    answers = {"A": 1, "B": 2, "C": 12, "D": 9}
    assert suppress_cells(answers, 5, scope_published=True) == {"A", "B"}


def test_no_secondary_suppression_when_the_scope_figure_is_withheld() -> None:
    assert suppress_cells({"A": 3, "B": 7}, 5, scope_published=False) == {"A"}


def test_no_secondary_suppression_without_another_group() -> None:
    assert suppress_cells({"A": 3}, 5, scope_published=True) == {"A"}


def test_nothing_suppressed_leaves_every_group() -> None:
    assert suppress_cells({"A": 5, "B": 7}, 5, scope_published=True) == frozenset()


def test_a_wholly_suppressed_group_counts_for_every_item() -> None:
    # "A" has 3 responses (< k), so it is suppressed for the item even with no answers to
    # compare; its answers do not matter. The next smallest published group goes with it.
    answers = {"A": 3, "B": 20, "C": 8}
    assert suppress_cells(answers, 5, scope_published=True, always_suppressed={"A"}) == {"A", "C"}
    # Listed as wholly suppressed even when its item count would pass on its own.
    answers = {"A": 6, "B": 20, "C": 8}
    assert suppress_cells(answers, 5, scope_published=True, always_suppressed={"A"}) == {"A", "C"}


def test_a_group_with_no_answers_for_the_item_is_a_suppressed_cell() -> None:
    assert suppress_cells({"A": 0, "B": 20, "C": 8}, 5, scope_published=True) == {"A", "C"}


@pytest.mark.parametrize("min_n", [0, -3, 2.5, True])
def test_refuses_a_meaningless_minimum(min_n: object) -> None:
    with pytest.raises(ValueError):
        check_min_n(min_n)  # type: ignore[arg-type]


def test_refuses_unknown_always_suppressed_keys() -> None:
    with pytest.raises(ValueError):
        suppress_cells({"A": 6}, 5, scope_published=True, always_suppressed={"B"})


def test_answers_in_no_group_count_as_a_hidden_cell() -> None:
    answers = {"P1": 20, "P2": 9, "P3": 12}
    # Three answers in the scope belong to no group: without another withheld cell they
    # could be recovered as scope minus groups, so the smallest group goes.
    assert suppress_cells(answers, 5, scope_published=True, unassigned=3) == {"P2"}
    # With a group already withheld, the two hidden cells only show their sum.
    assert suppress_cells({**answers, "P4": 2}, 5, scope_published=True, unassigned=3) == {"P4"}
    # k or more in no group, or none: the spec's rule alone.
    assert suppress_cells(answers, 5, scope_published=True, unassigned=5) == frozenset()
    assert suppress_cells(answers, 5, scope_published=True, unassigned=0) == frozenset()
