"""The linear audit of a wave's withheld cells: can any combination of published cells solve one?

``reports.disclosure`` withholds cells equation by equation; this module checks the result against
an attacker who combines *every* published cell of a measure at once, and names cells to withhold
more where that attacker wins. Pure Python and numpy, no database.

The attacker's unknowns, per measure, are the *atoms*: for every node v and choice question q,
``y[v, q, s]`` the responses attached to v itself whose answer to q is in slot s (an option, or
"no answer"); with no question, ``u[v]`` the responses attached to v. An empty atom is taken as
known to be 0 (the worst case). The atoms of one node are tied by ``sum_s y[v, q, s] = u[v]``, the
same for every question. A published cell is a known sum of atoms (a subtree's total, or a
subtree's atoms of one option). A withheld cell with n > 0, or a non-empty atom of 1..k-1
respondents, is *solved* when it lies in the linear span of the published cells and the known
zeros. The atoms are those the engine is given (one question at a time): an attacker who also
knows which *combinations* of answers nobody at a node gave knows more than any published cell
says, and is not covered.

Method: a target is safe exactly when some *perturbation* changes it, a change of the atoms that
keeps every known zero at 0 and every published cell as it is (a linear map's value is
determined by the rows it is given exactly when it vanishes on their null space). Perturbations
are found over the integers modulo the prime p = 2**30 - 35, exactly (no rounding, no
tolerance); a span modulo p can differ from the rational one only where p, about 10**9, divides
a minor of the cells' 0/1 matrix, a theoretical concern.

A subtree meets the rest of the tree only through its root's cells, so a perturbation is
followed through one vector per node, ``g(v)`` in F^D (D = 1 + total options: the change of v's
total and of each of its option cells):

* up the tree (children first) ``U(v)``, the values of ``g(v)`` some perturbation *inside* v's
  subtree reaches with every published cell there unchanged: ``(O(v) + sum U(child)) with v's
  published coordinates 0``, where ``O(v)`` is what v's own atoms can do (0 on empty atoms;
  total = sum of the options of a question whose "no answer" atom is empty);
* down the tree ``E(v)``, the values of ``g(v)`` the rest of the tree can absorb: everything at
  the root, and ``E(child) = (E(v) with v's published coordinates 0) + O(v) + sum U(siblings)``.

A withheld cell of v is solved when its coordinate is 0 throughout ``U(v) ∩ E(v)``; an atom of v
when it is 0 throughout ``O(v) ∩ (E(v) with v's published coordinates 0 + sum U(children))``.

Why this way: a rank over all cells at once (dense SVD, or elimination over 20,000 cells x
30,000 atoms per measure) is far too slow at England's size, while here every subspace lives in
F^D (D is 17 for two questions of 8 options): the work grows with nodes x measures. The questions
are audited together, not one at a time: they share each node's learners (the totals), so one
question's cells can pin down a node's total that another question's cells then split; the joint
vector ``g(v)`` carries that. Measures with the same counts and withheld cells are audited once,
and after a repair only the measures that changed are audited again.

Repair, by cycles: for each solved target, the cheapest change of atoms that moves it, either a
trade between two slots of one question at one node against the opposite trade at another, or
one learner moved between two nodes (through, for each question, a slot both share). The partner
is sought under the nearest common ancestor first (for a cell: a node at most two levels below it
against one outside its subtree; for an atom: its own node against any other); the cheapest is the
one that newly withholds the fewest cells, then the smallest n, then the first found in node
order. Its published cells are withheld: the change moves each of them, so the target and every
cell withheld for it are free afterwards (if nothing can move it, the smallest published cell of
the measure is withheld). The caller sweeps the equations again and audits the changed measures
again until nothing is solved; suppression only grows, so that ends.
"""

from __future__ import annotations

from bisect import insort

import numpy as np

#: The prime of the field the audit computes in, 2**30 - 35: below 2**30, so an entry is one
#: digit of CPython's integers and a product two (the arithmetic is the audit's cost).
PRIME = 1073741789

