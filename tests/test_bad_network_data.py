"""BAD_INPUTS N1-N8 (and U14/U15 for network files): clear errors, nothing silent."""

from __future__ import annotations

import gzip
import shutil

import networkx as nx
import numpy as np
import osmnx as ox
import pytest

from geo.errors import CRSError, EmptyNetworkError, InputDataError, NetworkUnavailableError
from geo.io.sources import demo_pbf_path, read_online
from geo.network.graph import load_network
from geo.network.reach import reach_sets
from geo.network.snapping import snap_points
from tests.conftest import toy_network, toy_points

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n'


def _osm(tmp_path, body: str, name: str = "extract.osm"):
    path = tmp_path / name
    path.write_text(HEAD + body + "</osm>\n", encoding="utf-8")
    return path


def _nodes(n: int, lat0: float = 24.95, lon0: float = 118.9, step: float = 0.001) -> str:
    return "".join(f' <node id="{i + 1}" lat="{lat0}" lon="{lon0 + i * step:.6f}"/>\n' for i in range(n))


def _way(way_id: int, refs, tags: dict[str, str]) -> str:
    nds = "".join(f'<nd ref="{r}"/>' for r in refs)
    tg = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
    return f' <way id="{way_id}">{nds}{tg}</way>\n'


def test_n1_ways_referencing_missing_nodes(tmp_path):
    # Three of four ways reference nodes 90+ that the extract does not contain.
    body = _nodes(4) + _way(1, [1, 2], {"highway": "footway"})
    body += "".join(_way(10 + i, [3, 90 + i, 4], {"highway": "residential"}) for i in range(3))
    with pytest.raises(InputDataError, match="complete_ways"):
        load_network(_osm(tmp_path, body), cache_dir=None)


def test_n1_few_cut_ways_are_reported_not_fatal(demo_net):
    # The demo bbox extract cuts 164 of its walkable ways at the border: kept, reported.
    assert demo_net.report.ways_incomplete == 164
    assert "截断" in demo_net.report.summary_zh()


def test_n2_coordinates_out_of_range(tmp_path):
    body = ' <node id="1" lat="24.95" lon="118.9"/>\n <node id="2" lat="300" lon="914"/>\n'
    body += _way(1, [1, 2], {"highway": "footway"})
    with pytest.raises(InputDataError, match="超出范围"):
        load_network(_osm(tmp_path, body), cache_dir=None)


def test_n2_graphml_with_bad_latitude(tmp_path):
    g = nx.MultiDiGraph(crs="EPSG:4326")
    g.add_node(1, x=118.9, y=24.95)
    g.add_node(2, x=914.0, y=300.0)
    g.add_edge(1, 2, length=10.0, highway="footway")
    path = tmp_path / "bad.graphml"
    ox.save_graphml(g, path)
    with pytest.raises(InputDataError, match="超出范围"):
        load_network(path, cache_dir=None)


def test_n3_only_walkable_highways_become_edges(tmp_path):
    # A building outline, a motorway and a footway: only the footway is an edge.
    body = _nodes(8)
    body += _way(1, [1, 2, 3, 1], {"building": "yes"})
    body += _way(2, [4, 5], {"highway": "motorway"})
    body += _way(3, [6, 7, 8], {"highway": "footway"})
    body += _way(4, [7, 3], {"highway": "residential", "access": "private"})
    net = load_network(_osm(tmp_path, body), cache_dir=None)
    # Node 7 is no junction once the private road is dropped: one edge 6 -> 8.
    assert net.n_edges == 1
    assert set(net.edge_highway) == {"footway"}
    assert net.edge_length_m[0] == pytest.approx(2 * 101.0, rel=0.01)
    assert net.report.ways_not_walkable == 2  # the motorway and the private road


def test_n3_footway_forbidden_and_cycleway_allowed(tmp_path):
    body = _nodes(4)
    body += _way(1, [1, 2], {"highway": "residential", "foot": "no"})
    body += _way(2, [2, 3], {"highway": "cycleway", "foot": "designated"})
    body += _way(3, [3, 4], {"highway": "cycleway"})
    net = load_network(_osm(tmp_path, body), cache_dir=None)
    assert list(net.edge_highway) == ["cycleway"]


def test_n4_empty_file(tmp_path):
    path = tmp_path / "empty.osm.pbf"
    path.write_bytes(b"")
    with pytest.raises(InputDataError, match="为空"):
        load_network(path, cache_dir=None)


def test_n4_truncated_pbf(tmp_path):
    data = demo_pbf_path().read_bytes()
    path = tmp_path / "truncated.osm.pbf"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(InputDataError, match="损坏或被截断"):
        load_network(path, cache_dir=None)


def test_n4_no_walkable_ways(tmp_path):
    body = _nodes(3) + _way(1, [1, 2, 3], {"building": "yes"})
    with pytest.raises(EmptyNetworkError, match="没有可步行"):
        load_network(_osm(tmp_path, body), cache_dir=None)


