"""The LSCP's local search (geo.placement.cover_search): covers are valid, small, repeatable.

Hand-checkable instances first, then random instances against enumeration.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from scipy import sparse

from geo.placement.cover_search import CoverSearch, search_cover


def matrix(rows: list[list[int]], n_cols: int) -> sparse.csr_array:
    r = [i for i, cols in enumerate(rows) for _ in cols]
    c = [j for cols in rows for j in cols]
    return sparse.csr_array((np.ones(len(c), bool), (r, c)), shape=(len(rows), n_cols))


def is_cover(A: sparse.csr_array, cols: np.ndarray) -> bool:
    return bool((A[:, cols].sum(axis=1) > 0).all()) if A.shape[0] else True


def fewest(A: sparse.csr_array) -> int:
    """The optimum by enumeration (small instances)."""
    for k in range(A.shape[1] + 1):
        for cols in itertools.combinations(range(A.shape[1]), k):
            if is_cover(A, np.asarray(cols, int)):
                return k
    raise AssertionError("no cover")


def test_hand_instance_two_columns_beat_the_greedy_three():
    # Greedy takes column 0 (4 rows) and then needs two more; columns 1 and 2 cover all 6 rows.
    rows = [[0, 1], [0, 1], [0, 2], [0, 2], [1, 3], [2, 4]]
    A = matrix(rows, 5)
    best = search_cover(A, np.array([0, 3, 4]), deadline=time.perf_counter() + 5, max_steps=5_000)
    assert best.tolist() == [1, 2]


def test_stops_at_the_lower_bound_and_drops_redundant_start_columns():
    A = matrix([[0], [0, 1], [1, 2]], 3)
    search = CoverSearch(A, np.array([0, 1, 2]))
    search.run(100)
    assert search.best.tolist() == [0, 1] or search.best.tolist() == [0, 2]
    assert search.best_size == 2
    quick = search_cover(A, np.array([0, 1, 2]), deadline=time.perf_counter() + 5, lower_bound=2)
    assert quick.size == 2 and is_cover(A, quick)


@pytest.mark.parametrize("seed", range(12))
def test_random_instances_reach_the_enumerated_optimum(seed):
    rng = np.random.default_rng(seed)
    n_rows, n_cols = int(rng.integers(8, 25)), int(rng.integers(6, 12))
    dense = rng.random((n_rows, n_cols)) < 0.25
    dense[np.arange(n_rows), rng.integers(0, n_cols, n_rows)] = True  # every row coverable
    A = sparse.csr_array(dense)
    best = search_cover(A, np.arange(n_cols), deadline=time.perf_counter() + 10, max_steps=20_000, seed=seed)
    assert is_cover(A, best)
    assert best.size == fewest(A)


def test_same_seed_same_cover_and_larger_instances_stay_valid():
    rng = np.random.default_rng(7)
    dense = rng.random((400, 120)) < 0.04
    dense[np.arange(400), rng.integers(0, 120, 400)] = True
    A = sparse.csr_array(dense)
    runs = [
        search_cover(A, np.arange(120), deadline=time.perf_counter() + 30, max_steps=30_000, seed=3) for _ in range(2)
    ]
    assert runs[0].tolist() == runs[1].tolist()
    assert is_cover(A, runs[0])
    other = search_cover(A, np.arange(120), deadline=time.perf_counter() + 30, max_steps=30_000, seed=4)
    assert is_cover(A, other)


def test_no_rows_gives_the_empty_cover():
    A = sparse.csr_array((0, 4), dtype=bool)
    assert search_cover(A, np.arange(4), deadline=time.perf_counter() + 1).size == 0


def test_bad_inputs_are_refused():
    A = matrix([[0], [], [1]], 2)
    with pytest.raises(ValueError, match="every row needs at least one column"):
        CoverSearch(A, np.array([0, 1]))
    B = matrix([[0], [1]], 2)
    with pytest.raises(ValueError, match="start is not a cover"):
        CoverSearch(B, np.array([0]))
