"""Counting a survey's Likert answers into the integer tables the statistics start from.

Input is a responses x items matrix of answer values (0: unanswered) and each response's cell;
output is `CellTables` for `reports.summary.build_summary_from_tables` and count tables for
`reports.waves.compare_waves`. A bincount per item and two per theme, each over all responses
at once: never a Python loop over responses or answers, and every sum exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reports.summary import CellTables, SurveySpec
from reports.themes import ThemeTable, minimum_answered


def item_count_tables(spec: SurveySpec, values: np.ndarray) -> dict[str, np.ndarray]:
    """Per item code, its count table (index i: answers of value i + 1) over the responses x
    items matrix `values` (0: unanswered)."""
    width = max((item.points for item in spec.items), default=1) + 1
    # Item i's answers of value v land in bin i * width + v: one bincount for every item.
    bins = values.astype(np.int64) + np.arange(len(spec.items), dtype=np.int64) * width
    table = np.bincount(bins.ravel(), minlength=len(spec.items) * width).reshape(-1, width)
    return {item.code: table[index, 1 : item.points + 1] for index, item in enumerate(spec.items)}


@dataclass(frozen=True, slots=True)
class AnswerCounts:
    """Integer counts of the answers in each of several cells, from which every aggregate the
    statistics need follows exactly (value 0: unanswered; K: the survey's largest scale).

    ``responses``: responses per cell. ``items``: cells x items x (K + 1), answers by item and
    value. Per theme of m items, ``scores``: cells x (m + 1) x (m K + 1), the respondents with
    a theme score by how many of its items they answered and their total over those; and
    ``complete``: cells x m x (K + 1), the answers of respondents who answered all m, by item
    and value.
    """

    responses: np.ndarray
    items: np.ndarray
    scores: tuple[np.ndarray, ...]
    complete: tuple[np.ndarray, ...]

    def select(self, cells: np.ndarray) -> AnswerCounts:
        """The counts of `cells` only (an index array), in that order."""
        return AnswerCounts(
            responses=self.responses[cells],
            items=self.items[cells],
            scores=tuple(table[cells] for table in self.scores),
            complete=tuple(table[cells] for table in self.complete),
        )

    def summed(self) -> AnswerCounts:
        """The counts of all the cells together, as one cell."""
        return AnswerCounts(
            responses=self.responses.sum(keepdims=True),
            items=self.items.sum(axis=0, keepdims=True),
            scores=tuple(table.sum(axis=0, keepdims=True) for table in self.scores),
            complete=tuple(table.sum(axis=0, keepdims=True) for table in self.complete),
        )


def count_answers(
    spec: SurveySpec, values: np.ndarray, group_of: np.ndarray, groups: int
) -> AnswerCounts:
    """The `AnswerCounts` of `groups` cells, response r being in cell `group_of[r]`.

    A bincount per item and two per theme, each over all responses at once; never a Python
    loop over responses or answers.
    """
    items = len(spec.items)
    width = max((item.points for item in spec.items), default=1) + 1
    # One contiguous row per item: the bincounts and each theme's sums read whole rows.
    by_item_row = np.ascontiguousarray(values.T)

    def by_item(cell_of: np.ndarray, rows: list[int], cells: int) -> np.ndarray:
        """cells x len(rows) x width: the answers to each item of `rows` by cell and value."""
        bins = cell_of * width
        table = np.empty((len(rows), cells * width), dtype=np.int64)
        for position, row in enumerate(rows):
            table[position] = np.bincount(bins + by_item_row[row], minlength=cells * width)
        return table.reshape(len(rows), cells, width).transpose(1, 0, 2)

    item_table = by_item(group_of, list(range(items)), groups)
    columns = {item.code: index for index, item in enumerate(spec.items)}
    scores = []
    complete = []
    for theme in spec.themes:
        m = len(theme.items)
        rows = [columns[code] for code in theme.items]
        block = by_item_row[rows]
        answered = np.count_nonzero(block, axis=0)
        totals = block.sum(axis=0, dtype=np.int64)
        total_width = m * (width - 1) + 1
        # Respondents left out (no score; not complete) are counted in an extra cell that is
        # dropped: cheaper than picking the others out of the matrix.
        scored_cell = np.where(answered >= minimum_answered(m), group_of, groups)
        scores.append(
            np.bincount(
                (scored_cell * (m + 1) + answered) * total_width + totals,
                minlength=(groups + 1) * (m + 1) * total_width,
            ).reshape(groups + 1, m + 1, total_width)[:groups]
        )
        complete_cell = np.where(answered == m, group_of, groups)
        complete.append(by_item(complete_cell, rows, groups + 1)[:groups])
    return AnswerCounts(
        responses=np.bincount(group_of, minlength=groups),
        items=item_table,
        scores=tuple(scores),
        complete=tuple(complete),
    )


def cell_tables(spec: SurveySpec, counts: AnswerCounts) -> CellTables:
    """The `CellTables` of the cells of `counts`."""
    return CellTables(
        responses=counts.responses,
        item_counts=tuple(
            counts.items[:, index, 1 : item.points + 1] for index, item in enumerate(spec.items)
        ),
        themes=tuple(
            _theme_table(scores, complete)
            for scores, complete in zip(counts.scores, counts.complete, strict=True)
        ),
    )


def _theme_table(scores: np.ndarray, complete: np.ndarray) -> ThemeTable:
    """The `ThemeTable` of one theme's `scores` and `complete` counts (see `AnswerCounts`):
    each cell's sums equal to `ThemeAggregates.from_matrix` of its respondents' answers.

    Counts times values, in int64: exact. Score sums come from `_score_sums`.
    """
    cells, answered_bins, total_bins = scores.shape
    # Respondents who answered all m items are the complete ones; their totals lie here.
    complete_totals = scores[:, answered_bins - 1, :]
    totals = np.arange(total_bins)
    values = np.arange(complete.shape[2])
    score_sums, square_sums = _score_sums(
        scores.reshape(cells, answered_bins * total_bins), total_bins
    )
    return ThemeTable(
        scored=scores.sum(axis=(1, 2)),
        score_sum=score_sums,
        score_sum_squares=square_sums,
        complete=complete_totals.sum(axis=1),
        item_sums=complete @ values,
        item_sum_squares=complete @ (values * values),
        total_sum=complete_totals @ totals,
        total_sum_squares=complete_totals @ (totals * totals),
    )


#: Theme scores and their squares lie in [1, K**2]; there every float is a whole multiple of
#: 2**-52, so scaled by 2**52 they are exact integers.
_SCORE_SCALE = 52
_SPLIT = 26


def _score_sums(pairs: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Per cell, the sum of the theme scores and of their squares, each as `math.fsum` of the
    float scores would give it (the exact sum, rounded once).

    `pairs[cell, answered * width + total]` counts the cell's respondents with a score who
    answered `answered` items with this `total`; their score is total / answered. So a sum
    is counts times scores: the products are exact in int64 on the score scaled to an
    integer and split in two halves, and the halves are put together into floats rounded
    once. Summing the scores as floats would round at every step and depend on the order of
    the rows.
    """
    used = np.flatnonzero(pairs.any(axis=0))
    counts = pairs[:, used]
    pair_answered, pair_totals = np.divmod(used, width)
    scores = pair_totals / pair_answered
    results = []
    for addends in (scores, scores * scores):
        scaled = np.ldexp(addends, _SCORE_SCALE).astype(np.int64)
        high = counts @ (scaled >> _SPLIT)
        low = counts @ (scaled & ((1 << _SPLIT) - 1))
        if max(int(high.max(initial=0)), int(low.max(initial=0))) < 2**53:
            # Both halves convert to floats exactly, and one float addition rounds their
            # exact sum once: the correctly rounded (high * 2**26 + low) / 2**52.
            results.append(
                np.ldexp(high.astype(np.float64), _SPLIT - _SCORE_SCALE)
                + np.ldexp(low.astype(np.float64), -_SCORE_SCALE)
            )
        else:
            # Python's int / int rounds once at any size.
            results.append(
                np.array(
                    [
                        ((h << _SPLIT) + lo) / (1 << _SCORE_SCALE)
                        for h, lo in zip(high.tolist(), low.tolist(), strict=True)
                    ]
                )
            )
    return results[0], results[1]
