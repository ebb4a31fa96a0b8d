"""The life-circle check per area (issue 21): GB 50180-2018 for the county seat, TD/T 1062-2021 for
villages and towns, the reach in the level's mode, the clause and 待核实 on every line, per-unit
judging where a whole area's population does not fit, and the standard data's fixes (养老院's level,
社区食堂 and 文化活动站, schools as their own group instead of childcare).

Toy streets are worked out by hand: walking 4.0 km/h = 0.9 s per metre, so 15 minutes is 1000 m;
an electric bicycle at 20 km/h rides 5000 m in 15 minutes.
"""

from __future__ import annotations

import io

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.access.coverage import ALL_UNITS, accessibility, assign_units
from geo.access.coverage_tables import coverage_table, standard_check
from geo.access.life_circle import CHECK_COLUMNS, area_type_of, life_circle_check, required_types
from geo.access.standards import STANDARD_FILES, UNCONFIRMED_ZH, load_standard, standard_by_key
from geo.access.units import read_units
from geo.access.vocabulary import load_vocabulary
from geo.errors import InputDataError
from geo.project import load_project
from geo.workflows import check_standard, load_analysis
from scripts import coverage as coverage_script
from tests.conftest import TOY_EPSG, X0, Y0, toy_network, toy_points


def _points(xy, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=toy_points(xy).to_numpy(), crs=TOY_EPSG)


def _box(x0, x1) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0 - 50, X0 + x1, Y0 + 50)


# ------------------------------------------------------------------------ the data


def test_standard_data_fixes():
    gb = load_standard()
    # 养老院 is a required 15-minute item; without a radius it is judged by the level's time.
    home = gb.facility_type("nursing_home")
    assert home.level == "15_minute" and home.radius_m is None and home.clause.startswith("GB 50180-2018")
    assert "nursing_home" in required_types(gb, "15_minute")
    assert gb.facility_type("community_canteen").function == "food"
    assert gb.facility_type("cultural_activity_station").level == "5_minute"
    # Schools are their own group (学有所教), not childcare.
    for key in ("primary_school", "middle_school"):
        assert gb.facility_type(key).function == "education"
    assert gb.groups["education"] == "学有所教" and "education" not in gb.functions
    # Every radius still marked "to be confirmed" in its note carries confirmed: false.
    for ft in gb.facility_types.values():
        if ft.note and "to be confirmed" in ft.note:
            assert not ft.confirmed, ft.key


def test_rural_standard_data_is_marked_unconfirmed():
    rural = standard_by_key("tdt1062")
    assert rural.code == "TD/T 1062-2021" and rural.area_type == "rural"
    assert set(rural.levels) == {"township", "village"}
    assert rural.levels["township"].mode == "ebike" and rural.levels["village"].mode == "walk"
    assert rural.levels["township"].includes == ("village",)
    # The same catalogue of types as GB 50180 (the OSM tags and the county's words mean the same).
    assert set(rural.facility_types) == set(load_standard().facility_types)
    judged = [ft for ft in rural.facility_types.values() if ft.level]
    assert {"community_health_station", "community_service_station", "nursing_home"} <= {ft.key for ft in judged}
    assert all(not ft.confirmed and "待核实" in (ft.clause or "") for ft in judged)
    with pytest.raises(InputDataError, match="标准 'x' 无效"):
        standard_by_key("x")
    assert set(STANDARD_FILES) == {"gb50180", "tdt1062"}


def test_area_types_and_their_bad_words():
    assert area_type_of("乡村") == "rural" and area_type_of("城镇") == "urban" and area_type_of("Rural") == "rural"
    with pytest.raises(InputDataError, match="城乡类型「郊区」无效"):
        area_type_of("郊区")


# ------------------------------------------------------- schools out of childcare


