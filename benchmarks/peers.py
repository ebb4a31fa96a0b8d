"""Peers of the reach-set benchmark and an isolated time / memory measurement helper.

The benchmark question is: from many source nodes, which nodes can a pedestrian
reach within a network distance of ``radius_m`` metres, and at what distance?
Our engine (``geo.network.graph.reach_sets``) is compared with

* :func:`reach_osmnx_recipe` - the isochrone recipe of the osmnx examples
  (``osmnx-examples`` notebook "isolines-isochrones"):
  ``networkx.ego_graph(G, node, radius=..., distance=...)`` per source.  The recipe
  yields the *set* of reached nodes (an induced subgraph), not their distances;
* :func:`reach_networkx_dijkstra` - what ``ego_graph`` runs inside, minus the path
  bookkeeping and the subgraph copy:
  ``networkx.single_source_dijkstra_path_length(G, s, cutoff=..., weight="length")``,
  which does give the distances;
* :func:`reach_scipy_floor` - one bare ``scipy.sparse.csgraph.dijkstra`` call with
  ``limit`` on a CSR matrix of edge lengths: compiled code, no per-source Python
  overhead, a dense ``(n_sources, n_nodes)`` result.  A practical floor for a
  single-threaded exact engine.

:func:`measure` runs one function in fresh processes and reports its median wall
time and the peak resident memory it added.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import pickle
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

__all__ = [
    "Measurement",
    "MeasurementDetail",
    "build_csr",
    "measure",
    "measure_detailed",
    "reach_networkx_dijkstra",
    "reach_osmnx_recipe",
    "reach_scipy_floor",
    "reached_pairs",
    "subset_sources",
]


# ------------------------------------------------------------------------ the peers


def reach_osmnx_recipe(G: nx.MultiDiGraph, sources: Iterable[Hashable], radius_m: float) -> list[set]:
    """Reached nodes per source with the osmnx isochrone recipe (``ego_graph``).

    Literal recipe of the osmnx examples: for each source,
    ``subgraph = nx.ego_graph(G, source, radius=radius_m, distance="length")`` and
    its nodes are the reached nodes.  ``ego_graph`` runs
    ``nx.single_source_dijkstra`` (distances *and* paths) then copies the induced
    subgraph with all attributes; it does not return distances.

    Parameters
    ----------
    G
        Walking network with a ``length`` (metres) edge attribute.
    sources
        Source node ids.
    radius_m
        Network radius in metres (inclusive).

    Returns
    -------
    list of set
        For each source, the ids of the nodes within ``radius_m`` (source included).
    """
    out = []
    for s in sources:
        subgraph = nx.ego_graph(G, s, radius=radius_m, distance="length")
        out.append(set(subgraph.nodes))
    return out


def reach_networkx_dijkstra(G: nx.MultiDiGraph, sources: Iterable[Hashable], radius_m: float) -> list[dict]:
    """Reached nodes and distances per source with networkx's bounded Dijkstra.

    ``nx.single_source_dijkstra_path_length(G, s, cutoff=radius_m, weight="length")``
    per source: the search ``ego_graph`` performs, without paths or subgraph copy.
    This is how one gets distances in the osmnx / networkx world.

    Parameters
    ----------
    G
        Walking network with a ``length`` (metres) edge attribute.
    sources
        Source node ids.
    radius_m
        Network radius in metres (inclusive).

    Returns
    -------
    list of dict
        For each source, ``{node_id: distance_m}`` of the reached nodes.
    """
    return [nx.single_source_dijkstra_path_length(G, s, cutoff=radius_m, weight="length") for s in sources]


def reach_scipy_floor(csr: sp.csr_array, source_idx: np.ndarray, radius_m: float) -> np.ndarray:
    """Distances from sources with one bare ``scipy.sparse.csgraph.dijkstra`` call.

    Parameters
    ----------
    csr
        ``(n, n)`` CSR matrix of edge lengths in metres (see :func:`build_csr`).
    source_idx
        Row positions of the sources.
    radius_m
        Network radius in metres.

    Returns
    -------
    numpy.ndarray
        Dense ``(len(source_idx), n)`` float64 distances; ``inf`` where a node is not
        reached within ``radius_m``.
    """
    return dijkstra(csr, directed=True, indices=source_idx, limit=radius_m)


def build_csr(nodes: pd.DataFrame, edges: pd.DataFrame) -> sp.csr_array:
    """CSR matrix of edge lengths, the minimum length over parallel edges.

    Parameters
    ----------
    nodes
        Nodes indexed by node id; their order gives the matrix rows / columns.
    edges
        Edges with a ``(u, v, key)`` MultiIndex and a ``length`` column (metres,
        strictly positive).

    Returns
    -------
    scipy.sparse.csr_array
        ``(n, n)`` float64; entry ``[i, j]`` is the shortest edge from node ``i`` to
        node ``j``.

    Raises
    ------
    ValueError
        If an edge refers to an unknown node or has a non-positive length (an
        explicit zero would be dropped by scipy and change the graph).
    """
    n = len(nodes)
    u = nodes.index.get_indexer(edges.index.get_level_values(0))
    v = nodes.index.get_indexer(edges.index.get_level_values(1))
    w = edges["length"].to_numpy(dtype=np.float64)
    if (u < 0).any() or (v < 0).any():
        raise ValueError("edges refer to nodes that are not in `nodes`")
    if not (w > 0).all():
        raise ValueError("edge lengths must be strictly positive")
    pair = u.astype(np.int64) * n + v
    order = np.lexsort((w, pair))  # by pair, then by length
    pair, w = pair[order], w[order]
    first = np.ones(len(pair), dtype=bool)
    first[1:] = pair[1:] != pair[:-1]
    r, c = np.divmod(pair[first], n)
    return sp.csr_array((w[first], (r, c)), shape=(n, n))


def reached_pairs(result: Any) -> int:
    """Number of (source, reached node) pairs in a reach result, for cross-checks.

    Parameters
    ----------
    result
        A list of sets / dicts (networkx peers), a dense array with ``inf`` for
        unreached (scipy), or a sparse array / matrix (stored entries count,
        including explicitly stored zeros).

    Returns
    -------
    int
        The number of pairs.
    """
    if isinstance(result, np.ndarray):
        return int(np.isfinite(result).sum())
    if sp.issparse(result):
        return int(result.nnz)
    return int(sum(len(r) for r in result))


# ---------------------------------------------------------------------- measurement


class Measurement(NamedTuple):
    """Median wall time and peak added resident memory of a measured call."""

    median_s: float
    peak_rss_mb: float


@dataclass(frozen=True)
class MeasurementDetail:
    """Everything :func:`measure_detailed` observed, one entry per repeat (process).

    Attributes
    ----------
    cold_s
        Wall time of the first call in each fresh process, seconds.
    warm_s
        Wall time of a second call in the same process (empty unless ``warm``).
    peaks_mb
        Peak resident memory added by the first call, MiB.
    reached
        :func:`reached_pairs` of the first call's result.
    memory_method
        ``"VmHWM"`` (exact kernel high-water mark, see :func:`measure`) or
        ``"ru_maxrss"`` (an upper bound).
    """

    cold_s: tuple[float, ...]
    warm_s: tuple[float, ...]
    peaks_mb: tuple[float, ...]
    reached: tuple[int, ...]
    memory_method: str

    @property
    def median_s(self) -> float:
        """Median warm time if measured, else median cold time, seconds."""
        return statistics.median(self.warm_s or self.cold_s)

    @property
    def median_cold_s(self) -> float:
        """Median time of the first call in a fresh process, seconds."""
        return statistics.median(self.cold_s)

    @property
    def peak_rss_mb(self) -> float:
        """Largest peak added memory over the repeats, MiB."""
        return max(self.peaks_mb)


def measure(fn: Callable[..., Any], *args: Any, repeat: int = 3, warm: bool = False) -> Measurement:
    """Time ``fn(*args)`` and its peak memory, each repeat in a fresh process.

    Each repeat runs in a new interpreter started with the multiprocessing
    ``spawn`` method, so no repeat sees caches, allocator pools or a memory
    high-water mark left by an earlier measurement.  The child first loads
    ``(fn, args)`` from a pickle file (written once by the parent) and runs
    ``gc.collect()``; only then is the clock started, so loading the inputs and
    importing modules is not timed.  Anything ``fn`` initialises lazily (imports
    inside ``fn``, JIT compilation, caches) *is* timed in this first, cold call.
    First-touch page faults are timed too: on a virtual machine, a process that
    allocates hundreds of MB for the first time can take several times longer
    than the same call a second time (e.g. 0.2-1.2 s against 0.17 s for a dense
    400 MB scipy result here).  With ``warm=True`` the child then calls ``fn``
    a second time (after ``del result; gc.collect()``) and that second call is the
    reported time, which is what a long-running server would see.

    Peak memory is the kernel's resident-set high-water mark during the *first*
    call: on Linux the child writes ``5`` to ``/proc/self/clear_refs``, which
    resets ``VmHWM`` to the current resident size, right before calling ``fn``;
    afterwards it reads ``VmHWM`` from ``/proc/self/status``.  The reported value
    is ``VmHWM - VmRSS_before``: the largest amount of resident memory the call
    added at any moment, whether it came from Python objects, numpy buffers or
    native code, including the result while it is still alive.  It does not count
    memory the call reused from pages the process already held (for example,
    allocator pools freed while loading the inputs), so it can slightly
    understate.  Where ``clear_refs`` is not available the lifetime ``ru_maxrss``
    is used instead, which includes the loading phase and is an upper bound;
    :func:`measure_detailed` says which one was used.

    Parameters
    ----------
    fn
        A picklable (module-level) function.
    *args
        Its arguments (pickled once, loaded in each child).
    repeat
        Number of repeats, each in its own process.
    warm
        Report the time of a second call in each process instead of the first.

    Returns
    -------
    Measurement
        ``(median_s, peak_rss_mb)``: median wall time over the repeats in seconds
        and the largest added peak resident memory in MiB.
    """
    d = measure_detailed(fn, *args, repeat=repeat, warm=warm)
    return Measurement(d.median_s, d.peak_rss_mb)


def measure_detailed(fn: Callable[..., Any], *args: Any, repeat: int = 3, warm: bool = False) -> MeasurementDetail:
    """Like :func:`measure`, returning every repeat's times, memory and result size.

    Parameters
    ----------
    fn
        A picklable (module-level) function.
    *args
        Its arguments.
    repeat
        Number of repeats, each in its own process.
    warm
        Also time a second call in each process.

    Returns
    -------
    MeasurementDetail
        The observations.

    Raises
    ------
    ValueError
        If ``repeat < 1``.
    RuntimeError
        If a child process fails; the message carries its traceback.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    ctx = mp.get_context("spawn")
    fd, path = tempfile.mkstemp(prefix="bench-measure-", suffix=".pkl")
    results = []
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump((fn, args), f, protocol=pickle.HIGHEST_PROTOCOL)
        for _ in range(repeat):
            parent, child = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child_main, args=(path, warm, child))
            proc.start()
            child.close()
            try:
                status, payload = parent.recv()
            except EOFError:
                status, payload = "error", "child process died without reporting"
            proc.join()
            if status != "ok":
                name = getattr(fn, "__name__", fn)
                raise RuntimeError(f"measured call {name} failed:\n{payload}")
            results.append(payload)
    finally:
        Path(path).unlink(missing_ok=True)
    cold, warm_s, peaks, reached, methods = zip(*results, strict=True)
    return MeasurementDetail(
        cold_s=cold,
        warm_s=warm_s if warm else (),
        peaks_mb=peaks,
        reached=reached,
        memory_method="/".join(sorted(set(methods))),
    )