#: The most levels a subtree spans below its root (England to practice).
PRACTICE_DEPTH = 5
Vector = list[int]
Basis = list[Vector]  # linearly independent vectors spanning a subspace


def _echelon(
    vectors: list[Vector], start: list[tuple[int, Vector]] | None = None
) -> list[tuple[int, Vector]]:
    """An echelon basis of the span of ``vectors`` (and of ``start``, an echelon basis itself):
    (pivot, row) by pivot, each row 0 before its pivot and 1 at it."""
    rows: list[tuple[int, Vector]] = list(start or ())
    width = len(vectors[0]) if vectors else 0
    for vector in vectors:
        if len(rows) == width:  # the whole space: the rest adds nothing
            break
        v = vector
        for pivot, row in rows:
            c = v[pivot]
            if c:
                v = [(a - c * b) % PRIME for a, b in zip(v, row, strict=True)]
        lead = next(filter(None, v), 0)  # the first non-zero entry, found at C speed
        if lead:
            pivot = v.index(lead)
            if v[pivot] != 1:
                inverse = pow(v[pivot], PRIME - 2, PRIME)
                v = [a * inverse % PRIME for a in v]
            insort(rows, (pivot, v))
    return rows


def _span(*bases: Basis) -> Basis:
    return [row for _, row in _echelon([v for basis in bases for v in basis])]


def _with_zeros(basis: Basis, coordinates: list[int]) -> Basis:
    """The vectors of the span of ``basis`` that are 0 at every one of ``coordinates``."""
    if not basis or not coordinates:
        return _span(basis)
    width = len(coordinates)
    rows = _echelon([[v[j] for j in coordinates] + v for v in basis])
    return [row[width:] for pivot, row in rows if pivot >= width]


def _meet(first: Basis, second: Basis) -> Basis:
    """The intersection of two spans, ``second`` an echelon basis (as ``_span`` returns): the
    combinations of ``first`` whose remainders modulo ``second`` cancel."""
    if not first or not second:
        return []
    width = len(first[0])
    if len(second) == width:
        return _span(first)
    pivots = [row.index(1) for row in second]  # each row's first non-zero entry is a 1
    remainders = []
    for v in first:
        r = v
        for pivot, row in zip(pivots, second, strict=True):
            c = r[pivot]
            if c:
                r = [(a - c * b) % PRIME for a, b in zip(r, row, strict=True)]
        remainders.append(r + v)
    return [row[width:] for pivot, row in _echelon(remainders) if pivot >= width]


def _free(basis: Basis, coordinate: int) -> bool:
    return any(v[coordinate] for v in basis)


def _unit(width: int, *coordinates: int, t: int = -1) -> Vector:
    v = [0] * width
    for j in coordinates:
        v[j] = (v[j] + 1) % PRIME
    if t >= 0:
        v[t] = 1
    return v


class _Node:
    """One node of one measure: its atoms' counts and its cells' counts and states."""

    __slots__ = ("atoms", "cell_n", "children", "direct", "parent", "withheld")

    def __init__(
        self,
        parent: int,
        direct: int,
        atoms: list[list[int]],
        cell_n: list[int],
        withheld: list[bool],
    ) -> None:
        self.parent, self.direct, self.atoms = parent, direct, atoms
        self.cell_n, self.withheld = cell_n, withheld
        self.children: list[int] = []


def _own(node: _Node, starts: list[int], width: int) -> Basis:
    """What a node's own atoms can do to its cells (coordinate 0 the total, then each
    question's options from ``starts[q]``): 0 on empty atoms; where a question's "no answer" atom
    is empty, the total moves with the sum of its options."""
    if node.direct == 0:
        return []
    if not node.atoms:
        return [_unit(width, 0)]
    basis: Basis = []
    total = [0] * width
    total[0] = 1
    for start, slots in zip(starts, node.atoms, strict=True):
        options = [start + o for o, count in enumerate(slots[:-1]) if count]
        if slots[-1]:
            basis += [_unit(width, j) for j in options]
        else:  # the options must add up to the total: move one with it, trade between the rest
            total[options[0]] = 1
            basis += [_unit(width, j) for j in options[1:]]
            for v in basis[len(basis) - len(options) + 1 :]:
                v[options[0]] = PRIME - 1
    return [total, *basis]