def test_schools_no_longer_count_as_childcare():
    """A 2000 m street: a primary school at 0, a kindergarten at 2000; homes at 100 and 1900 m.

    Old rule: the school was filed under 幼有所育, so the home at 100 m counted as covered for
    childcare within 15 minutes (1000 m) through the school alone: both homes, 100 %.  Now
    childcare counts the kindergarten only: the home at 1900 m (100 m away) is covered, the home
    at 100 m (1900 m away) is not -> 50 %; the school is a 学有所教 type row covering the home at 100 m.
    """
    net = toy_network([[(0, 0), (1000, 0)], [(1000, 0), (2000, 0)]])
    demand = _points([(100, 0), (1900, 0)], residents=[1000.0, 1000.0])
    facilities = _points(
        [(2000, 0), (0, 0)], function=["childcare", "education"], type=["kindergarten", "primary_school"]
    )
    acc = accessibility(net.cost_graph("walk"), demand, facilities, minutes=15)
    table = coverage_table(acc, by_unit=False).set_index("group")
    assert table.loc["childcare", "covered_pct"] == pytest.approx(50.0)
    assert table.loc["primary_school", "function"] == "education"
    assert table.loc["primary_school", "covered"] == pytest.approx(1000.0)  # the home at 100 m
    assert "education" not in set(table.loc[table["kind"] == "function"].index)
    # A radius not yet confirmed against the text says so beside its budget.
    assert table.loc["primary_school", "budget_note"].endswith("; 待核实)")
    # The old filing (school as childcare) gave both homes childcare within 15 minutes.
    old = facilities.assign(function=["childcare", "childcare"])
    before = coverage_table(accessibility(net.cost_graph("walk"), demand, old, minutes=15), by_unit=False)
    assert before.set_index("group").loc["childcare", "covered_pct"] == pytest.approx(100.0)


def test_the_county_words_for_schools_canteens_and_activity_stations():
    words = load_vocabulary()
    assert words.lookup("小学").functions == ("education",) and words.lookup("小学").type == "primary_school"
    assert words.lookup("科教文化服务;学校;初中").type == "middle_school"
    assert words.lookup("科教文化服务;学校;幼儿园").functions == ("childcare",)
    assert words.lookup("社区食堂").type == "community_canteen"
    assert words.lookup("文化活动站").type == "cultural_activity_station"
    assert words.lookup("学有所教").functions == ("education",)
    # 全部 (a neighbourhood centre) still means the functions, never the schools.
    assert "education" not in words.lookup("邻里中心").functions


# ------------------------------------------------------------------ per area


def _county_seat_and_village():
    """A 3000 m street: a county-seat community (x < 1000, 城镇) and a village (x >= 1000, 乡村).

    Homes: 100 m (community, 20,000 residents), 1500 m and 2800 m (village, 300 each).
    Facilities: a kindergarten at 0 (100 m from the community's home: within 300 m), a 村卫生室
    (community_health_station) at 2000 (500 m and 800 m from the village's homes: within the
    village's 15 walking minutes = 1000 m).
    """
    net = toy_network([[(0, 0), (1000, 0)], [(1000, 0), (3000, 0)]])
    demand = _points([(100, 0), (1500, 0), (2800, 0)], residents=[20000.0, 300.0, 300.0])
    facilities = _points(
        [(0, 0), (2000, 0)], function=["childcare", "medical"], type=["kindergarten", "community_health_station"]
    )
    units = gpd.GeoDataFrame(
        {"code": ["350521100001", "350521100201"], "name": ["城关社区", "后村"], "area_type": ["urban", "rural"]},
        geometry=[_box(-10, 1000), _box(1000, 3010)],
        crs=TOY_EPSG,
    )
    return net, demand, facilities, units


