"""The "1+10" linkage: hand-checked toy streets; random cases against the exact LP (HiGHS) and greedy;
the certificate refuses flows that are not optimal."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy import sparse
from scipy.optimize import linprog

from geo.errors import GeoError, InputDataError
from geo.grids.linkage import (
    LINKAGE_COST_UNIT_S,
    LinkagePairs,
    LinkageSolverError,
    _certify,
    greedy_linkage,
    grid_codes_at,
    linkage_by_grid,
    linkage_pairs,
    solve_linkage,
)
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


def _lp_optimum(pairs: LinkagePairs, k: int) -> tuple[float, float]:
    """The exact LP, lexicographic in two solves: the most links, then the least time with that many."""
    p = pairs.member.size
    at = np.arange(p)
    a_ub = sparse.vstack(
        [
            sparse.csr_array((np.ones(p), (pairs.member, at)), shape=(pairs.n_members, p)),
            sparse.csr_array((np.ones(p), (pairs.household, at)), shape=(pairs.n_households, p)),
        ]
    )
    b_ub = np.concatenate([np.full(pairs.n_members, float(k)), np.ones(pairs.n_households)])
    most = linprog(-np.ones(p), A_ub=a_ub, b_ub=b_ub, bounds=(0, 1), method="highs")
    assert most.status == 0
    links = round(-most.fun)
    least = linprog(
        pairs.time_s, A_ub=a_ub, b_ub=b_ub, A_eq=np.ones((1, p)), b_eq=[links], bounds=(0, 1), method="highs"
    )
    assert least.status == 0
    return links, least.fun


def _random_pairs(seed: int, *, n_m: int, n_h: int, density: float, integer: bool) -> tuple[LinkagePairs, np.ndarray]:
    rng = np.random.default_rng(seed)
    dense = rng.random((n_m, n_h)) < density
    member, household = np.nonzero(dense)
    # Whole seconds make ties (many optima); fractional ones test the microsecond rounding.
    time_s = rng.integers(1, 100, size=member.size).astype(float) if integer else rng.uniform(1, 900, member.size)
    return _pairs(member, household, time_s, n_m, n_h), dense


@pytest.mark.parametrize("seed", range(24))
def test_random_cases_match_the_lp_and_are_never_worse_than_greedy(seed):
    rng = np.random.default_rng(1000 + seed)
    n_m, n_h, k = int(rng.integers(2, 12)), int(rng.integers(5, 80)), int(rng.integers(1, 8))
    pairs, dense = _random_pairs(seed, n_m=n_m, n_h=n_h, density=float(rng.uniform(0.1, 0.6)), integer=seed % 2 == 0)
    exact = solve_linkage(pairs, k=k)
    greedy = greedy_linkage(pairs, k=k)
    links, least_s = _lp_optimum(pairs, k)
    assert exact.optimal
    assert exact.n_links == links
    assert exact.gap_bound_s == pytest.approx(links * LINKAGE_COST_UNIT_S)
    assert least_s - 1e-7 <= exact.total_time_s <= least_s + exact.gap_bound_s + 1e-7
    assert exact.member_count.max(initial=0) <= k
    assert np.bincount(exact.household_member[exact.household_member >= 0], minlength=n_m).tolist() == (
        exact.member_count.tolist()
    )
    assert greedy.n_links <= exact.n_links
    if greedy.n_links == exact.n_links:
        assert greedy.total_time_s >= exact.total_time_s - exact.gap_bound_s
    # Every link is a candidate pair with its time.
    linked = np.flatnonzero(exact.household_member >= 0)
    assert dense[exact.household_member[linked], linked].all()
    lookup = dict(zip(zip(pairs.member.tolist(), pairs.household.tolist(), strict=True), pairs.time_s, strict=True))
    assert [lookup[(int(exact.household_member[h]), int(h))] for h in linked] == exact.household_time_s[linked].tolist()


@pytest.mark.parametrize("seed", range(3))
def test_larger_tight_cases_match_the_lp(seed):
    # 60 members x k=10 asked of 600 households (every household wanted), sparse pairs: long
    # augmenting chains, members short where their neighbourhood is taken.
    pairs, _ = _random_pairs(seed, n_m=60, n_h=600, density=0.04, integer=False)
    exact = solve_linkage(pairs, k=10)
    links, least_s = _lp_optimum(pairs, 10)
    assert exact.n_links == links
    assert exact.total_time_s == pytest.approx(least_s, abs=exact.gap_bound_s + 1e-6)
    greedy = greedy_linkage(pairs, k=10)
    assert greedy.n_links < exact.n_links or greedy.total_time_s >= exact.total_time_s - exact.gap_bound_s


def _used(pairs: LinkagePairs, result) -> np.ndarray:
    return result.household_member[pairs.household] == pairs.member


def test_the_certificate_refuses_the_greedy_assignment(street):
    # The street case above: greedy has as many links but 158 m more walking; a cycle lowers it.
    members = toy_points([(0, 0), (100, 0)])
    households = toy_points([(60, 0), (61, 0), (200, 0), (201, 0)])
    pairs = linkage_pairs(street, members, households, k=2, radius_s=600.0, max_radius_s=600.0)
    cost = np.rint(pairs.time_s / LINKAGE_COST_UNIT_S).astype(np.int64)
    _certify(pairs, _used(pairs, solve_linkage(pairs, k=2)), cost, 2)  # the optimum passes
    with pytest.raises(LinkageSolverError, match="最短总步行时间") as err:
        _certify(pairs, _used(pairs, greedy_linkage(pairs, k=2)), cost, 2)
    assert isinstance(err.value, GeoError)


def test_the_certificate_refuses_too_few_links():
    # A chain: member 0 can take household 0 or 1, member 1 only household 0 (k=1 each).
    # Member 0 on household 0 leaves member 1 without one: an augmenting path exists.
    pairs = _pairs([0, 0, 1], [0, 1, 0], [1.0, 5.0, 1.0], 2, 2)
    cost = np.rint(pairs.time_s / LINKAGE_COST_UNIT_S).astype(np.int64)
    with pytest.raises(LinkageSolverError, match="最大联系数"):
        _certify(pairs, np.array([True, False, False]), cost, 1)
    exact = solve_linkage(pairs, k=1)
    assert exact.household_member.tolist() == [1, 0]  # both linked although 6 s > 1 s + nothing
    assert exact.total_time_s == pytest.approx(6.0)
    greedy = greedy_linkage(pairs, k=1)
    assert greedy.n_links == 1  # greedy takes the 1 s pair of member 0 first (stable order)


@pytest.mark.parametrize("k", [0, -1, 2.5])
def test_bad_k_is_refused(k):
    with pytest.raises(InputDataError, match="联系户数"):
        solve_linkage(_pairs([0], [0], [1.0], 1, 1), k=k)


def test_no_pairs_gives_everyone_short():
    result = solve_linkage(_pairs([], [], [], 2, 3), k=10)
    assert result.short_members.tolist() == [0, 1]
    assert result.unlinked_households.tolist() == [0, 1, 2]


def test_grid_codes_and_the_table_per_grid():
    grids = gpd.GeoDataFrame(
        {"code": ["350521001001", "350521001002"]},
        geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)],
        crs=32650,
    )
    # A point on the shared boundary goes to the first grid; one outside every grid gets "".
    points = gpd.GeoSeries(shapely.points([(10, 10), (150, 50), (100, 50), (500, 500)]), crs=32650)
    assert grid_codes_at(points, grids).tolist() == ["350521001001", "350521001002", "350521001001", ""]
    assert grid_codes_at(points.to_crs(4326), grids).tolist()[:2] == ["350521001001", "350521001002"]
    # k=2 but three households have pairs: the optimum (11 s) gives member 1 households 1 and 2
    # and leaves member 0 (grid 1) short with household 0; household 3 (in no grid) unlinked.
    pairs = _pairs([0, 0, 1, 1], [0, 1, 1, 2], [1.0, 2.0, 1.0, 9.0], 2, 4)
    exact = solve_linkage(pairs, k=2)
    assert exact.household_member.tolist() == [0, 1, 1, -1]
    assert exact.total_time_s == pytest.approx(11.0)
    table = linkage_by_grid(
        exact, member_grid=np.array(["350521001001", "350521001002"]), household_grid=grid_codes_at(points, grids)
    )
    assert table.to_dict("list") == {
        "grid_code": ["", "350521001001", "350521001002"],
        "members": [0, 1, 1],
        "members_short": [0, 1, 0],
        "households": [1, 2, 1],
        "linked": [0, 2, 1],
        "unlinked": [1, 0, 0],
    }


def test_the_solver_runs_beside_highspy_in_one_process():
    # OR-Tools and highspy ship different libhighs.so.1: the flow runs in a child process, so a
    # process that has highspy loaded (the placement) still links members.
    import highspy  # noqa: F401

    pairs = _pairs([0, 0, 1], [0, 1, 1], [3.0, 1.0, 2.0], 2, 2)
    result = solve_linkage(pairs, k=1)
    assert result.household_member.tolist() == [0, 1]
    assert result.total_time_s == pytest.approx(5.0)