#: (kind, node, question, slot): kind 0 a withheld cell (question -1: the total), 1 an atom
#: (question -1: the node's learners, when there is no question).
Target = tuple[int, int, int, int]


def _solved_targets(nodes: list[_Node], starts: list[int], width: int, min_n: int) -> list[Target]:
    """The solved targets, at most one of each kind per node, in node order."""
    published = [[j for j in range(width) if not node.withheld[j]] for node in nodes]
    own = [_own(node, starts, width) for node in nodes]
    inside: list[Basis] = [[] for _ in nodes]
    for v in range(len(nodes) - 1, -1, -1):  # children come after their parent
        node = nodes[v]
        if len(published[v]) < width:
            spanning = own[v] + [u for c in node.children for u in inside[c]]
            inside[v] = _with_zeros(spanning, published[v])
    outside: list[Basis] = [[] for _ in nodes]
    outside[0] = _identity(width)
    found: list[Target] = []
    for v, node in enumerate(nodes):
        if len(outside[v]) == width:
            closed = [_unit(width, j) for j in range(width) if node.withheld[j]]
        else:
            closed = _with_zeros(outside[v], published[v])
        base = _echelon(closed + own[v])
        for c in node.children:
            if len(base) == width:
                outside[c] = [row for _, row in base]
            else:
                siblings = [u for s in node.children if s != c for u in inside[s]]
                outside[c] = [row for _, row in _echelon(siblings, base)]
        cell = _cell_solved(node, inside[v], outside[v], width)
        if cell is not None:
            found.append((0, v, *_coordinate(cell, starts)))
        if node.direct and _has_small_atom(node, min_n):
            if node.children:
                local = _meet(own[v], _span(closed, *(inside[c] for c in node.children)))
            else:  # a leaf's own atoms are its cells: what moves them is what its cells can do
                local = _reachable(inside[v], outside[v], width)
            atom = _small_atom_solved(node, local, starts, min_n)
            if atom is not None:
                found.append((1, v, *atom))
    return found


def _coordinate(j: int, starts: list[int]) -> tuple[int, int]:
    """(question, option) of a node's cell, (-1, 0) for its total."""
    if j == 0:
        return (-1, 0)
    q = max(i for i, start in enumerate(starts) if start <= j)
    return (q, j - starts[q])


def _cell_solved(node: _Node, inside: Basis, outside: Basis, width: int) -> int | None:
    """The first withheld coordinate of the node with n > 0 that is determined, if any."""
    targets = [j for j in range(width) if node.withheld[j] and node.cell_n[j] > 0]
    if not targets:
        return None
    reachable = _reachable(inside, outside, width)
    return next((j for j in targets if not _free(reachable, j)), None)


def _reachable(inside: Basis, outside: Basis, width: int) -> Basis:
    return inside if len(outside) == width else _meet(inside, outside)


def _identity(width: int) -> Basis:
    return [_unit(width, j) for j in range(width)]


def _has_small_atom(node: _Node, min_n: int) -> bool:
    if not node.atoms:
        return node.direct < min_n
    return any(0 < count < min_n for slots in node.atoms for count in slots)


def _small_atom_solved(
    node: _Node, local: Basis, starts: list[int], min_n: int
) -> tuple[int, int] | None:
    """The first atom of the node of 1..k-1 respondents that is determined, if any, as
    (question, slot); ``local`` is what its own atoms can do in a perturbation of the tree."""
    if not node.atoms:
        return (-1, 0) if 0 < node.direct < min_n and not _free(local, 0) else None
    for q, (start, slots) in enumerate(zip(starts, node.atoms, strict=True)):
        for o, count in enumerate(slots):
            if 0 < count < min_n:
                if o < len(slots) - 1:
                    moves = any(v[start + o] for v in local)
                else:  # "no answer": the total minus the options
                    options = range(start, start + len(slots) - 1)
                    moves = any((v[0] - sum(v[j] for j in options)) % PRIME for v in local)
                if not moves:
                    return (q, o)
    return None