def test_village_unit_rural_and_county_seat_unit_urban():
    net, demand, facilities, units = _county_seat_and_village()
    acc = accessibility(net.cost_graph("walk"), assign_units(demand, units), facilities)
    check = life_circle_check(acc)
    assert list(check.columns) == list(CHECK_COLUMNS)
    seat = check[check["unit"] == "350521100001"].set_index("item")
    village = check[check["unit"] == "350521100201"].set_index("item")
    assert set(seat["standard"]) == {"GB 50180-2018"} and set(seat["level"]) == {"15_minute"}
    assert set(village["standard"]) == {"TD/T 1062-2021"} and set(village["level"]) == {"village"}
    assert set(seat["area_type"]) == {"城镇"} and set(village["area_type"]) == {"乡村"}
    # The kindergarten reaches the community's home (100 m <= 300 m); no 养老院 anywhere.
    assert seat.loc["kindergarten", "verdict"] == "pass"
    assert seat.loc["nursing_home", "verdict"] == "missing"
    # The village needs its own items (not GB 50180's): 村卫生室 within 1000 m on foot for both homes.
    assert village.loc["community_health_station", "verdict"] == "pass"
    assert village.loc["community_health_station", "measured"] == pytest.approx(100.0)
    assert "kindergarten" not in village.index and "community_health_station" not in seat.index
    assert village.loc["community_health_station", "reach"].startswith("步行 4 km/h，15 分钟 ≈ 1,000 m")
    # Every line names its clause; every figure not confirmed against the text says so.
    assert (check["clause"].str.len() > 0).all()
    assert village.loc["community_health_station", "clause"].startswith("TD/T 1062-2021")
    assert seat.loc["kindergarten", "clause"].startswith("GB 50180-2018")
    assert (village.drop(index="scale")["status"] == UNCONFIRMED_ZH).all()
    assert (check[check["item"] != "scale"]["reach"].str.len() > 0).all()
    assert set(check["note"].str.split("；").str[0]) == {"依据: 分区类型「城镇」", "依据: 分区类型「乡村」"}
    # The planner's choice wins over the units' types.
    both = life_circle_check(acc, override="tdt1062")
    assert set(both["standard"]) == {"TD/T 1062-2021"}
    assert set(both["note"].str.split("；").str[0]) == {"依据: 规划师指定 TD/T 1062-2021"}


def test_town_level_is_reached_by_electric_bicycle_or_a_chosen_speed():
    """A town (乡镇) whose health centre is 4500 m from the home: 13.5 min at 20 km/h (pass);
    at a chosen 10 km/h, 27 min > 15 (missing); on foot it would be 67.5 min."""
    net = toy_network([[(0, 0), (3000, 0)], [(3000, 0), (6000, 0)]])
    demand = _points([(500, 0)], residents=[8000.0])
    facilities = _points([(5000, 0)], function=["medical"], type=["community_health_centre"])
    units = gpd.GeoDataFrame(
        {"code": ["350521200"], "name": ["某乡"], "area_type": ["乡村"], "level": ["乡镇"]},
        geometry=[_box(-10, 6010)],
        crs=TOY_EPSG,
    )
    acc = accessibility(net.cost_graph("walk"), assign_units(demand, units), facilities)
    row = life_circle_check(acc).set_index("item").loc["community_health_centre"]
    assert row["level"] == "township" and row["verdict"] == "pass"
    assert row["reach"].startswith("电动自行车 20 km/h，15 分钟 ≈ 5,000 m")
    slow = life_circle_check(acc, speeds_kmh={"ebike": 10}).set_index("item").loc["community_health_centre"]
    assert slow["verdict"] == "missing" and slow["reach"].startswith("电动自行车 10 km/h，15 分钟 ≈ 2,500 m")
    # The town also needs the village items, on foot: the 村卫生室 line is there, walking.
    town = life_circle_check(acc).set_index("item")
    assert town.loc["community_health_station", "reach"].startswith("步行")
    with pytest.raises(InputDataError, match="速度"):
        life_circle_check(acc, speeds_kmh={"ebike": 500})


# --------------------------------------------------- population fit and per unit


