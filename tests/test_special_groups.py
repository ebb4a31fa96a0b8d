"""Special groups (高龄/空巢/困难群众) as demand weights: counted per compound or grid, weighting
coverage and placement, worked out by hand on a toy street (walk 4.0 km/h: 5 minutes = 333.3 m)."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo.access.coverage import ALL_UNITS, accessibility, assign_units, with_weight
from geo.access.coverage_tables import coverage_table
from geo.access.special_groups import count_special_groups, read_special_groups, special_group_columns
from geo.errors import InputDataError
from geo.placement.centers import place_centers
from tests.conftest import TOY_EPSG, X0, Y0, toy_network, toy_points


def _toy():
    """A 600 m street; a food shop at x=0; homes (compounds) at 50, 250 and 500 m.

    Within 5 minutes (333.3 m) of the shop: the homes at 50 and 250 m, not the one at 500 m.
    """
    net = toy_network([[(0, 0), (300, 0)], [(300, 0), (600, 0)]])
    demand = gpd.GeoDataFrame(
        {
            "name": ["甲花园", "乙小区", "丙苑"],
            "residents": [1000.0, 1000.0, 500.0],
            "households": [400.0, 400.0, 200.0],
            "高龄老人数": ["10", "３０人", "60"],
            "地址": ["", "建设路8号", ""],
        },
        geometry=toy_points([(50, 0), (250, 0), (500, 0)]).to_numpy(),
        crs=TOY_EPSG,
    )
    units = gpd.GeoDataFrame(
        {"code": ["W", "E"], "name": ["西网格", "东网格"]},
        geometry=[shapely.box(X0 - 10, Y0 - 50, X0 + 300, Y0 + 50), shapely.box(X0 + 300, Y0 - 50, X0 + 610, Y0 + 50)],
        crs=TOY_EPSG,
    )
    shop = gpd.GeoDataFrame(
        {"function": ["food"], "type": [""]}, geometry=toy_points([(0, 0)]).to_numpy(), crs=TOY_EPSG
    )
    return net, assign_units(demand, units), shop, units


def test_coverage_weighted_by_the_ledgers_elderly_counts():
    net, demand, shop, _ = _toy()
    demand = special_group_columns(demand)
    assert demand["oldest_old"].tolist() == [10.0, 30.0, 60.0]  # "３０人" read as 30
    acc = accessibility(net.cost_graph("walk"), demand, shop, minutes=5)
    plain = coverage_table(acc).set_index(["unit", "group"])
    # by residents: (1000 + 1000) / 2500 = 80 %
    assert plain.loc[(ALL_UNITS, "food"), "covered_pct"] == pytest.approx(80.0)
    weighted = coverage_table(with_weight(acc, "oldest_old")).set_index(["unit", "group"])
    # by 高龄 counts: (10 + 30) / (10 + 30 + 60) = 40 %; west grid 40/40, east 0/60
    assert weighted.loc[(ALL_UNITS, "food"), "basis"] == "oldest_old"
    assert weighted.loc[(ALL_UNITS, "food"), "population"] == pytest.approx(100.0)
    assert weighted.loc[(ALL_UNITS, "food"), "covered_pct"] == pytest.approx(40.0)
    assert weighted.loc[("W", "food"), "covered_pct"] == pytest.approx(100.0)
    assert weighted.loc[("E", "food"), "covered_pct"] == pytest.approx(0.0)
    # back to residents
    again = coverage_table(with_weight(with_weight(acc, "oldest_old"), None)).set_index(["unit", "group"])
    assert again.loc[(ALL_UNITS, "food"), "covered_pct"] == pytest.approx(80.0)


def test_records_counted_per_compound_address_position_and_grid(tmp_path):
    net, demand, shop, grids = _toy()
    east = gpd.GeoSeries(toy_points([(500, 3)]).to_numpy(), crs=TOY_EPSG).to_crs(4326)
    records = pd.DataFrame(
        {
            "姓名": ["甲", "乙", "丙", "丁", "戊", "己"],
            "类别": ["高龄", "高龄、空巢", "困难群众", "80岁以上老人", "低保", "其他"],
            "小区": ["甲小区", "", "", "", "", ""],
            "住址": ["", "福建省泉州市惠安县建设路８号2幢", "", "", "", ""],
            "经度": ["", "", f"{east.x.iat[0]:.7f}", "", "", ""],
            "纬度": ["", "", f"{east.y.iat[0]:.7f}", "", "", ""],
            "网格编码": ["", "", "", "E", "", ""],
        }
    )
    path = tmp_path / "特殊群体.csv"
    records.to_csv(path, index=False, encoding="gbk")
    read = read_special_groups(path, system="wgs84")
    assert "姓名" not in read.rows.columns and "name" not in read.rows.columns  # names never read
    counts = count_special_groups(read, demand, grids=grids)
    got = counts.demand
    # 甲 by compound (甲小区 = 甲花园), 乙 by address (the ledger's 建设路8号), 丁 by grid E (only 丙苑 in it)
    assert got["oldest_old"].tolist() == pytest.approx([1.0, 1.0, 1.0])
    assert got["empty_nest"].tolist() == pytest.approx([0.0, 1.0, 0.0])
    assert got["hardship"].tolist() == pytest.approx([0.0, 0.0, 1.0])  # 丙 by position, 3 m off 丙苑
    assert counts.counted == {"oldest_old": 3, "empty_nest": 1, "hardship": 1}
    assert counts.unmatched["line"].tolist() == [6, 7]
    assert "没有可匹配" in counts.unmatched["why"].iat[0]
    assert "类别不是" in counts.unmatched["why"].iat[1]
    assert set(counts.unmatched.columns) == {"line", "why"}  # nothing personal leaves
    acc = accessibility(net.cost_graph("walk"), counts.demand, shop, minutes=5)
    table = coverage_table(with_weight(acc, "oldest_old")).set_index(["unit", "group"])
    assert table.loc[(ALL_UNITS, "food"), "covered_pct"] == pytest.approx(200.0 / 3.0)  # 2 of 3


def test_a_grid_record_is_spread_by_residents():
    _net, demand, _shop, _ = _toy()
    grids = gpd.GeoDataFrame(
        {"code": ["ALL"]}, geometry=[shapely.box(X0 - 10, Y0 - 50, X0 + 610, Y0 + 50)], crs=TOY_EPSG
    )
    rows = pd.DataFrame(
        {"line": [2], "oldest_old": [True], "empty_nest": [False], "hardship": [False], "grid": ["ALL"]}
        | {"compound": [""], "address": [""], "lon": [float("nan")], "lat": [float("nan")]}
    )
    from geo.access.special_groups import SpecialGroupRecords

    counts = count_special_groups(SpecialGroupRecords(rows, "x"), demand, grids=grids)
    # residents 1000 : 1000 : 500 -> 0.4, 0.4, 0.2 of one person
    assert counts.demand["oldest_old"].tolist() == pytest.approx([0.4, 0.4, 0.2])


def test_placement_weighted_by_the_elderly_chooses_the_other_site():
    net, demand, _shop, _ = _toy()
    demand = special_group_columns(demand)
    graph = net.cost_graph("walk")
    cands = gpd.GeoDataFrame(geometry=toy_points([(0, 0), (600, 0)]).to_numpy(), crs=TOY_EPSG)
    # residents: x=0 covers 1000 + 1000 (homes at 50, 250 m), x=600 covers 500 (home at 500 m)
    by_residents = place_centers(graph, demand, cands, model="mclp", p=1, minutes=5)
    assert by_residents.sites["candidate"].tolist() == [0]
    # 高龄: x=0 covers 10 + 30 = 40, x=600 covers 60
    by_elderly = place_centers(graph, demand, cands, model="mclp", p=1, minutes=5, weight_column="oldest_old")
    assert by_elderly.sites["candidate"].tolist() == [1]
    assert by_elderly.solution.objective == pytest.approx(60.0)


def test_bad_weights_are_refused_in_chinese(tmp_path):
    net, demand, shop, _ = _toy()
    acc = accessibility(net.cost_graph("walk"), demand, shop, minutes=5)
    with pytest.raises(InputDataError, match="没有权重列「hardship」"):
        with_weight(acc, "hardship")
    with pytest.raises(InputDataError, match="全为 0"):
        with_weight(acc, "hardship", values=[0.0, 0.0, 0.0])
    with pytest.raises(InputDataError, match="非负数"):
        with_weight(acc, "hardship", values=[1.0, -1.0, 0.0])
    with pytest.raises(InputDataError, match="有 2 个值"):
        with_weight(acc, "hardship", values=[1.0, 1.0])
    assert dataclasses.replace(acc).weight is None
    path = tmp_path / "a.csv"
    path.write_text("姓名,小区\n甲,阳光花园\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="没有「类别」列"):
        read_special_groups(path)
    path.write_text("姓名,类别\n甲,高龄\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="找不到网格编码、小区、住址或经纬度列"):
        read_special_groups(path)


def test_scripts_weigh_the_guixi_coverage_and_placement_by_the_elderly(tmp_path):
    """Guixi's (made-up) compound ledger: coverage by 60岁以上人口 (elderly) is not coverage by residents."""
    from scripts.coverage import main as coverage_main
    from scripts.place_centers import main as place_main

    out = tmp_path / "cov"
    assert coverage_main(["--project", "guixi", "--out", str(out), "--no-maps", "-q", "--weight", "elderly"]) == 0
    summary = pd.read_excel(out / "coverage.xlsx", sheet_name="说明", dtype=str)
    assert summary["说明"].str.contains("weighted by elderly").any()
    table = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig")
    whole = table[table.iloc[:, 0] == ALL_UNITS]
    assert set(whole["人口口径"]) == {"老年人口"}  # every function counted over the elderly
    assert coverage_main(["--project", "guixi", "--out", str(tmp_path / "x"), "-q", "--weight", "nope"]) == 2
    gpkg = tmp_path / "sites.gpkg"
    args = ["--project", "guixi", "--model", "mclp", "--new", "1", "--weight", "elderly", "--out", str(gpkg), "-q"]
    assert place_main(args) == 0


