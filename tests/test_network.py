"""The routing engine: toy graphs worked out by hand, and the real demo against networkx."""

from __future__ import annotations

import ast
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from geo import settings
from geo.errors import CRSError, InputDataError
from geo.network.graph import build_network, load_network, network_from_gdfs
from geo.network.reach import nearest_origins, reach_sets
from geo.network.snapping import snap_points
from geo.settings import TravelProfile
from tests.conftest import TOY_EPSG, X0, Y0, toy_network, toy_points, toy_table

WALK_S_PER_M = 3.6 / 4.0  # 4.0 km/h -> 0.9 s per metre
BIKE_S_PER_M = 3.6 / 12.0  # 12 km/h -> 0.3 s per metre


@pytest.fixture()
def line_net():
    # A(0,0) -- B(100,0) -- C(200,0)
    return toy_network([[(0, 0), (100, 0)], [(100, 0), (200, 0)]])


def _times_by_x(net, reach, origin=0):
    sel = reach.origin == origin
    xs = np.round(net.node_xy[reach.node[sel], 0] - X0).astype(int)
    return dict(zip(xs.tolist(), reach.time_s[sel].tolist(), strict=True))


def test_snap_onto_middle_of_edge(line_net):
    graph = line_net.cost_graph("walk")
    snapped = snap_points(graph, toy_points([(50, 10)]))
    # The point (50, 10) lies 10 m beside AB, above its midpoint: not on a node.
    assert snapped.ok.tolist() == [True]
    assert snapped.access_m[0] == pytest.approx(10.0, abs=1e-6)
    pos = snapped.pos_m[0]
    assert min(pos, 100 - pos) == pytest.approx(50.0, abs=1e-6)


def test_reach_counts_access_leg_and_partial_edge(line_net):
    graph = line_net.cost_graph("walk")
    snapped = snap_points(graph, toy_points([(50, 10)]))
    reach = reach_sets(graph, snapped, max_time_s=200.0)
    times = _times_by_x(line_net, reach)
    # A and B: 10 m access + 50 m along AB = 60 m * 0.9 s/m = 54 s; C: 160 m = 144 s.
    assert times[0] == pytest.approx(54.0, abs=1e-6)
    assert times[100] == pytest.approx(54.0, abs=1e-6)
    assert times[200] == pytest.approx(144.0, abs=1e-6)
    # With 90 s, C (144 s) is not reached.
    assert set(_times_by_x(line_net, reach_sets(graph, snapped, max_time_s=90.0))) == {0, 100}


def test_elderly_profile_is_slower(line_net):
    snapped = snap_points(line_net.cost_graph("elderly"), toy_points([(50, 10)]))
    reach = reach_sets(line_net.cost_graph("elderly"), snapped, max_time_s=300.0)
    # 160 m at 3.2 km/h = 160 * 1.125 s = 180 s.
    assert _times_by_x(line_net, reach)[200] == pytest.approx(180.0, abs=1e-6)


def test_bike_respects_oneway_and_walkers_do_not():
    # A square block, one-way clockwise A(0,0) -> B(0,100) -> C(100,100) -> D(100,0) -> A.
    ring = [[(0, 0), (0, 100)], [(0, 100), (100, 100)], [(100, 100), (100, 0)], [(100, 0), (0, 0)]]
    net = toy_network(ring, oneway=[1, 1, 1, 1])
    pts = toy_points([(0, 0)])
    walk = reach_sets(net.cost_graph("walk"), snap_points(net.cost_graph("walk"), pts), max_time_s=1000)
    bike = reach_sets(net.cost_graph("bike"), snap_points(net.cost_graph("bike"), pts), max_time_s=1000)
    key = {(0, 100): "B", (100, 0): "D"}
    for reach, expect in (
        (walk, {"B": 100 * WALK_S_PER_M, "D": 100 * WALK_S_PER_M}),
        (bike, {"B": 100 * BIKE_S_PER_M, "D": 300 * BIKE_S_PER_M}),
    ):
        xy = np.round(net.node_xy[reach.node] - [X0, Y0]).astype(int)
        got = {key[tuple(p)]: t for p, t in zip(xy.tolist(), reach.time_s, strict=True) if tuple(p) in key}
        assert got == pytest.approx(expect, abs=1e-5)


def test_speed_floor_for_zero_speed_class(line_net):
    # BAD_INPUTS N7: a profile that gives a class zero speed still routes, at the floor.
    stuck = TravelProfile(
        name="stuck",
        label_zh="测试",
        speed_kmh=4.0,
        access_speed_kmh=4.0,
        source="test",
        class_speed_kmh={"residential": 0.0},
        min_speed_kmh=1.0,
    )
    graph = line_net.cost_graph(stuck)
    assert np.isfinite(graph.fwd_s_per_m).all()
    assert graph.fwd_s_per_m.max() == pytest.approx(3.6)  # 1 km/h floor