def test_whole_area_outside_its_level_is_judged_per_unit_and_says_so():
    """20,600 residents as one area are outside 15-minute's 50,000-100,000: per community instead."""
    net, demand, facilities, units = _county_seat_and_village()
    acc = accessibility(net.cost_graph("walk"), demand, facilities)
    alone = life_circle_check(acc)
    assert set(alone["unit"]) == {ALL_UNITS}
    assert (alone[alone["item"] != "scale"]["verdict"] == "not_judged").all()
    assert alone.iloc[0]["verdict"] == "fail" and alone.iloc[0]["measured"] == pytest.approx(20600)
    assert "无法按分区判定" in alone.iloc[1]["note"] and "不按一个生活圈判定" in alone.iloc[1]["note"]
    assert "not_judged" not in set(alone["verdict"].iloc[:1])
    split = life_circle_check(acc, units={"community": units.drop(columns="area_type")})
    assert split.iloc[0]["unit"] == ALL_UNITS and split.iloc[0]["item"] == "scale"
    assert (split["unit"] == ALL_UNITS).sum() == 1  # only the scale line of the whole area
    assert set(split["unit"]) == {ALL_UNITS, "350521100001", "350521100201"}
    assert split["note"].str.contains("改为按社区/村逐个判定").all()
    per_unit = split[split["unit"] != ALL_UNITS].set_index(["unit", "item"])
    assert per_unit.loc[("350521100001", "kindergarten"), "verdict"] == "pass"
    assert per_unit.loc[("350521100201", "kindergarten"), "verdict"] == "missing"
    assert "not_judged" not in set(per_unit["verdict"])
    # A whole area that fits (10-minute: 15,000-25,000) is judged as one.
    ten = life_circle_check(acc, level="10_minute")
    assert set(ten["unit"]) == {ALL_UNITS} and "not_judged" not in set(ten["verdict"])
    assert ten.iloc[1]["note"].endswith("全域按一个生活圈判定")


def test_standard_check_keeps_its_signature_and_errors():
    net, demand, facilities, _ = _county_seat_and_village()
    acc = accessibility(net.cost_graph("walk"), demand, facilities)
    check = standard_check(acc, level="10_minute")
    assert set(check["standard"]) == {"GB 50180-2018"}
    with pytest.raises(InputDataError, match="生活圈等级"):
        standard_check(acc, level="village")  # a rural level with the urban standard
    with pytest.raises(InputDataError, match="生活圈等级"):
        life_circle_check(acc, level="20_minute")
    with pytest.raises(InputDataError, match="达标覆盖率"):
        life_circle_check(acc, required_pct=120)


# ------------------------------------------------------------- the demo and faces


def test_check_on_the_demo(tmp_path):
    """The demo (central Helsinki, 7,002 estimated residents, no units) against each standard."""
    analysis = load_analysis("demo")
    urban = check_standard(analysis)
    assert urban.iloc[0]["measured"] == pytest.approx(analysis.project.demand["residents"].sum())
    # Outside 15-minute's 50,000-100,000 and no communities: the lines say 未判定 and why.
    assert (urban[urban["item"] != "scale"]["verdict"] == "not_judged").all()
    assert "人口规模对应五分钟生活圈居住区" in urban.iloc[1]["note"]
    five = check_standard(analysis, level="5_minute").set_index("item")
    assert five.loc["scale", "verdict"] == "pass"
    assert set(five.drop(index="scale")["verdict"]) <= {"pass", "fail", "missing"}
    assert (five["clause"].str.startswith("GB 50180-2018")).all()
    assert (five.drop(index="scale")["status"] == UNCONFIRMED_ZH).all()
    rural = check_standard(analysis, standard="tdt1062").set_index("item")
    assert rural.loc["scale", "verdict"] == "no_range" and rural.loc["scale", "level"] == "township"
    assert rural.loc["post_office", "reach"].startswith("电动自行车 20 km/h")
    assert rural.loc["library", "reach"].startswith("步行 4 km/h")
    # By bicycle the town items reach at least as many residents as on foot would.
    assert rural.loc["post_office", "measured"] >= five.loc["community_service_station", "measured"]


def test_project_area_type_and_a_bad_one(tmp_path):
    good = tmp_path / "乡村.toml"
    good.write_text(
        'name = "乡村演示"\nnetwork = "demo"\nfacilities = "osm"\ndemand = "buildings"\narea_type = "乡村"\n',
        encoding="utf-8",
    )
    project = load_project(good)
    assert project.area_type == "rural"
    check = check_standard(load_analysis(project))
    assert set(check["standard"]) == {"TD/T 1062-2021"}
    assert check.iloc[0]["note"].startswith("依据: 项目类型「乡村」")
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "x"\nnetwork = "demo"\nfacilities = "osm"\ndemand = "buildings"\narea_type = "郊区"\n', encoding="utf-8"
    )
    with pytest.raises(InputDataError, match="area_type: 城乡类型「郊区」无效"):
        load_project(bad)


