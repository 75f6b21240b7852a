"""Benchmark of ``reports.disclosure.decide_withheld`` at the size of England. Not a test.

    python bench/disclosure.py [--responses 50000] [--measures 25] [--repeat 5] [--seed 1]

Builds a tree of 7 regions, 42 ICBs, about 100 hubs, 250 PCNs and 1,000 practices, attaches
50,000 responses (95% to practices, the rest to PCNs and hubs, practice sizes skewed so many are
small), each answering each of 25 measures with probability 0.9, with two choice questions of 8
options (one option rare, a few per cent "no answer"). Times the whole decision (the
per-equation sweep and the linear audit, ``reports.disclosure_audit``) against the floor
measured in the same run: ``subtree_totals`` of the same counts (computing every cell's n once),
and, for one more run, its CPU time (the machine is shared), the audit's share and the cells
its repairs withheld. The timed figures are medians of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import reports.disclosure
from reports.disclosure import CellCounts, Hierarchy, decide_withheld, subtree_totals


def england(rng: np.random.Generator) -> Hierarchy:
    """A tree with England's shape: 7 regions, 42 ICBs, 100 hubs, 250 PCNs, 1,000 practices."""
    parent, level = [-1], [0]

    def add(parents: list[int], count: int, depth: int) -> list[int]:
        chosen = np.sort(rng.choice(parents, size=count - len(parents)))
        start = len(parent)
        for p in [*parents, *chosen.tolist()]:
            parent.append(p)
            level.append(depth)
        return list(range(start, len(parent)))

    regions = add([0] * 7, 7, 1)
    icbs = add(regions, 42, 2)
    hubs = add(icbs, 100, 3)
    pcns = add(hubs, 250, 4)
    add(pcns, 1000, 5)
    return Hierarchy(np.array(parent, dtype=np.int64), np.array(level, dtype=np.int8))


def counts(
    rng: np.random.Generator, hierarchy: Hierarchy, responses: int, measures: int
) -> CellCounts:
    level = hierarchy.level
    practices = np.flatnonzero(level == 5)
    others = np.flatnonzero((level == 4) | (level == 3))
    weight = rng.pareto(1.5, practices.size) + 0.05
    at_practice = rng.random(responses) < 0.95
    node = np.where(
        at_practice,
        rng.choice(practices, size=responses, p=weight / weight.sum()),
        rng.choice(others, size=responses),
    )
    answered = rng.random((responses, measures)) < 0.9
    direct = np.zeros((level.size, measures), dtype=np.int64)
    np.add.at(direct, node, answered.astype(np.int64))
    crossed = []
    for _ in range(2):
        p = np.array([0.3, 0.2, 0.15, 0.1, 0.1, 0.08, 0.04, 0.005, 0.025])
        option = rng.choice(9, size=responses, p=p / p.sum())  # slot 8: no answer
        cross = np.zeros((level.size, 9, measures), dtype=np.int64)
        np.add.at(cross, (node, option), answered.astype(np.int64))
        crossed.append(cross)
    return CellCounts(direct, tuple(crossed))


def median_time(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--responses", type=int, default=50_000)
    parser.add_argument("--measures", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-n", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    hierarchy = england(rng)
    cells = counts(rng, hierarchy, args.responses, args.measures)

    def floor() -> None:
        subtree_totals(hierarchy, cells.direct)
        for c in cells.crossed_direct:
            subtree_totals(hierarchy, c)

    floor_s = median_time(floor, args.repeat)
    decide_s = median_time(lambda: decide_withheld(hierarchy, cells, args.min_n), args.repeat)
    # One more run with the audit's calls timed and its repairs counted.
    audit = reports.disclosure.audit_repairs
    audit_s, audit_cells, rounds = 0.0, 0, 0

    def timed(*arguments: object) -> tuple[np.ndarray, np.ndarray]:
        nonlocal audit_s, audit_cells, rounds
        start = time.perf_counter()
        found = audit(*arguments)  # type: ignore[arg-type]
        audit_s += time.perf_counter() - start
        audit_cells += int(found[1].size)
        rounds += 1
        return found

    reports.disclosure.audit_repairs = timed  # type: ignore[assignment]
    cpu = time.process_time()
    result = decide_withheld(hierarchy, cells, args.min_n)
    cpu = time.process_time() - cpu
    reports.disclosure.audit_repairs = audit
    primary = int(result.primary_totals.sum()) + sum(int(p.sum()) for p in result.primary_crossed)
    cells_n = result.totals.size + sum(c.size for c in result.crossed)
    print(f"machine: {os.cpu_count()} CPUs; nodes {hierarchy.parent.size}, cells {cells_n}")
    print(f"primary withheld {primary}, secondary withheld {result.secondary_count()}")
    print(f"floor (subtree totals) {floor_s * 1000:.1f} ms")
    print(f"decide_withheld        {decide_s * 1000:.1f} ms ({decide_s / floor_s:.0f}x the floor)")
    print(
        f"one more run: {cpu:.1f} CPU s, of which the linear audit about {audit_s:.1f} s (wall) "
        f"in {rounds} rounds, {audit_cells} cells withheld by its repairs"
    )


if __name__ == "__main__":
    main()
