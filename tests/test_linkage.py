"""The "1+10" linkage: hand-checked toy streets, and random cases against networkx min-cost flow."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from geo.errors import InputDataError
from geo.grids.linkage import LinkagePairs, greedy_linkage, linkage_pairs, solve_linkage
from tests.conftest import toy_network, toy_points

S_PER_M = 0.9  # walking on a residential street (tests/test_network.py)


@pytest.fixture(scope="module")
def street():
    """One straight street 0 -> 1000 m, cut every 100 m."""
    return toy_network([[(x, 0), (x + 100, 0)] for x in range(0, 1000, 100)]).cost_graph("walk")


def _pairs(member, household, time_s, n_m, n_h) -> LinkagePairs:
    return LinkagePairs(
        member=np.asarray(member, dtype=np.int64),
        household=np.asarray(household, dtype=np.int64),
        time_s=np.asarray(time_s, dtype=float),
        n_members=n_m,
        n_households=n_h,
        radius_s=np.full(n_m, 900.0),
        member_ok=np.ones(n_m, dtype=bool),
        household_ok=np.ones(n_h, dtype=bool),
    )


def test_exact_beats_greedy_on_a_street(street):
    # Members at 0 m and 100 m; households at 60, 61, 200, 201 m; two each.
    members = toy_points([(0, 0), (100, 0)])
    households = toy_points([(60, 0), (61, 0), (200, 0), (201, 0)])
    pairs = linkage_pairs(street, members, households, k=2, radius_s=600.0, max_radius_s=600.0)
    exact = solve_linkage(pairs, k=2)
    greedy = greedy_linkage(pairs, k=2)
    # Exact: A takes 60 and 61 (121 m), B takes 200 and 201 (201 m) = 322 m.
    assert exact.household_member.tolist() == [0, 0, 1, 1]
    assert exact.total_time_s == pytest.approx(322 * S_PER_M, abs=1e-3)
    assert exact.optimal
    # Greedy: B grabs 61 (39 m) and 60 (40 m), A is left 200 and 201 (401 m) = 480 m.
    assert greedy.household_member.tolist() == [1, 1, 0, 0]
    assert greedy.total_time_s == pytest.approx(480 * S_PER_M, abs=1e-3)
    assert exact.household_time_s[2] == pytest.approx(100 * S_PER_M, abs=1e-3)


def test_short_members_and_unlinked_households_are_reported(street):
    # k=3: member A at 0 m can reach 50 and 80 m within 100 s (111 m); 900 m is out of reach.
    members = toy_points([(0, 0)])
    households = toy_points([(50, 0), (80, 0), (900, 0)])
    pairs = linkage_pairs(street, members, households, k=3, radius_s=100.0, max_radius_s=100.0)
    result = solve_linkage(pairs, k=3)
    assert result.member_count.tolist() == [2]
    assert result.short_members.tolist() == [0]
    assert result.unlinked_households.tolist() == [2]
    assert np.isnan(result.household_time_s[2])


def test_radius_widens_for_a_member_with_too_few(street):
    # A at 0 m has one household within 200 s (at 100 m) and a second at 300 m (270 s);
    # B at 1000 m has two within 200 s.  Only A's radius is widened, to 400 s.
    members = toy_points([(0, 0), (1000, 0)])
    households = toy_points([(100, 0), (300, 0), (950, 0), (900, 0)])
    pairs = linkage_pairs(street, members, households, k=2, radius_s=200.0, max_radius_s=400.0)
    assert pairs.radius_s.tolist() == [400.0, 200.0]
    result = solve_linkage(pairs, k=2)
    assert result.household_member.tolist() == [0, 0, 1, 1]
    assert result.short_members.size == 0
    assert result.total_time_s == pytest.approx((100 + 300 + 50 + 100) * S_PER_M, abs=1e-3)


def test_a_household_is_never_linked_twice(street):
    # Both members want the same two households; k=2 each but only 3 households.
    members = toy_points([(0, 0), (10, 0)])
    households = toy_points([(5, 0), (6, 0), (7, 0)])
    result = solve_linkage(linkage_pairs(street, members, households, k=2), k=2)
    assert result.n_links == 3
    assert sorted(result.member_count.tolist()) == [1, 2]
    assert result.unlinked_households.size == 0


def _networkx_optimum(pairs: LinkagePairs, k: int) -> tuple[int, int]:
    g = nx.DiGraph()
    for m in range(pairs.n_members):
        g.add_edge("s", ("m", m), capacity=k, weight=0)
    for h in range(pairs.n_households):
        g.add_edge(("h", h), "t", capacity=1, weight=0)
    for m, h, t in zip(pairs.member, pairs.household, pairs.time_s, strict=True):
        g.add_edge(("m", int(m)), ("h", int(h)), capacity=1, weight=int(t))
    flow = nx.max_flow_min_cost(g, "s", "t")
    links = sum(flow["s"][("m", m)] for m in range(pairs.n_members))
    return int(links), int(nx.cost_of_flow(g, flow))


@pytest.mark.parametrize("seed", range(16))
def test_random_cases_are_optimal_and_never_worse_than_greedy(seed):
    rng = np.random.default_rng(seed)
    n_m, n_h, k = int(rng.integers(2, 8)), int(rng.integers(5, 40)), int(rng.integers(1, 6))
    dense = rng.random((n_m, n_h)) < 0.5
    member, household = np.nonzero(dense)
    time_s = rng.integers(1, 100, size=member.size)
    pairs = _pairs(member, household, time_s, n_m, n_h)
    # Odd seeds start the column generation from each member's k nearest pairs only.
    exact = solve_linkage(pairs, k=k, first_pairs_per_k=1 if seed % 2 else 3)
    greedy = greedy_linkage(pairs, k=k)
    links, cost = _networkx_optimum(pairs, k)
    assert exact.n_links == links
    assert exact.total_time_s == pytest.approx(cost)
    assert exact.member_count.max(initial=0) <= k
    assert greedy.n_links <= exact.n_links
    if greedy.n_links == exact.n_links:
        assert greedy.total_time_s >= exact.total_time_s - 1e-9
    # Every link is a candidate pair with its time.
    linked = np.flatnonzero(exact.household_member >= 0)
    assert dense[exact.household_member[linked], linked].all()


@pytest.mark.parametrize("k", [0, -1, 2.5])
def test_bad_k_is_refused(k):
    with pytest.raises(InputDataError, match="联系户数"):
        solve_linkage(_pairs([0], [0], [1.0], 1, 1), k=k)


def test_no_pairs_gives_everyone_short():
    result = solve_linkage(_pairs([], [], [], 2, 3), k=10)
    assert result.short_members.tolist() == [0, 1]
    assert result.unlinked_households.tolist() == [0, 1, 2]