def test_unit_file_with_an_area_type_column(tmp_path):
    path = tmp_path / "村.geojson"
    frame = gpd.GeoDataFrame(
        {"编码": ["350521100201", "350521100001"], "名称": ["后村", "城关"], "城乡类型": ["乡村", "城镇"]},
        geometry=[shapely.box(24.93, 60.16, 24.94, 60.17), shapely.box(24.94, 60.16, 24.95, 60.17)],
        crs=4326,
    )
    frame.to_file(path, driver="GeoJSON")
    units = read_units(path)
    assert units["area_type"].tolist() == ["rural", "urban"]
    frame.assign(城乡类型=["郊区", "城镇"]).to_file(path, driver="GeoJSON")
    with pytest.raises(InputDataError, match="分区 350521100201 的城乡类型「郊区」无效"):
        read_units(path)


def test_coverage_script_writes_the_standard_beside_every_line(tmp_path, capsys):
    out = tmp_path / "out"
    code = coverage_script.main(
        ["--project", "demo", "--out", str(out), "--standard", "tdt1062", "--town-speed", "15", "--no-maps", "-q"]
    )
    assert code == 0
    check = pd.read_excel(out / "coverage.xlsx", sheet_name="达标检查")
    assert {"适用标准", "可达范围（出行方式、速度）", "标准条文", "核实状态", "判定说明"} <= set(check.columns)
    assert set(check["适用标准"]) == {"TD/T 1062-2021"}
    lines = check[check["检查项"].str.contains("邮政")]
    assert lines["可达范围（出行方式、速度）"].str.startswith("电动自行车 15 km/h").all()
    assert (check["核实状态"].fillna("") == UNCONFIRMED_ZH).all()
    notes = pd.read_excel(out / "coverage.xlsx", sheet_name="说明").set_index("项目")["说明"]
    assert notes["生活圈检查标准"] == "TD/T 1062-2021" and notes["标准选择"] == "规划师指定 tdt1062"


def test_coverage_script_refuses_a_bad_standard_or_speed(tmp_path):
    for args in (["--standard", "gb"], ["--town-speed", "0"], ["--rural-level", "county"]):
        with pytest.raises(SystemExit) as exc:
            coverage_script.main(["--project", "demo", "--out", str(tmp_path / "x"), *args])
        assert exc.value.code == 2
    assert not (tmp_path / "x").exists()


def test_web_export_takes_the_planners_standard(tmp_path):
    from webapp import create_app

    client = create_app({"TESTING": True, "instance_path": str(tmp_path / "instance")}).test_client()
    response = client.get("/api/export/coverage.xlsx?standard=tdt1062")
    assert response.status_code == 200
    check = pd.read_excel(io.BytesIO(response.data), sheet_name="达标检查")
    assert set(check["适用标准"]) == {"TD/T 1062-2021"}
    assert check["可达范围（出行方式、速度）"].str.len().gt(0).sum() == len(check) - 1  # all but the scale line
    default = pd.read_excel(io.BytesIO(client.get("/api/export/coverage.xlsx").data), sheet_name="达标检查")
    assert set(default["适用标准"]) == {"GB 50180-2018"}
    assert (default["结论"].iloc[1:] == "未判定（人口规模不符）").all()
    bad = client.get("/api/export/coverage.xlsx?standard=gb")
    assert bad.status_code in (400, 422) and "standard" in bad.get_data(as_text=True)
    assert np.isfinite(check["实测值"].astype(float)).all()