def test_point_too_far_is_reported_not_snapped(line_net):
    graph = line_net.cost_graph("walk")
    snapped = snap_points(graph, toy_points([(50, 10), (50, 5000)]))
    assert snapped.ok.tolist() == [True, False]
    assert "不连通" in snapped.status_zh()[1]
    reach = reach_sets(graph, snapped, max_time_s=600)
    assert set(reach.origin.tolist()) == {0}


def test_crs_asserted_on_every_query(line_net):
    graph = line_net.cost_graph("walk")
    xy = np.array([[X0 + 50, Y0 + 10]])
    with pytest.raises(CRSError, match="crs"):
        snap_points(graph, xy)
    # Metres read as degrees: out of range (N8).
    with pytest.raises(InputDataError, match="超出范围"):
        snap_points(graph, xy, crs=4326)
    # Degrees read as metres: nowhere near the network.
    with pytest.raises(CRSError, match="坐标系"):
        snap_points(graph, np.array([[118.9, 25.0]]), crs=TOY_EPSG)
    ok = snap_points(graph, xy, crs=TOY_EPSG)
    assert ok.ok.all()


@pytest.mark.parametrize("budget", [0.0, -15.0, float("nan"), 1e9])
def test_bad_budget(line_net, budget):
    graph = line_net.cost_graph("walk")
    snapped = snap_points(graph, toy_points([(50, 10)]))
    with pytest.raises(InputDataError, match="步行时间阈值"):
        reach_sets(graph, snapped, max_time_s=budget)


def test_unknown_profile(line_net):
    with pytest.raises(InputDataError, match="profile"):
        line_net.cost_graph("rocket")


def test_nearest_origins_on_toy(line_net):
    graph = line_net.cost_graph("walk")
    snapped = snap_points(graph, toy_points([(0, 0), (200, 0)]))
    near = nearest_origins(graph, snapped, max_time_s=600)
    xs = np.round(line_net.node_xy[:, 0] - X0).astype(int).tolist()
    got = dict(zip(xs, zip(near.origin.tolist(), near.time_s.round(6).tolist(), strict=True), strict=True))
    # B is 100 m from both; the tie goes to either, at 90 s.
    assert got[0] == (0, 0.0) or got[0][1] < 1e-5
    assert got[200][0] == 1
    assert got[100][1] == pytest.approx(90.0, abs=1e-5)


def test_demo_network_is_real_and_clean(demo_net):
    # The bundled extract of central Helsinki: thousands of walkable edges, ~85 km.
    assert demo_net.n_edges > 4000
    assert 80_000 < demo_net.edge_length_m.sum() < 95_000
    assert demo_net.crs.to_epsg() == 32635  # UTM 35N
    assert (demo_net.edge_length_m > 0).all() and np.isfinite(demo_net.edge_length_m).all()
    assert not np.isin(demo_net.edge_highway, ["motorway", "motorway_link", "construction"]).any()
    # One strongly connected component for pedestrians.
    assert demo_net.cost_graph("walk").node_ok.all()
    assert demo_net.report.ways_incomplete > 0  # the bbox extract cuts ways at its border


def test_engine_equals_networkx_dijkstra(demo_net):
    graph = demo_net.cost_graph("walk")
    rng = np.random.default_rng(7)
    nodes = rng.choice(demo_net.n_nodes, 5, replace=False)
    snapped = snap_points(graph, demo_net.node_xy[nodes], crs=demo_net.crs)
    assert np.allclose(snapped.access_m, 0.0)
    budget = 900.0
    reach = reach_sets(graph, snapped, max_time_s=budget)
    g = nx.from_scipy_sparse_array(graph.csr, create_using=nx.DiGraph, edge_attribute="weight")
    for i, node in enumerate(nodes):
        expected = nx.single_source_dijkstra_path_length(g, int(node), cutoff=budget, weight="weight")
        sel = reach.origin == i
        got = dict(zip(reach.node[sel].tolist(), reach.time_s[sel].tolist(), strict=True))
        assert set(got) == set(expected)
        assert np.allclose([got[k] for k in expected], list(expected.values()), atol=1e-4)


def test_chunking_does_not_change_results(demo_net):
    graph = demo_net.cost_graph("walk")
    rng = np.random.default_rng(3)
    snapped = snap_points(graph, demo_net.node_xy[rng.choice(demo_net.n_nodes, 40)] + 7.0, crs=demo_net.crs)
    one = reach_sets(graph, snapped, max_time_s=600).to_csr()
    many = reach_sets(graph, snapped, max_time_s=600, chunk_bytes=1).to_csr()
    assert (one != many).nnz == 0