def audit_repairs(
    parent: np.ndarray,
    direct: np.ndarray,
    crossed_direct: tuple[np.ndarray, ...],
    cell_n: np.ndarray,
    withheld: np.ndarray,
    cell_index: np.ndarray,
    min_n: int,
    measures: list[int],
) -> tuple[np.ndarray, np.ndarray]:
    """Audit the given measures; return the cells to withhold more as (measures, cells) index
    arrays (empty when nothing is solved).

    ``direct`` (nodes, M) and ``crossed_direct`` ((nodes, P_q + 1, M) per question) are the
    atoms; ``cell_n`` and ``withheld`` (M, nodes, D) each node's cells (the total, then every
    question's options); ``cell_index`` (nodes, D) numbers the cells."""
    _, nodes, width = cell_n.shape
    starts = np.cumsum([1, *(c.shape[1] - 1 for c in crossed_direct)])[:-1].tolist()
    tree = _Tree(parent.tolist())
    index = cell_index.tolist()
    repair_measures: list[int] = []
    repair_cells: list[int] = []
    # Measures with the same counts and the same withheld cells are audited once.
    same: dict[bytes, list[int]] = {}
    for m in measures:
        key = b"".join(
            a.tobytes() for a in (cell_n[m], withheld[m], *(c[:, :, m] for c in crossed_direct))
        )
        same.setdefault(key, []).append(m)
    for group in same.values():
        m = group[0]
        n_m = cell_n[m].tolist()
        withheld_m = withheld[m].tolist()
        atoms_m = [c[:, :, m].tolist() for c in crossed_direct]
        direct_m = direct[:, m].tolist()
        graph = []
        for v in range(nodes):
            node = _Node(
                tree.parent[v], direct_m[v], [a[v] for a in atoms_m], n_m[v], withheld_m[v]
            )
            node.children = tree.children[v]
            graph.append(node)
        cells: set[int] = set()
        cycles = _Cycles(tree, graph, starts)
        for target in _solved_targets(graph, starts, width, min_n):
            cycle = cycles.repair(target)
            if not cycle:  # no cycle moves it: the smallest published cell of the measure
                cycle = _smallest_published(graph, width)
            cells.update(index[v][j] for v, j in cycle)
        for m in group:
            repair_measures += [m] * len(cells)
            repair_cells += sorted(cells)
    return np.array(repair_measures, dtype=np.int64), np.array(repair_cells, dtype=np.int64)


def _smallest_published(graph: list[_Node], width: int) -> list[tuple[int, int]]:
    best: tuple[int, int, int] | None = None
    for v, node in enumerate(graph):
        for j in range(width):
            n = node.cell_n[j]
            if n > 0 and not node.withheld[j] and (best is None or (n, v, j) < best):
                best = (n, v, j)
    return [] if best is None else [best[1:]]


class _Tree:
    def __init__(self, parent: list[int]) -> None:
        self.parent = parent
        self.children: list[list[int]] = [[] for _ in parent]
        for v in range(1, len(parent)):
            self.children[parent[v]].append(v)
        # Subtrees as intervals of a depth-first order.
        self.enter = [0] * len(parent)
        self.leave = [0] * len(parent)
        clock, stack = 0, [(0, False)]
        while stack:
            v, done = stack.pop()
            if done:
                self.leave[v] = clock
                continue
            self.enter[v] = clock
            clock += 1
            stack.append((v, True))
            stack += [(c, False) for c in reversed(self.children[v])]

    def within(self, v: int, top: int) -> bool:
        return self.enter[top] <= self.enter[v] < self.leave[top]

    def subtree(self, top: int, depth: int = PRACTICE_DEPTH) -> list[int]:
        found, layer = [top], [top]
        for _ in range(depth):
            layer = [c for v in layer for c in self.children[v]]
            found += layer
        return found

    def path(self, v: int, top: int) -> list[int]:
        """The nodes from ``v`` up to ``top``, ``top`` left out."""
        found = []
        while v != top:
            found.append(v)
            v = self.parent[v]
        return found


