"""Row-weighting local search for unicost set covering (the LSCP's primal side).

The fewest columns covering every row is what :func:`geo.placement.lscp.solve_lscp`
asks after its reductions.  Greedy covers are 10-15 % above the optimum on large
geometric instances and a general MIP solver improves them slowly; this module is the
specialised search that finds near-optimal covers in a second: RWLS (Gao, Weise & Li,
"An efficient local search heuristic with row weighting for the unicost set covering
problem", EJOR 246, 2015), compiled with numba.

One step, while some row is uncovered: drop the chosen column whose removal costs the
least row weight (not the column added last; ties: the one unchanged longest), add the
best column of a random uncovered row (only columns whose neighbourhood changed since
they were dropped: *configuration checking*), and raise the weight of every row still
uncovered by one.  Whenever all rows are covered the cover is recorded and its
cheapest column dropped, so the search always works on a cover one column smaller than
the best found.  Scores are integers (row weights), so steps are exact and repeatable:
the same seed gives the same cover.

The search runs in chunks of steps so that the caller's deadline is kept; the state
lives in :class:`CoverSearch` between chunks.
"""

from __future__ import annotations

import time

import numba
import numpy as np
from scipy import sparse

__all__ = ["CoverSearch", "dominated_rows", "search_cover"]

#: Steps per compiled call between deadline checks (~0.02-0.05 s on this machine).
CHUNK_STEPS = 10_000

_SCALARS = 5  # n_uncovered, n_selected, step, tabu, best size
_NU, _NS, _STEP, _TABU, _NBEST = range(_SCALARS)


@numba.njit(cache=True, nogil=True)
def _append(items, where, item, slot, meta):
    """Add ``item`` to the list ``items[:meta[slot]]``; ``where`` keeps each item's position."""
    n = meta[slot]
    items[n] = item
    where[item] = n
    meta[slot] = n + 1


@numba.njit(cache=True, nogil=True)
def _drop(items, where, item, slot, meta):
    """Take ``item`` out of the list in O(1): the last item moves into its place."""
    p = where[item]
    n = meta[slot] - 1
    last = items[n]
    items[p] = last
    where[last] = p
    where[item] = -1
    meta[slot] = n


@numba.njit(cache=True, nogil=True)
def _remove(j, rp, ri, cp, ci, x, cnt, owner, w, score, conf, unc, pos, sel, spos, meta):
    """Take column j out of the cover, keeping counts, scores and the uncovered list exact."""
    x[j] = False
    _drop(sel, spos, j, _NS, meta)
    for t in range(cp[j], cp[j + 1]):
        i = ci[t]
        cnt[i] -= 1
        if cnt[i] == 0:
            _append(unc, pos, i, _NU, meta)
            for u in range(rp[i], rp[i + 1]):
                k = ri[u]
                if k != j:
                    score[k] += w[i]
                    conf[k] = True
        elif cnt[i] == 1:  # the one column left covering i: the sum of the chosen ones
            score[owner[i] - j] -= w[i]
        owner[i] -= j
    score[j] = -score[j]
    conf[j] = False


@numba.njit(cache=True, nogil=True)
def _add(j, rp, ri, cp, ci, x, cnt, owner, w, score, unc, pos, sel, spos, meta):
    """Put column j into the cover."""
    x[j] = True
    _append(sel, spos, j, _NS, meta)
    for t in range(cp[j], cp[j + 1]):
        i = ci[t]
        if cnt[i] == 0:
            _drop(unc, pos, i, _NU, meta)
            for u in range(rp[i], rp[i + 1]):
                k = ri[u]
                if k != j:
                    score[k] -= w[i]
        elif cnt[i] == 1:
            score[owner[i]] += w[i]
        cnt[i] += 1
        owner[i] += j
    score[j] = -score[j]


@numba.njit(cache=True, nogil=True)
def _pick_removal(sel, ns, score, stamp, tabu):
    """The chosen column (not ``tabu``) whose removal loses the least weight; ties: oldest."""
    bj = -1
    for q in range(ns):
        j = sel[q]
        if j == tabu:
            continue
        if bj < 0 or score[j] > score[bj] or (score[j] == score[bj] and stamp[j] < stamp[bj]):
            bj = j
    return bj