def test_network_cache_round_trip(tmp_path):
    first = load_network("demo", cache_dir=tmp_path)
    assert len(list(tmp_path.glob("network-*.npz"))) == 1
    second = load_network("demo", cache_dir=tmp_path)
    assert second.n_edges == first.n_edges
    assert np.array_equal(second.edge_u, first.edge_u)
    assert np.allclose(second.node_xy, first.node_xy)
    assert second.crs == first.crs
    # Another CRS is another cache entry.
    other = load_network("demo", cache_dir=tmp_path, epsg=3067)  # ETRS-TM35FIN, the Finnish national grid
    assert other.crs.to_epsg() == 3067
    assert len(list(tmp_path.glob("network-*.npz"))) == 2


@pytest.mark.parametrize("epsg", [4549, 4528, 32650])
def test_cgcs2000_gauss_kruger_zones(epsg):
    # The toy lies near 118.6E 25.0N (Hui'an): CGCS2000 CM 120E zone without (4549) and
    # with (4528) the zone prefix in the easting.  Lengths agree with UTM within the
    # scale difference of the projections (< 0.1 %).
    lines = [[(0, 0), (100, 0)], [(100, 0), (100, 250)]]
    net = build_network(toy_table(lines), epsg=epsg)
    assert net.crs.to_epsg() == epsg
    assert net.edge_length_m.sum() == pytest.approx(350.0, rel=1e-3)
    if epsg == 4528:
        assert net.node_xy[:, 0].min() > 40_000_000  # zone number 40 prefixed to the easting


@pytest.mark.parametrize(("epsg", "match"), [(4490, "不是投影"), (4546, "适用范围"), ("EPSG:999999", "无法识别")])
def test_bad_crs_choice(epsg, match):
    with pytest.raises(CRSError, match=match):
        build_network(toy_table([[(0, 0), (100, 0)]]), epsg=epsg)


def test_geo_never_imports_web_or_scripts():
    for path in Path("geo").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in {"flask", "folium", "webapp", "scripts"}, (path, name)
            if isinstance(node, ast.Attribute) and node.attr in {"environ", "argv"}:
                pytest.fail(f"{path} reads {node.attr}")


def test_settings_walk_speed_matches_gb50180():
    # 15 minutes at the default speed is 1000 m, the top of GB 50180's 800-1000 m.
    assert settings.PROFILES["walk"].metres_in(15) == pytest.approx(1000.0)
    assert settings.PROFILES["elderly"].metres_in(15) == pytest.approx(800.0)


def test_clip_to_study_area_plus_buffer(tmp_path):
    import shapely

    full = load_network("demo", cache_dir=tmp_path)
    # A 200 m box around the centre of the extract (WGS84), with a 100 m margin.
    box = shapely.box(24.940, 60.168, 24.9435, 60.1698)
    clipped = load_network("demo", boundary=box, buffer_m=100.0, cache_dir=tmp_path)
    assert 0 < clipped.n_edges < full.n_edges / 2
    assert clipped.report.edges_outside_area > 0
    area = gpd.GeoSeries([box], crs=4326).to_crs(clipped.crs).iloc[0].buffer(100.0)
    assert shapely.intersects(clipped.edge_geometry, area).all()


def _gdfs(with_geometry: bool):
    """A 3-node osmnx-style graph (both directions of each street, as osmnx stores them)."""
    xy = {1: (X0, Y0), 2: (X0 + 100, Y0), 3: (X0 + 100, Y0 + 50)}
    nodes = gpd.GeoDataFrame(
        {"x": [p[0] for p in xy.values()], "y": [p[1] for p in xy.values()]},
        geometry=gpd.points_from_xy([p[0] for p in xy.values()], [p[1] for p in xy.values()]),
        index=pd.Index(list(xy), name="osmid"),
        crs=TOY_EPSG,
    )
    pairs = [(1, 2), (2, 1), (2, 3), (3, 2)]
    geometry = [shapely.LineString([xy[u], xy[v]]) for u, v in pairs] if with_geometry else [None] * 4
    edges = gpd.GeoDataFrame(
        {
            "osmid": [10, 10, 11, 11],
            "highway": ["residential", "residential", ["footway", "path"], ["footway", "path"]],
            "oneway": False,
            "length": [100.0, 100.0, 50.0, 50.0],
        },
        geometry=geometry,
        index=pd.MultiIndex.from_tuples([(u, v, 0) for u, v in pairs], names=["u", "v", "key"]),
        crs=TOY_EPSG,
    )
    return nodes, edges


@pytest.mark.parametrize("with_geometry", [True, False])
def test_network_from_gdfs_keeps_one_row_per_street(with_geometry):
    net = network_from_gdfs(*_gdfs(with_geometry))
    # Two streets (100 m and 50 m), each once; missing geometries become straight lines.
    assert net.n_edges == 2
    assert sorted(net.edge_length_m.round(3).tolist()) == [50.0, 100.0]
    assert sorted(net.edge_highway.tolist()) == ["footway", "residential"]


def test_network_from_gdfs_missing_node_is_an_error():
    nodes, edges = _gdfs(False)
    with pytest.raises(InputDataError, match="不存在的节点"):
        network_from_gdfs(nodes.drop(index=3), edges)
