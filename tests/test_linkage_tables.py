"""``geo.grids.linkage_tables``: the households a layer stands for, and the linkage's sheets (worked by hand)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.grids.linkage import Linkage
from geo.grids.linkage_tables import OUTSIDE_ZH, household_points, linkage_sheets
from geo.io.crs import export_crs


def test_household_points_repeat_each_point_by_its_rounded_count_and_take_a_point_inside_polygons():
    frame = gpd.GeoDataFrame(
        {"户数": [2.4, 0.6, -3, None]},
        geometry=[shapely.Point(0, 0), shapely.box(10, 10, 12, 12), shapely.Point(5, 5), shapely.Point(6, 6)],
        crs=32650,
    )
    homes = household_points(frame)
    # 2.4 -> 2, 0.6 -> 1, negative and blank -> 0
    assert len(homes) == 3 and homes.crs == frame.crs
    assert homes.iloc[0].equals(shapely.Point(0, 0)) and homes.iloc[1].equals(shapely.Point(0, 0))
    assert shapely.box(10, 10, 12, 12).contains(homes.iloc[2])
    # without a count column: one household per point
    assert len(household_points(frame.drop(columns="户数"))) == 4


def test_sheets_of_a_hand_made_linkage():
    # Two members (grid A; no grid), k=2; four households: 0, 1 -> member 0 (60 s, 120 s),
    # 2 -> member 1 (30 s), 3 unlinked (off the network).
    linkage = Linkage(
        household_member=np.array([0, 0, 1, -1]),
        household_time_s=np.array([60.0, 120.0, 30.0, np.nan]),
        member_count=np.array([2, 1]),
        k=2,
        total_time_s=210.0,
        method="min-cost flow",
        optimal=True,
    )
    homes = gpd.GeoSeries(shapely.points([(118.6, 25.0)] * 4), crs=4326)
    sheets = linkage_sheets(
        linkage,
        members=pd.DataFrame({"name": ["甲", "乙"], "phone": ["1", "2"]}),
        member_grid=np.array(["A", ""], dtype=object),
        member_ok=np.array([True, True]),
        radius_s=np.array([600.0, 900.0]),
        households=homes,
        household_grid=np.array(["A", "A", "", "A"], dtype=object),
        household_ok=np.array([True, True, True, False]),
        crs=export_crs("wgs84", lon=118.6, lat=25.0),
    )
    members = sheets["联系党员"].set_index("姓名")
    assert members.loc["甲", "平均步行时间(分钟)"] == 1.5 and members.loc["甲", "说明"] == ""  # (60 + 120) / 2 s
    assert members.loc["乙", "网格编码"] == OUTSIDE_ZH and "联系不足 2 户" in members.loc["乙", "说明"]
    assert members.loc["乙", "搜索半径(分钟)"] == 15
    unlinked = sheets["未联系户"]
    assert unlinked["住户序号"].tolist() == [4] and "距道路过远" in unlinked["说明"].iat[0]
    per_grid = sheets["联系户按网格"].set_index("网格编码")
    assert per_grid.loc["A"].tolist() == [1, 0, 3, 2, 1] and per_grid.loc[OUTSIDE_ZH].tolist() == [1, 1, 1, 1, 0]
