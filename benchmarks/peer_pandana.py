"""The pandana peer of the coverage benchmark: nearest facility per function.

pandana (UrbanSim's network accessibility library, https://udst.github.io/pandana/)
answers "how far is the nearest POI of each category from every node" with a
contraction hierarchy (CH) built once per network, then one bucket-based range query
per node and category, in C++ with OpenMP threads.  Its documented recipe, timed here
end to end:

1. ``pandana.Network(node_x, node_y, edge_from, edge_to, edge_weights, twoway=False)``
   (builds the CH; the edges are given in both directions as osmnx stores them);
2. per function ``net.set_pois(category, maxdist, maxitems=1, x_col, y_col)`` (maps
   the facilities to their nearest node with a KD-tree and indexes them);
3. per function ``net.nearest_pois(maxdist, category, num_pois=1)`` (the distance
   from *every* network node to its nearest POI within ``maxdist``; pandana fills
   ``maxdist`` where there is none);
4. ``net.get_node_ids(x, y)`` for the demand points (nearest node, KD-tree) and a
   lookup of their nodes' distances.

pandana has no access legs and no positions along edges: a point is represented by
its nearest node.  On points placed exactly at nodes that is exact; elsewhere it is
an approximation (see ``bench_coverage``).

``Network.precompute`` is not called: it prepares the aggregation queries
(``aggregate``), which ``nearest_pois`` does not use.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "PandanaInputs",
    "build_pandana",
    "demand_distances",
    "nearest_pandana",
    "nearest_pandana_on",
    "node_distances",
    "pandana_inputs",
]


@dataclass(frozen=True)
class PandanaInputs:
    """The plain arrays pandana's ``Network`` is built from (prepared outside the timing).

    Attributes
    ----------
    node_x, node_y
        pandas Series of node coordinates (metres), indexed by node id.
    edge_from, edge_to
        pandas Series of the node ids of each directed edge.
    edge_weights
        DataFrame with one column ``length_m`` (metres).
    """

    node_x: pd.Series
    node_y: pd.Series
    edge_from: pd.Series
    edge_to: pd.Series
    edge_weights: pd.DataFrame


def pandana_inputs(nodes: pd.DataFrame, walk: pd.DataFrame) -> PandanaInputs:
    """pandana's input arrays from the city's nodes and its *walkable* directed edges.

    Parameters
    ----------
    nodes
        Nodes indexed by node id with ``x``, ``y`` columns (metres).
    walk
        Walkable edges (``benchmarks.city.walk_edges``) with a ``(u, v, key)``
        MultiIndex and a ``length`` column (metres); every street is present in both
        directions, so pandana is built with ``twoway=False``.

    Returns
    -------
    PandanaInputs
    """
    u = walk.index.get_level_values(0).to_numpy()
    v = walk.index.get_level_values(1).to_numpy()
    length = walk["length"].to_numpy(dtype=np.float64)
    rng = pd.RangeIndex(len(walk))
    return PandanaInputs(
        node_x=pd.Series(nodes["x"].to_numpy(dtype=np.float64), index=nodes.index),
        node_y=pd.Series(nodes["y"].to_numpy(dtype=np.float64), index=nodes.index),
        edge_from=pd.Series(u, index=rng),
        edge_to=pd.Series(v, index=rng),
        edge_weights=pd.DataFrame({"length_m": length}, index=rng),
    )


def _import_pandana():
    """Import pandana, silencing the deprecation chatter of its dependencies."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandana

    return pandana


def nearest_pandana_on(
    net,
    demand_xy: np.ndarray,
    facility_xy: np.ndarray,
    facility_group: Sequence[str] | np.ndarray,
    groups: Sequence[str],
    max_dist_m: float,
) -> np.ndarray:
    """Steps 2-4 of the recipe on a built ``pandana.Network``.

    Parameters
    ----------
    net
        A ``pandana.Network`` with edge weights in metres.
    demand_xy
        ``(k, 2)`` demand points, metres, the network's CRS.
    facility_xy
        ``(f, 2)`` facilities, metres, the network's CRS.
    facility_group
        Function label of each facility.
    groups
        Functions to compute, one column each, in this order.
    max_dist_m
        Search radius in metres (pandana's ``maxdist`` and ``distance``).

    Returns
    -------
    numpy.ndarray
        float64 ``(k, len(groups))``: network distance in metres from each demand
        point's nearest node to the nearest facility node of each function; ``inf``
        where pandana found none within ``max_dist_m`` (it reports ``max_dist_m``
        or NaN there).
    """
    table = node_distances(net, facility_xy, facility_group, groups, max_dist_m)
    return demand_distances(net, table, demand_xy, max_dist_m)


def node_distances(
    net,
    facility_xy: np.ndarray,
    facility_group: Sequence[str] | np.ndarray,
    groups: Sequence[str],
    max_dist_m: float,
) -> pd.DataFrame:
    """``set_pois`` + ``nearest_pois`` per function: every node's distance to the nearest one.

    Returns
    -------
    pandas.DataFrame
        Indexed by node id, one float column per group (metres; pandana's fill value
        ``max_dist_m`` where none is within ``max_dist_m``; ``inf`` for a group
        without facilities).
    """
    labels = np.asarray(facility_group, dtype=object)
    columns = {}
    for group in groups:
        pick = labels == group
        if not pick.any():
            columns[group] = np.full(len(net.node_ids), np.inf)
            continue
        category = str(group)
        net.set_pois(
            category=category,
            maxdist=max_dist_m,
            maxitems=1,
            x_col=pd.Series(facility_xy[pick, 0]),
            y_col=pd.Series(facility_xy[pick, 1]),
        )
        columns[group] = net.nearest_pois(max_dist_m, category, num_pois=1, max_distance=max_dist_m)[1].to_numpy(
            dtype=np.float64
        )
    return pd.DataFrame(columns, index=net.node_ids)


def demand_distances(net, table: pd.DataFrame, demand_xy: np.ndarray, max_dist_m: float) -> np.ndarray:
    """``get_node_ids`` of the demand points and their nodes' rows of ``table``, ``inf`` where none."""
    demand_nodes = net.get_node_ids(pd.Series(demand_xy[:, 0]), pd.Series(demand_xy[:, 1])).to_numpy()
    d = table.loc[demand_nodes].to_numpy(dtype=np.float64)
    return np.where(np.isfinite(d) & (d < max_dist_m), d, np.inf)


def nearest_pandana(
    inputs: PandanaInputs,
    demand_xy: np.ndarray,
    facility_xy: np.ndarray,
    facility_group: Sequence[str] | np.ndarray,
    groups: Sequence[str],
    max_dist_m: float,
) -> np.ndarray:
    """The pandana recipe end to end: build the ``Network``, then :func:`nearest_pandana_on`.

    Parameters are those of :func:`nearest_pandana_on`, with the network's input arrays
    (:func:`pandana_inputs`) in place of a built network.

    Returns
    -------
    numpy.ndarray
        As :func:`nearest_pandana_on`.
    """
    net = build_pandana(inputs)
    return nearest_pandana_on(net, demand_xy, facility_xy, facility_group, groups, max_dist_m)


def build_pandana(inputs: PandanaInputs):
    """``pandana.Network(...)`` of the inputs (directed edges, ``twoway=False``)."""
    pandana = _import_pandana()
    return pandana.Network(
        inputs.node_x,
        inputs.node_y,
        inputs.edge_from,
        inputs.edge_to,
        inputs.edge_weights,
        twoway=False,
    )