def _bad_rural(tmp_path, edit) -> object:
    import json

    raw = json.loads(STANDARD_FILES["tdt1062"].read_text(encoding="utf-8"))
    edit(raw)
    path = tmp_path / "tdt1062_2021.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "gb50180_2018.json").write_text(STANDARD_FILES["gb50180"].read_text(encoding="utf-8"), encoding="utf-8")
    return path


def test_bad_rural_standard_fields(tmp_path):
    cases = [
        (lambda r: r["levels"]["township"].update(mode="horse"), "出行方式 mode='horse' 无效"),
        (lambda r: r["levels"]["township"].update(includes=["county"]), "includes 含未知层级"),
        (lambda r: r["levels"]["village"].update(confirmed="yes"), "confirmed 应为 true/false"),
        (lambda r: r.update(groups={"medical": {"name_zh": "x"}}), "设施分组 'medical'"),
        (lambda r: r.update(extends="../gb50180_2018.json"), "extends"),
        (lambda r: r.update(area_type="suburb"), "area_type"),
        (lambda r: r["facility_types"]["library"].update(level="county"), "level='county' 无效"),
    ]
    for edit, message in cases:
        with pytest.raises(InputDataError, match=message):
            load_standard(_bad_rural(tmp_path, edit))
    assert load_standard(_bad_rural(tmp_path, lambda r: None)).code == "TD/T 1062-2021"


def test_report_page_names_the_standard_and_says_to_be_confirmed(tmp_path):
    import pypdf

    from geo.maps import report
    from geo.maps.layout import LayoutText

    net, demand, facilities, units = _county_seat_and_village()
    acc = accessibility(net.cost_graph("walk"), assign_units(demand, units), facilities)
    check = life_circle_check(acc)
    path = report.summary_report(coverage_table(acc), check, tmp_path / "摘要.pdf", text=LayoutText(title="摘要"))
    words = pypdf.PdfReader(path).pages[0].extract_text()
    assert "GB 50180-2018 / TD/T 1062-2021" in words
    assert "待核实" in words and "步行 4 km/h" in words
    assert "城关社区" in words  # checked per unit: each line names its unit


def test_project_with_communities_is_checked_per_community_by_their_types(tmp_path):
    """The demo split at 24.944°E into a county-seat community (west, 城镇) and a village (east, 乡村).

    Its 7,002 residents as one area are outside 15-minute's 50,000-100,000: the check runs per
    community, the west one by GB 50180-2018, the east one by TD/T 1062-2021's village level.
    """
    communities = gpd.GeoDataFrame(
        {"编码": ["350521100001", "350521100201"], "名称": ["西社区", "东村"], "城乡类型": ["城镇", "乡村"]},
        geometry=[shapely.box(24.93, 60.16, 24.944, 60.18), shapely.box(24.944, 60.16, 24.96, 60.18)],
        crs=4326,
    )
    communities.to_file(tmp_path / "社区.geojson", driver="GeoJSON")
    toml = tmp_path / "分区.toml"
    toml.write_text(
        'name = "分区演示"\nnetwork = "demo"\nfacilities = "osm"\ndemand = "buildings"\n'
        '[units]\ncommunity = "社区.geojson"\n',
        encoding="utf-8",
    )
    analysis = load_analysis(load_project(toml))
    check = check_standard(analysis)
    assert check.iloc[0]["unit"] == ALL_UNITS and check.iloc[0]["item"] == "scale"
    assert "改为按社区/村逐个判定" in check.iloc[0]["note"]
    west = check[check["unit"] == "350521100001"]
    east = check[check["unit"] == "350521100201"]
    assert set(west["standard"]) == {"GB 50180-2018"} and set(east["standard"]) == {"TD/T 1062-2021"}
    assert set(east["level"]) == {"village"} and set(east["unit_name"]) == {"东村"}
    residents = analysis.project.demand["residents"].sum()
    per_unit = check[(check["item"] == "scale") & (check["unit"] != ALL_UNITS)]["measured"].sum()
    assert per_unit == pytest.approx(residents)  # every resident lies in one of the two
    # The planner's choice: every community by GB 50180-2018.
    assert set(check_standard(analysis, standard="gb50180")["standard"]) == {"GB 50180-2018"}