@numba.njit(cache=True, nogil=True)
def _run(n_steps, seed, rp, ri, cp, ci, x, cnt, owner, w, score, stamp, conf, unc, pos, sel, spos, best, meta):
    """Run up to ``n_steps`` steps (fewer when the cover reaches ``meta[_NBEST]`` = target)."""
    np.random.seed(seed)  # noqa: NPY002 -- numba's compiled code has only the legacy generator
    for _ in range(n_steps):
        meta[_STEP] += 1
        step = meta[_STEP]
        while meta[_NU] == 0:  # a cover: record it, then try one column fewer
            ns = meta[_NS]
            if ns < meta[_NBEST]:
                meta[_NBEST] = ns
                best[:] = x
            if ns == 0:
                return
            j = _pick_removal(sel, ns, score, stamp, -1)
            _remove(j, rp, ri, cp, ci, x, cnt, owner, w, score, conf, unc, pos, sel, spos, meta)
            stamp[j] = step
        j = _pick_removal(sel, meta[_NS], score, stamp, meta[_TABU])
        if j >= 0:
            _remove(j, rp, ri, cp, ci, x, cnt, owner, w, score, conf, unc, pos, sel, spos, meta)
            stamp[j] = step
        r = unc[np.random.randint(meta[_NU])]  # noqa: NPY002 -- see above
        bj = -1
        for u in range(rp[r], rp[r + 1]):
            k = ri[u]
            if conf[k] and (bj < 0 or score[k] > score[bj] or (score[k] == score[bj] and stamp[k] < stamp[bj])):
                bj = k
        if bj < 0:  # every column of the row is blocked: take the oldest
            for u in range(rp[r], rp[r + 1]):
                k = ri[u]
                if bj < 0 or stamp[k] < stamp[bj]:
                    bj = k
        _add(bj, rp, ri, cp, ci, x, cnt, owner, w, score, unc, pos, sel, spos, meta)
        stamp[bj] = step
        meta[_TABU] = bj
        for q in range(meta[_NU]):  # uncovered rows get heavier
            i = unc[q]
            w[i] += 1
            for u in range(rp[i], rp[i + 1]):
                score[ri[u]] += 1


@numba.njit(cache=True, nogil=True)
def _dominated_rows(rp, ri, cp, ci, col_size):
    n_r = rp.size - 1
    out = np.zeros(n_r, np.bool_)
    for k in range(n_r):
        a0, a1 = rp[k], rp[k + 1]
        if a1 == a0:
            continue
        c = ri[a0]  # the rarest column of row k: every row containing row k contains it
        for t in range(a0 + 1, a1):
            if col_size[ri[t]] < col_size[c]:
                c = ri[t]
        size_k = a1 - a0
        for t in range(cp[c], cp[c + 1]):
            i = ci[t]
            size_i = rp[i + 1] - rp[i]
            if i == k or out[i] or size_i < size_k or (size_i == size_k and i < k):
                continue
            b = rp[i]  # is row k a subset of row i? (both sorted)
            b1 = rp[i + 1]
            ok = True
            for a in range(a0, a1):
                while b < b1 and ri[b] < ri[a]:
                    b += 1
                if b == b1 or ri[b] != ri[a]:
                    ok = False
                    break
                b += 1
            if ok:
                out[i] = True
    return out


def dominated_rows(A: sparse.sparray | sparse.spmatrix) -> np.ndarray:
    """bool per row of a covering matrix: another row's columns are a subset of its own.

    Covering that other row covers this one, so the set cover may drop it.  Of two equal
    rows the later one is marked.  Each row is compared only with the rows sharing its
    rarest column (a superset must contain it).
    """
    R = sparse.csr_array(A, dtype=bool)
    R.sort_indices()
    C = sparse.csc_array(R)
    C.sort_indices()
    return _dominated_rows(
        R.indptr.astype(np.int64),
        R.indices.astype(np.int64),
        C.indptr.astype(np.int64),
        C.indices.astype(np.int64),
        np.diff(C.indptr).astype(np.int64),
    )


