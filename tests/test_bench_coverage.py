"""The coverage benchmark's cross-check (``benchmarks/bench_coverage.py``), on a tiny city.

No wall time is asserted: timing lives in ``benchmarks/``.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.bench_coverage import build_ours, cross_check, place_on_nodes, query_ours, snap_ours
from benchmarks.city import make_city, walk_edges

pytest.importorskip("pandana")

from benchmarks.peer_pandana import nearest_pandana, pandana_inputs

LIMIT_M = 1_000.0  # small enough that some pairs are beyond it on a 2000-node city (~3.5 x 2.6 km)


@pytest.fixture(scope="module")
def tiny():
    nodes, edges = make_city(2_000, seed=0)
    walk = walk_edges(edges)
    place = place_on_nodes(nodes, walk, n_demand=500, n_facilities=30, n_functions=6)
    graph = build_ours(nodes, edges)
    demand, facilities = snap_ours(graph, place.demand_xy, place.facility_xy)
    ours = query_ours(graph, demand, facilities, place.facility_group, place.groups, LIMIT_M)
    peer = nearest_pandana(
        pandana_inputs(nodes, walk), place.demand_xy, place.facility_xy, place.facility_group, place.groups, LIMIT_M
    )
    return place, demand, ours, peer


def test_node_placed_points_snap_with_zero_access_leg(tiny):
    place, demand, _, _ = tiny
    assert demand.ok.all()
    assert demand.access_m.max() < 1e-6
    # 30 facilities dealt round-robin over 6 functions: 5 each.
    assert [int((place.facility_group == g).sum()) for g in place.groups] == [5] * 6


def test_ours_equals_pandana_within_1_m_on_node_placed_points(tiny):
    _, _, ours, peer = tiny
    assert ours.shape == peer.shape == (500, 6)
    check = cross_check(ours, peer, LIMIT_M)
    # Both sides measure node-to-node network distance: the same pairs are found (some
    # beyond the 1000 m limit, some within it) and their distances agree; pandana
    # rounds edge weights to millimetres and returns float32, hence not exactly 0.
    assert 0 < check.n_found_ours < check.n_pairs
    assert check.n_found_ours == check.n_found_peer
    assert check.n_mismatch == 0
    assert check.max_abs_diff_m < 1.0


def test_demand_point_on_a_facility_node_is_at_zero(tiny):
    place, _, ours, peer = tiny
    same = (place.demand_xy[:, None, :] == place.facility_xy[None, :, :]).all(axis=2)
    d, f = np.nonzero(same)
    assert d.size > 0  # 500 of ~1,900 main-component nodes drawn, 30 facilities: several overlap
    col = np.array([place.groups.index(g) for g in place.facility_group[f]])
    # Ours: the facility's virtual arc of a microsecond (1e-6 m at 1 m/s).
    assert ours[d, col] == pytest.approx(0.0, abs=1e-3)
    assert peer[d, col] == pytest.approx(0.0, abs=1e-3)


def test_cross_check_counts_mismatches_and_boundary_cases():
    # Hand-built: pair (0,0) agrees within 0.5 m; (0,1) differs by 2 m (mismatch);
    # (1,0) found by ours only at 999.6 m, within 1 m of the 1000 m limit (boundary);
    # (1,1) found by the peer only at 500 m (mismatch).
    ours = np.array([[100.0, 200.0], [999.6, np.inf]])
    peer = np.array([[100.5, 202.0], [np.inf, 500.0]])
    check = cross_check(ours, peer, 1_000.0)
    assert (check.n_pairs, check.n_found_ours, check.n_found_peer) == (4, 3, 3)
    assert check.max_abs_diff_m == pytest.approx(2.0)
    assert check.n_mismatch == 2
    assert check.n_boundary == 1
    with pytest.raises(ValueError, match="shapes differ"):
        cross_check(ours, peer[:1], 1_000.0)
