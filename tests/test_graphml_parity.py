"""The same streets read as .osm, .osm.pbf and osmnx GraphML give the same network (issue 22).

GraphML (and an osmnx download, which goes through the same code) used to lose distinct
streets between the same two junctions: twins were found by length rounded in degrees.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import shapely
from scipy.sparse import csgraph

from geo.network.graph import load_network

GUIXI = Path(__file__).resolve().parent.parent / "data" / "study_areas" / "guixi" / "guixi.osm"


def _to_pbf(osm: Path, pbf: Path) -> Path:
    import osmium

    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(osm)):
            writer.add(obj)
    return pbf


def _segments(net) -> int:
    """Street segments between consecutive OSM nodes (independent of where edges are cut)."""
    return int((shapely.get_num_coordinates(net.edge_geometry) - 1).sum())


def _times_s(net, node_ids: np.ndarray) -> np.ndarray:
    graph = net.cost_graph("walk")
    index = {int(n): k for k, n in enumerate(net.node_id)}
    sources = [index[int(n)] for n in node_ids]
    times = csgraph.dijkstra(graph.csr, indices=sources)
    order = np.argsort(net.node_id)
    return times[:, order], net.node_id[order]


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    import osmnx as ox

    tmp = tmp_path_factory.mktemp("parity")
    graphml = tmp / "guixi.graphml"
    # osmnx's own reading of the same file, every OSM segment an edge (both directions).
    ox.save_graphml(ox.graph_from_xml(GUIXI, simplify=False, retain_all=True), graphml)
    return {
        "osm": load_network(GUIXI, cache_dir=None),
        "pbf": load_network(_to_pbf(GUIXI, tmp / "guixi.osm.pbf"), cache_dir=None),
        "graphml": load_network(graphml, cache_dir=None),
    }


def test_osm_and_pbf_identical(three):
    a, b = three["osm"], three["pbf"]
    assert a.n_edges == b.n_edges > 400
    assert a.edge_length_m.sum() == pytest.approx(b.edge_length_m.sum(), rel=1e-12)


def test_graphml_keeps_every_street(three):
    osm, gml = three["osm"], three["graphml"]
    # The GraphML has an edge per OSM segment; .osm edges run junction to junction.
    # Counted as segments, and in metres, they are the same streets.
    assert _segments(gml) == _segments(osm)
    assert gml.edge_length_m.sum() == pytest.approx(osm.edge_length_m.sum(), rel=1e-3)
    assert abs(gml.edge_length_m.sum() - osm.edge_length_m.sum()) < 1.0  # metres, in fact
    # Walking times from five junctions to every node the two share.
    rng = np.random.default_rng(22)
    common = np.intersect1d(osm.node_id, gml.node_id)
    assert common.size == osm.n_nodes
    origins = rng.choice(osm.node_id, 5, replace=False)
    t_osm, ids_osm = _times_s(osm, origins)
    t_gml, ids_gml = _times_s(gml, origins)
    keep = np.isin(ids_gml, ids_osm)
    np.testing.assert_allclose(t_gml[:, keep], t_osm, rtol=1e-9, atol=1e-6)


def _write_graphml(path: Path, edges: list[tuple[int, int, list[tuple[float, float]]]]) -> Path:
    """A hand-built osmnx GraphML (UTM 50N): both directions of each two-way street."""
    import osmnx as ox

    g = nx.MultiDiGraph(crs="EPSG:32650")
    for u, v, coords in edges:
        for a, b, line in ((u, v, coords), (v, u, coords[::-1])):
            for n, (x, y) in ((a, line[0]), (b, line[-1])):
                g.add_node(n, x=x, y=y)
            geom = shapely.LineString(line)
            g.add_edge(
                a, b, osmid=1000 + u * 10 + v, highway="residential", oneway=False, length=geom.length, geometry=geom
            )
    ox.save_graphml(g, path)
    return path


def test_two_parallel_streets_between_two_junctions_both_kept(tmp_path):
    # Junctions 1 (0, 0) and 2 (100, 0): a straight street (100 m) and a bow through
    # (50, 40) (2 x 64 m), plus a spur 2 -> 3.  Both streets are kept; walks take the straight one.
    x0, y0 = 500_000.0, 2_770_000.0
    straight = [(x0, y0), (x0 + 100, y0)]
    bow = [(x0, y0), (x0 + 50, y0 + 40), (x0 + 100, y0)]
    spur = [(x0 + 100, y0), (x0 + 100, y0 - 50)]
    path = _write_graphml(tmp_path / "parallel.graphml", [(1, 2, straight), (1, 2, bow), (2, 3, spur)])
    net = load_network(path, cache_dir=None)
    assert net.n_edges == 3
    assert sorted(np.round(net.edge_length_m, 1)) == [50.0, 100.0, round(2 * np.hypot(50, 40), 1)]
    graph = net.cost_graph("walk")
    index = {int(n): k for k, n in enumerate(net.node_id)}
    t = csgraph.dijkstra(graph.csr, indices=index[1])
    speed_mps = graph.profile.speed_kmh / 3.6
    assert t[index[3]] == pytest.approx(150.0 / speed_mps)