def test_script_counts_a_list_of_individuals_on_the_guixi_ledger(tmp_path):
    """Three 高龄 records at two Guixi compounds and one nowhere: coverage over 3 people, one line listed."""
    from geo.project import load_project
    from scripts.coverage import main as coverage_main

    names = load_project("guixi").demand["name"].tolist()
    pd.DataFrame(
        {
            "姓名": ["甲", "乙", "丙", "丁"],
            "身份证号": ["350500194001010011"] * 4,
            "类别": ["高龄", "高龄、空巢", "80岁以上", "高龄"],
            "所在小区": [names[0], names[0].replace("花园", "小区"), names[1], "不存在小区"],
        }
    ).to_csv(tmp_path / "特殊群体.csv", index=False, encoding="gbk")
    out = tmp_path / "cov"
    args = ["--project", "guixi", "--out", str(out), "--no-maps", "-q", "--weight", "oldest_old"]
    assert coverage_main([*args, "--special-groups", str(tmp_path / "特殊群体.csv")]) == 0
    table = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig")
    whole = table[table.iloc[:, 0] == ALL_UNITS]
    assert set(whole["人口口径"]) == {"高龄老人"}
    assert set(whole.filter(like="人口 (人)").iloc[:, 0]) == {3.0}  # 3 counted, 1 not
    listed = pd.read_excel(out / "coverage.xlsx", sheet_name="特殊群体未计入")
    assert listed["行号"].tolist() == [5]
    book = pd.read_excel(out / "coverage.xlsx", sheet_name=None)
    text = " ".join(frame.to_csv() for frame in book.values())
    assert "甲" not in text and "350500194001010011" not in text  # nothing personal in the files
