"""Tests of the synthetic benchmark city generator (``benchmarks/city.py``)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

from benchmarks.city import CRS, HIGHWAY_CLASSES, make_city, to_networkx, walk_edges

N_SMALL = 2_000


@pytest.fixture(scope="module")
def city():
    """A small city, generated once for the module."""
    return make_city(N_SMALL, seed=0)


def test_same_seed_identical(city):
    nodes, edges = city
    nodes2, edges2 = make_city(N_SMALL, seed=0)
    pd.testing.assert_frame_equal(nodes, nodes2)
    pd.testing.assert_frame_equal(edges, edges2)


def test_other_seed_differs(city):
    nodes, _ = city
    nodes2, _ = make_city(N_SMALL, seed=1)
    assert not np.array_equal(nodes["x"].to_numpy(), nodes2["x"].to_numpy())


@pytest.mark.parametrize("n", [N_SMALL, 7_777])
def test_node_count_within_5_percent(n):
    nodes, _ = make_city(n, seed=3)
    assert abs(len(nodes) - n) <= 0.05 * n


def test_osmnx_gdf_format(city):
    nodes, edges = city
    assert nodes.crs == CRS and edges.crs == CRS
    assert nodes.index.dtype == np.int64 and nodes.index.is_unique
    assert {"x", "y", "geometry"} <= set(nodes.columns)
    assert list(edges.index.names) == ["u", "v", "key"]
    assert edges.index.is_unique
    assert {"osmid", "highway", "oneway", "reversed", "length", "geometry"} <= set(edges.columns)
    assert edges["oneway"].dtype == bool and edges["reversed"].dtype == bool
    assert set(edges["highway"]) <= set(HIGHWAY_CLASSES)
    assert {"residential", "footway", "service", "primary", "motorway"} <= set(edges["highway"])
    u = edges.index.get_level_values("u")
    v = edges.index.get_level_values("v")
    assert u.isin(nodes.index).all() and v.isin(nodes.index).all()
    np.testing.assert_array_equal(shapely.get_x(nodes.geometry), nodes["x"])
    np.testing.assert_array_equal(shapely.get_y(nodes.geometry), nodes["y"])


def test_lengths_positive_and_match_geometry(city):
    _, edges = city
    length = edges["length"].to_numpy()
    assert (length > 0).all()
    np.testing.assert_allclose(length, shapely.length(edges.geometry.values), rtol=1e-12)
    assert length.min() < 10.0  # there are short edges


def test_geometry_runs_from_u_to_v(city):
    nodes, edges = city
    geoms = edges.geometry.values
    first = shapely.get_point(geoms, 0)
    last = shapely.get_point(geoms, -1)
    u = nodes.loc[edges.index.get_level_values("u")]
    v = nodes.loc[edges.index.get_level_values("v")]
    np.testing.assert_array_equal(shapely.get_x(first), u["x"].to_numpy())
    np.testing.assert_array_equal(shapely.get_y(first), u["y"].to_numpy())
    np.testing.assert_array_equal(shapely.get_x(last), v["x"].to_numpy())
    np.testing.assert_array_equal(shapely.get_y(last), v["y"].to_numpy())


def test_both_directions_present(city):
    _, edges = city
    fwd = set(edges.index)
    missing = [(u, v, k) for u, v, k in fwd if (v, u, k) not in fwd]
    assert not missing
    # reversed rows carry the same street: same length up to rounding
    back = edges.loc[[(v, u, k) for u, v, k in edges.index]]
    np.testing.assert_allclose(back["length"].to_numpy(), edges["length"].to_numpy(), rtol=1e-12)


@pytest.mark.parametrize("walk_only", [False, True])
def test_mostly_strongly_connected(city, walk_only):
    nodes, edges = city
    if walk_only:
        edges = walk_edges(edges)
    u = nodes.index.get_indexer(edges.index.get_level_values("u"))
    v = nodes.index.get_indexer(edges.index.get_level_values("v"))
    adj = sp.csr_array((np.ones(len(u)), (u, v)), shape=(len(nodes), len(nodes)))
    _, labels = connected_components(adj, directed=True, connection="strong")
    assert np.bincount(labels).max() >= 0.95 * len(nodes)


def test_to_networkx(city):
    nodes, edges = city
    G = to_networkx(nodes, edges)
    assert isinstance(G, nx.MultiDiGraph)
    assert G.graph["crs"] == CRS
    assert G.number_of_nodes() == len(nodes)
    assert G.number_of_edges() == len(edges)
    node = nodes.index[0]
    assert G.nodes[node]["x"] == nodes.loc[node, "x"]
    (u, v, k), row = next(iter(edges.iterrows()))
    assert G.edges[u, v, k]["length"] == row["length"]
