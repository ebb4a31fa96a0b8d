"""The workflow layer (geo/workflows/) on the demo: the same figures as the core called directly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from geo.access.coverage import ALL_UNITS, accessibility
from geo.access.coverage_tables import coverage_table, standard_check
from geo.access.life_circle import life_circle_check
from geo.access.standards import FUNCTIONS
from geo.errors import InputDataError
from geo.grids.output import grids_gdf
from geo.maps.content import MAP_KINDS
from geo.placement.candidates import network_candidates
from geo.placement.centers import place_centers
from geo.workflows import (
    MAP_BUILDERS,
    analyse_coverage,
    analysis_units,
    check_standard,
    function_service_areas,
    load_analysis,
    placement_candidates,
    plan_centres,
    project_grids,
    project_map,
)


@pytest.fixture(scope="module")
def analysis(demo_project):
    return load_analysis(demo_project)


def test_coverage_equals_the_core_called_directly(analysis, demo_project):
    # The independent path: the routing graph and accessibility built by hand.
    acc = accessibility(
        demo_project.network.cost_graph(demo_project.profile), demo_project.demand, demo_project.facilities
    )
    core = coverage_table(acc)
    result = analyse_coverage(analysis)
    merged = result.table.merge(core, on=["unit", "group"], suffixes=("_wf", "_core"))
    assert len(merged) == len(core) > 0
    np.testing.assert_allclose(merged["covered_wf"], merged["covered_core"], rtol=1e-12)
    whole = result.table[(result.table["unit"] == ALL_UNITS) & (result.table["kind"] == "function")]
    assert set(whole["group"]) == set(FUNCTIONS)
    assert ((whole["covered_pct"] >= 0) & (whole["covered_pct"] <= 100)).all()
    assert set(result.gaps["group"]) <= set(FUNCTIONS)
    # The workflow's check is each area's own standard (issue 21): the core called with the project's type and units.
    direct = life_circle_check(acc, level="15_minute", area_type=demo_project.area_type, units=demo_project.units)
    pd.testing.assert_frame_equal(result.check, direct)
    assert set(direct["item"]) == set(standard_check(acc, level="15_minute")["item"])
    pd.testing.assert_frame_equal(check_standard(analysis), result.check)


def test_an_analysis_without_times_says_so(demo_project):
    bare = load_analysis(demo_project, times=False)
    assert bare.acc is None and bare.graph.network is demo_project.network
    with pytest.raises(InputDataError, match="未计算可达时间"):
        analyse_coverage(bare)


def test_units_by_level_or_none(demo_project):
    assert analysis_units(demo_project, None) is None
    assert analysis_units(demo_project, "none") is None
    for level in ("town", "community", "grid"):
        if level not in demo_project.units:
            with pytest.raises(InputDataError, match="分区图层"):
                analysis_units(demo_project, level)
        else:
            assert len(analysis_units(demo_project, level)) == len(demo_project.units[level])


def test_service_areas_grow_with_the_budget(analysis, demo_project):
    found = {fa.function: fa for fa in function_service_areas(analysis, (5.0, 15.0))}
    assert set(found) == set(FUNCTIONS)
    for function, fa in found.items():
        assert fa.facilities == int((demo_project.facilities["function"] == function).sum())
        assert 0 <= fa.snapped <= fa.facilities
        if fa.areas is None:
            continue
        five, fifteen = (fa.areas.loc[fa.areas["minutes"] == m].geometry.iloc[0] for m in (5.0, 15.0))
        assert five.area < fifteen.area
        assert shapely.difference(five, fifteen).area < 1e-6 * five.area  # 5 minutes inside 15


def test_placement_equals_the_core_called_directly(analysis):
    candidates = placement_candidates(analysis, "network")
    direct = network_candidates(analysis.graph, boundary=analysis.project.boundary)
    assert len(candidates) == len(direct)
    ours = plan_centres(analysis, candidates, model="mclp", p=2, minutes=10.0, method="exact")
    theirs = place_centers(
        analysis.graph, analysis.acc.demand, direct, model="mclp", p=2, minutes=10.0, acc=analysis.acc, method="exact"
    )
    assert sorted(ours.solution.chosen) == sorted(theirs.solution.chosen)
    assert ours.solution.objective == pytest.approx(theirs.solution.objective)


def test_candidate_sources(analysis, demo_project):
    assert len(placement_candidates(analysis, "facilities")) == len(demo_project.facilities)
    site = np.array([[24.9414, 60.1699]])  # central Helsinki, WGS84 lon/lat
    both = placement_candidates(analysis, "both", sites_wgs84=site)
    assert (both["source"] == "plan").sum() == 1
    assert len(both) == len(placement_candidates(analysis, "network")) + 1
    with pytest.raises(InputDataError, match="候选点来源"):
        placement_candidates(analysis, "nowhere")
    with pytest.raises(InputDataError, match="没有候选点"):
        placement_candidates(analysis, "plan")
    with pytest.raises(InputDataError, match="候选点文件未给出"):
        placement_candidates(analysis, "file")


def test_grids_keep_every_household(demo_project):
    plan = project_grids(demo_project, min_households=300, max_households=500)
    grids = grids_gdf(plan)
    # The grid table rounds each grid's households to 0.1.
    assert grids["households"].sum() == pytest.approx(plan.units["households"].sum(), abs=0.05 * len(grids))
    assert len(grids) >= 1 and grids["code"].is_unique


def test_every_map_kind_has_a_builder(analysis):
    assert set(MAP_BUILDERS) == set(MAP_KINDS)
    with pytest.raises(InputDataError, match="地图类型"):
        project_map(analysis, "nosuch")
    with pytest.raises(InputDataError, match="功能"):
        project_map(analysis, "coverage", function="nosuch")
    pm = project_map(analysis, "coverage", function="medical", fields={"author": "规划科"})
    text = pm.text(None, None)
    assert text.author == "规划科" and any("OpenStreetMap" in s for s in text.sources)


def test_facility_service_areas_carry_their_facility_and_assumption(analysis, demo_project):
    from geo.workflows import facility_service_areas

    fac = demo_project.facilities[demo_project.facilities["function"] == "medical"].reset_index(drop=True)
    result = facility_service_areas(analysis.graph, fac, (5, 10), cache_dir=None)
    assert len(result.facilities) == len(fac) and result.facilities["snapped"].dtype == bool
    assert set(result.areas["facility_id"]) <= set(fac["facility_id"]) | {""}
    assert result.areas["assumption"].str.contains("km/h").all()
    assert (result.streets["facility_id"].isin(fac["facility_id"])).all()
    with pytest.raises(InputDataError):
        facility_service_areas(analysis.graph, fac, (0,), cache_dir=None)