Cell = tuple[int, int]  # (node, coordinate)
Cost = tuple[int, int]  # the cells a cycle newly withholds, and their n


class _Cycles:
    """Repairs by cycles: the cheapest change of atoms that moves a solved target, either a trade
    between two slots of one question at one node against the opposite trade at another, or a
    learner moved from one node to another (in every question, through a slot both share). The
    published cells the change moves are withheld; since the change moves each of them, the
    target and every cell withheld for it are free afterwards. The partner is sought under the
    nearest ancestor first; the cheapest (fewest cells, then smallest n, then first found) wins."""

    def __init__(self, tree: _Tree, graph: list[_Node], starts: list[int]) -> None:
        self.tree, self.graph, self.starts = tree, graph, starts

    def repair(self, target: Target) -> list[Cell]:
        kind, v, q, slot = target
        tree = self.tree
        # A cell moves with a change below it matched outside it; an atom with any change
        # elsewhere, below it included.
        sides = [v] if kind else tree.subtree(v, 2)
        tops = [v] if kind else []
        top = v
        while top:
            top = tree.parent[top]
            tops.append(top)
        for top in tops:
            if top == v:
                partners = tree.subtree(v)[1:]
            else:
                branch = next(c for c in tree.children[top] if tree.within(v, c))
                partners = [b for b in tree.subtree(top) if not tree.within(b, branch)]
            best: tuple[Cost, list[Cell]] | None = None
            for a in sides:
                for b in partners:
                    found = self.between(a, b, top, q, slot)
                    if found is not None and (best is None or found[0] < best[0]):
                        best = found
            if best is not None:
                return best[1]
        return []

    def unknown(self, path: list[int], coordinates: list[int]) -> list[Cell]:
        return [(v, j) for v in path for j in coordinates if not self.graph[v].withheld[j]]

    def cost(self, cells: list[Cell]) -> Cost:
        return (len(cells), sum(self.graph[v].cell_n[j] for v, j in cells))

    def between(
        self, a: int, b: int, top: int, q: int, slot: int
    ) -> tuple[Cost, list[Cell]] | None:
        """The cheapest change at ``a`` matched by the opposite at ``b`` (both below ``top``)
        that moves slot ``slot`` of question q, or a learner when q is -1."""
        graph, tree = self.graph, self.tree
        path = tree.path(a, top) + tree.path(b, top)
        if q >= 0:
            here, there = graph[a].atoms[q], graph[b].atoms[q]
            if not (here[slot] and there[slot]):
                return None
            best: tuple[Cost, list[Cell]] | None = None
            options = len(here) - 1  # the last slot, "no answer", is no cell
            for other, count in enumerate(here):
                if other != slot and count and there[other]:
                    moved = [self.starts[q] + s for s in (slot, other) if s < options]
                    cells = self.unknown(path, moved)
                    if best is None or self.cost(cells) < best[0]:
                        best = (self.cost(cells), cells)
            return best
        if not (graph[a].direct and graph[b].direct):
            return None
        cells = self.unknown(path, [0])
        for start, here, there in zip(self.starts, graph[a].atoms, graph[b].atoms, strict=True):
            shared: list[tuple[Cost, list[Cell]]] = []
            for s, count in enumerate(here):
                if count and there[s]:
                    through = self.unknown(path, [start + s] if s < len(here) - 1 else [])
                    shared.append((self.cost(through), through))
            if not shared:
                return None
            cells += min(shared)[1]
        return (self.cost(cells), cells)