def _child_main(path: str, warm: bool, conn: Any) -> None:
    """Body of a measurement process (see :func:`measure`)."""
    try:
        with open(path, "rb") as f:
            fn, args = pickle.load(f)
        gc.collect()
        method = "VmHWM" if _reset_hwm() else "ru_maxrss"
        before_kb = _proc_status_kb("VmRSS")
        t0 = time.perf_counter()
        result = fn(*args)
        cold = time.perf_counter() - t0
        if method == "VmHWM":
            peak_kb = _proc_status_kb("VmHWM")
        else:  # ru_maxrss is in KiB on Linux, bytes on macOS
            scale = 1024 if sys.platform == "darwin" else 1
            peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // scale
        added_mb = max(peak_kb - before_kb, 0) / 1024
        n_reached = reached_pairs(result)
        warm_s = float("nan")
        if warm:
            del result
            gc.collect()
            t0 = time.perf_counter()
            result = fn(*args)
            warm_s = time.perf_counter() - t0
        conn.send(("ok", (cold, warm_s, added_mb, n_reached, method)))
    except Exception:  # noqa: BLE001 - any failure goes to the parent with its traceback
        import traceback

        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


def _reset_hwm() -> bool:
    """Reset this process's ``VmHWM`` (Linux >= 4.0); return whether it worked."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return _proc_status_kb("VmHWM") >= 0


def _proc_status_kb(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (``-1`` where there is no procfs)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    if field == "VmRSS":  # without procfs, fall back on the lifetime peak as "before"
        scale = 1024 if sys.platform == "darwin" else 1
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // scale
    return -1


def subset_sources(sources: Sequence[Any], n: int, *, seed: int = 0) -> list[Any]:
    """A fixed random subset of ``n`` sources (all of them if ``n >= len(sources)``).

    Parameters
    ----------
    sources
        The sources.
    n
        Subset size.
    seed
        Seed of the subset draw.

    Returns
    -------
    list
        The subset, in the original order.
    """
    if n >= len(sources):
        return list(sources)
    pick = np.sort(np.random.default_rng(seed).choice(len(sources), size=n, replace=False))
    return [sources[i] for i in pick]
