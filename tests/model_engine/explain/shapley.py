"""Shapley values by brute force: every coalition of the players, with the conditional expectations TreeSHAP
defines (below a split on a feature outside the coalition, both children averaged by their training cover). The
reference the TreeSHAP tests hold the engine to, over trees read straight from each library.

A tree is five functions of a node id: its children (``(-1, -1)`` for a leaf), whether a row goes left, its value,
its cover, and the player its split belongs to (the raw feature, for a split on a derived column).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np

Tree = tuple[Callable[[int], tuple[int, int]], Callable[[int, np.ndarray], bool], Callable[[int], float],
             Callable[[int], float], Callable[[int], int]]  # fmt: skip


def conditional_expectation(tree: Tree, x: np.ndarray, coalition: frozenset[int], node: int = 0) -> float:
    """E[f(x) | x_S] as TreeSHAP defines it: follow x on splits of features in S, else average by cover."""
    children, goes_left, value, cover, feature = tree
    left, right = children(node)
    if left < 0:
        return value(node)
    if feature(node) in coalition:
        return conditional_expectation(tree, x, coalition, left if goes_left(node, x) else right)
    weight_left, weight_right = cover(left), cover(right)
    below_left = weight_left * conditional_expectation(tree, x, coalition, left)
    below_right = weight_right * conditional_expectation(tree, x, coalition, right)
    return (below_left + below_right) / (weight_left + weight_right)


def brute_force_shapley(trees: list[Tree], x: np.ndarray, n_players: int | None = None) -> tuple[np.ndarray, float]:
    """Exact Shapley values of the summed trees at x over every coalition, and v(empty set). The players are the
    columns of x, or ``n_players`` raw features when the trees read derived columns (their ``feature`` maps each
    split to its raw feature)."""
    n = len(x) if n_players is None else n_players
    players = range(n)
    phi = np.zeros(n)
    for i in players:
        others = [j for j in players if j != i]
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for subset in itertools.combinations(others, size):
                s = frozenset(subset)
                phi[i] += weight * sum(
                    conditional_expectation(t, x, s | {i}) - conditional_expectation(t, x, s) for t in trees
                )
    return phi, sum(conditional_expectation(t, x, frozenset()) for t in trees)