def test_n4_garbage_and_gzip_named_pbf(tmp_path):
    path = tmp_path / "garbage.osm.pbf"
    path.write_bytes(b"\x00\x01not a pbf at all" * 100)
    with pytest.raises(InputDataError):
        load_network(path, cache_dir=None)
    gz = tmp_path / "x.osm.gz"
    with open(demo_pbf_path(), "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    with pytest.raises(InputDataError, match="不支持"):
        load_network(gz, cache_dir=None)


def test_n5_facility_on_disconnected_island():
    # Main street 0..1000 m; an island 50 m long, 900 m north: dropped at build.  A
    # facility on the island is farther than the snap tolerance (300 m) from the
    # main component: flagged, not silently collapsed.  One 120 m north snaps onto
    # the main street and keeps a real service area.
    lines = [[(0, 0), (500, 0)], [(500, 0), (1000, 0)], [(400, 900), (450, 900)]]
    net = toy_network(lines)
    assert net.n_edges == 2
    assert net.report.edges_not_in_main_component == 1
    graph = net.cost_graph("walk")
    snapped = snap_points(graph, toy_points([(420, 900), (420, 120)]))
    assert snapped.ok.tolist() == [False, True]
    assert snapped.status_zh()[0].startswith("距道路过远/设施不连通")
    reach = reach_sets(graph, snapped, max_time_s=900)
    assert (reach.origin == 1).sum() == 3


@pytest.mark.parametrize("length", [-5.0, float("nan"), "abc", 0.0])
def test_n6_bad_edge_lengths_in_graphml(tmp_path, length):
    g = nx.MultiDiGraph(crs="EPSG:4326")
    g.add_node(1, x=118.9, y=24.95)
    g.add_node(2, x=118.901, y=24.95)
    g.add_node(3, x=118.902, y=24.95)
    g.add_edge(1, 2, length=100.0, highway="footway")
    g.add_edge(2, 3, length=length, highway="footway")
    path = tmp_path / "bad.graphml"
    ox.save_graphml(g, path)
    with pytest.raises(InputDataError, match=r"\(2 -> 3\).*length"):
        load_network(path, cache_dir=None)


def test_graphml_good_round_trip(tmp_path):
    g = nx.MultiDiGraph(crs="EPSG:4326")
    for i in range(3):
        g.add_node(i + 1, x=118.9 + i * 0.001, y=24.95)
    for a, b in ((1, 2), (2, 3)):
        g.add_edge(a, b, length=101.0, highway="residential", oneway=False)
        g.add_edge(b, a, length=101.0, highway="residential", oneway=False)
    path = tmp_path / "ok.graphml"
    ox.save_graphml(g, path)
    net = load_network(path, cache_dir=None)
    assert net.n_edges == 2  # both directions of a two-way street are one edge
    # 0.001 degree of longitude at 24.95N is about 101 m.
    assert net.edge_length_m.sum() == pytest.approx(2 * 101.0, rel=0.01)


def test_u14_xml_with_doctype_is_refused(tmp_path):
    path = tmp_path / "evil.osm"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE osm [<!ENTITY a "aaaaaaaaaa">]>\n<osm version="0.6">&a;</osm>\n',
        encoding="utf-8",
    )
    with pytest.raises(InputDataError, match="DOCTYPE"):
        load_network(path, cache_dir=None)


def test_u15_graphml_that_is_not_graphml(tmp_path):
    path = tmp_path / "broken.graphml"
    path.write_text("<graphml><graph><node id='1'><data key='x'>__import__('os')</data></node>", encoding="utf-8")
    with pytest.raises(InputDataError, match="GraphML"):
        load_network(path, cache_dir=None)


def test_n8_projected_graph_queried_with_degrees(demo_net):
    graph = demo_net.cost_graph("walk")
    # Helsinki lon/lat handed over as if they were metres of the network's CRS.
    with pytest.raises(CRSError, match="坐标系"):
        snap_points(graph, np.array([[24.94, 60.17]]), crs=demo_net.crs)


def test_missing_network_file_and_connection_string(tmp_path):
    with pytest.raises(InputDataError, match="不存在"):
        load_network(tmp_path / "nope.osm.pbf", cache_dir=None)
    with pytest.raises(InputDataError, match="不存在"):
        load_network("/vsicurl/http://example.invalid/x.osm.pbf", cache_dir=None)  # C3


def test_online_download_fails_clearly_without_internet():
    # Runs everywhere: offline it must be a clear NetworkUnavailableError, online it
    # must download something.
    try:
        table = read_online("惠安县, 泉州市, 福建省")
    except NetworkUnavailableError as exc:
        assert "无网络" in str(exc)
    else:  # pragma: no cover - only with internet
        assert len(table.edges) > 0


@pytest.mark.online
def test_online_download_by_polygon():
    import shapely

    # Skipped offline by tests/conftest.py; a small box in Hui'an's county town.
    table = read_online(polygon=shapely.box(118.79, 25.02, 118.80, 25.03))
    assert len(table.edges) > 0
