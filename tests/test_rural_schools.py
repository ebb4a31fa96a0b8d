"""Schools from OSM (amenity=school) in the 学有所教 group; kindergartens stay 幼有所育 (issue 21).

Real Chinese OSM extracts (/work/shared/data/china_osm, © OpenStreetMap contributors, ODbL):
Guixi has four amenity=school without isced:level: 贵溪市实验中学, 贵溪市第四中学, 贵溪市第九中学
(中学 in the name: 初中, as data/vocabulary/categories.csv counts a 中学) and 贵溪五中 (no 中学 in
the name: 学校（未分学段）); Longgang has four schools with no level in tag or name and one
kindergarten.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import MappingProxyType

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo.access.coverage import accessibility
from geo.access.facilities import facilities_from_features, osm_facilities, osm_facilities_all
from geo.access.standards import load_standard

CHINA_OSM = Path("/work/shared/data/china_osm")


def _schools(frame: gpd.GeoDataFrame) -> dict[str, str]:
    return dict(
        zip(
            frame.loc[frame["function"] == "education", "name"],
            frame.loc[frame["function"] == "education", "type"],
            strict=True,
        )
    )


@pytest.mark.skipif(not CHINA_OSM.exists(), reason="china_osm extracts not on this machine")
def test_guixi_schools_by_name():
    frame = osm_facilities_all(CHINA_OSM / "guixi_jiangxi.osm")
    assert _schools(frame) == {
        "贵溪市实验中学": "middle_school",
        "贵溪市第四中学": "middle_school",
        "贵溪市第九中学": "middle_school",
        "贵溪五中": "school",
    }
    education = frame[frame["function"] == "education"]
    assert set(education["function_zh"]) == {"学有所教"}
    assert set(education["type_zh"]) == {"初中", "学校（未分学段）"}
    assert (frame["function"] != "childcare").all()  # no school counted as childcare


@pytest.mark.skipif(not CHINA_OSM.exists(), reason="china_osm extracts not on this machine")
def test_longgang_kindergarten_stays_childcare():
    frame = osm_facilities_all(CHINA_OSM / "longgang_shenzhen.osm")
    childcare = frame[frame["function"] == "childcare"]
    assert childcare["name"].tolist() == ["启蒙星幼儿园"] and childcare["type"].tolist() == ["kindergarten"]
    assert sorted(_schools(frame).values()) == ["school"] * 4
    assert len(osm_facilities("education", CHINA_OSM / "longgang_shenzhen.osm")) == 4


def _features(rows: list[dict]) -> gpd.GeoDataFrame:
    index = pd.MultiIndex.from_tuples([("node", k + 1) for k in range(len(rows))], names=["element", "id"])
    points = [shapely.Point(118.95 + 0.001 * k, 25.03) for k in range(len(rows))]
    return gpd.GeoDataFrame(pd.DataFrame(rows, index=index), geometry=points, crs=4326)


def test_level_from_isced_tag_before_name():
    rows = [
        {"amenity": "school", "name": "螺城中心小学"},
        {"amenity": "school", "name": "惠安第三中学", "isced:level": "1"},  # the tag wins over the name
        {"amenity": "school", "name": "Grundschule", "isced:level": "2"},
        {"amenity": "school", "name": "崇武初级中学"},
        {"amenity": "school", "name": "九年一贯制学校"},
        {"amenity": "school", "name": "惠安职业技术学校"},
        {"amenity": "kindergarten", "name": "螺城中心小学附属幼儿园"},
    ]
    frame = facilities_from_features(_features(rows))
    assert frame["type"].tolist() == [
        "primary_school",
        "primary_school",
        "middle_school",
        "middle_school",
        "primary_school",
        "school",
        "kindergarten",
    ]
    assert frame["function"].tolist() == ["education"] * 6 + ["childcare"]


def test_a_standard_without_the_group_skips_schools():
    # A county's own standard file without 学有所教: its schools are not read, nothing fails.
    standard = load_standard()
    county = dataclasses.replace(standard, groups=MappingProxyType({}))
    frame = facilities_from_features(
        _features([{"amenity": "school", "name": "螺城中心小学"}, {"amenity": "bank"}]), standard=county
    )
    assert frame["function"].tolist() == ["services"]


def test_demo_schools_are_routed_but_count_towards_no_function(demo_project):
    acc = accessibility(demo_project.network.cost_graph("walk"), demo_project.demand, demo_project.facilities)
    assert "education" not in acc.functions.groups  # no function's coverage counts a school
    assert "school" in acc.types.groups  # routed by type: its walking times exist
    assert (acc.facilities["function"] == "education").sum() == 3