class CoverSearch:
    """The state of one search on a bool (rows, cols) matrix; every row must have a column.

    Parameters
    ----------
    A
        Rows to cover by columns (sparse, any format); each row has at least one column.
    start
        Column indices of a cover to start from (any cover; redundant columns are
        dropped by the search itself).
    seed
        Seed of the random choice of uncovered rows.
    """

    def __init__(self, A: sparse.sparray | sparse.spmatrix, start: np.ndarray, *, seed: int = 0) -> None:
        R = sparse.csr_array(A, dtype=bool)
        R.sort_indices()
        C = sparse.csc_array(R)
        C.sort_indices()
        n_r, n_c = R.shape
        if n_r and (np.diff(R.indptr) == 0).any():
            raise ValueError("every row needs at least one column")
        self._rp, self._ri = R.indptr.astype(np.int64), R.indices.astype(np.int64)
        self._cp, self._ci = C.indptr.astype(np.int64), C.indices.astype(np.int64)
        self.n_cols = n_c
        x = np.zeros(n_c, np.bool_)
        x[np.asarray(start, np.int64)] = True
        cnt = np.bincount(self._ci[np.repeat(x, np.diff(self._cp))], minlength=n_r).astype(np.int64)
        if n_r and (cnt == 0).any():
            raise ValueError("start is not a cover")
        # Sum of the chosen columns covering each row: where one column covers a row, that column.
        owner = np.bincount(
            self._ci[np.repeat(x, np.diff(self._cp))],
            weights=np.repeat(np.arange(n_c), np.diff(self._cp))[np.repeat(x, np.diff(self._cp))],
            minlength=n_r,
        ).astype(np.int64)
        w = np.ones(n_r, np.int64)
        # score of a chosen column: minus the rows only it covers; of another: rows it would newly cover (none)
        only = np.repeat(x, np.diff(self._cp)) & (cnt[self._ci] == 1)
        score = -np.bincount(np.repeat(np.arange(n_c), np.diff(self._cp))[only], minlength=n_c).astype(np.int64)
        sel = np.zeros(n_c, np.int64)
        spos = np.full(n_c, -1, np.int64)
        chosen = np.flatnonzero(x)
        sel[: chosen.size] = chosen
        spos[chosen] = np.arange(chosen.size)
        self._x, self._cnt, self._owner, self._w, self._score = x, cnt, owner, w, score
        self._stamp = np.zeros(n_c, np.int64)
        self._conf = np.ones(n_c, np.bool_)
        self._unc = np.zeros(max(n_r, 1), np.int64)
        self._pos = np.full(max(n_r, 1), -1, np.int64)
        self._sel, self._spos = sel, spos
        self._best = x.copy()
        self._meta = np.zeros(_SCALARS, np.int64)
        self._meta[_NS] = chosen.size
        self._meta[_TABU] = -1
        self._meta[_NBEST] = chosen.size
        self._seed = int(seed)
        self._chunk = 0

    @property
    def best(self) -> np.ndarray:
        """Sorted column indices of the smallest cover found so far."""
        return np.flatnonzero(self._best)

    @property
    def best_size(self) -> int:
        """Columns in the smallest cover found so far."""
        return int(self._meta[_NBEST])

    @property
    def steps(self) -> int:
        """Steps run so far."""
        return int(self._meta[_STEP])

    def run(self, n_steps: int) -> int:
        """Run ``n_steps`` steps (fewer if the cover becomes empty); returns the best size."""
        self._chunk += 1
        _run(
            int(n_steps),
            (self._seed * 1_000_003 + self._chunk) % (2**31),
            self._rp,
            self._ri,
            self._cp,
            self._ci,
            self._x,
            self._cnt,
            self._owner,
            self._w,
            self._score,
            self._stamp,
            self._conf,
            self._unc,
            self._pos,
            self._sel,
            self._spos,
            self._best,
            self._meta,
        )
        return self.best_size


def search_cover(
    A: sparse.sparray | sparse.spmatrix,
    start: np.ndarray,
    *,
    deadline: float,
    lower_bound: float = 0.0,
    max_steps: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """The smallest cover found from ``start`` before ``deadline`` (a ``time.perf_counter()`` value).

    Stops early once the cover's size reaches ``ceil(lower_bound)`` (it is then optimal)
    or after ``max_steps`` steps.  Returns sorted column indices.
    """
    search = CoverSearch(A, start, seed=seed)
    target = int(np.ceil(lower_bound - 1e-9))
    while search.best_size > target and time.perf_counter() < deadline:
        if max_steps is not None and search.steps >= max_steps:
            break
        chunk = CHUNK_STEPS if max_steps is None else min(CHUNK_STEPS, max_steps - search.steps)
        search.run(chunk)
    return search.best
