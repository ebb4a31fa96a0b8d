"""scripts.place_centers: the demo end to end, the GeoPackage it writes, and exit code 2 on bad input."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest

from scripts import place_centers


def test_mclp_on_the_demo_writes_a_ranked_plan(tmp_path, capsys):
    out = tmp_path / "选址 结果" / "plan.gpkg"  # Chinese and a space in the path (C4)
    assert (
        place_centers.main(
            ["--project", "demo", "--model", "mclp", "--new", "3", "--minutes", "5", "--out", str(out), "-q"]
        )
        == 0
    )
    layers = {name for name, _ in pyogrio.list_layers(out)}
    assert layers == {"新增中心", "备选站点", "居民点", "覆盖统计", "方案汇总", "layer_styles"}  # + QGIS styles
    sites = gpd.read_file(out, layer="新增中心")
    assert sites.crs.to_epsg() == 4326
    assert sites["排名"].tolist() == [1, 2, 3]
    summary = pyogrio.read_dataframe(out, layer="方案汇总")
    assert summary.loc[0, "状态"] == "已证明最优"
    # 3 centers, 5 minutes: 5,849 of the demo's 7,002 residents (the optimum, proven by HiGHS).
    assert summary.loc[0, "布点后覆盖人口 (人)"] == pytest.approx(5849.0, abs=1.0)
    assert sites["新增覆盖人口 (人)"].sum() == pytest.approx(summary.loc[0, "布点后覆盖人口 (人)"], abs=1e-6)
    demand = gpd.read_file(out, layer="居民点")
    assert len(demand) == 59 and demand.crs.to_epsg() == 4326
    coverage = pyogrio.read_dataframe(out, layer="覆盖统计")
    assert len(coverage) == 6
    text = capsys.readouterr().out
    assert "已证明最优" in text and "老有所养" in text
    assert not list(out.parent.glob(".tmp-*"))  # no temporary file left


def test_pmedian_and_lscp_run(tmp_path):
    out = tmp_path / "pm.gpkg"
    assert (
        place_centers.main(
            [
                "--project",
                "demo",
                "--model",
                "pmedian",
                "--new",
                "2",
                "--minutes",
                "5",
                "--method",
                "heuristic",
                "--out",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    assert len(gpd.read_file(out, layer="新增中心")) == 2
    out2 = tmp_path / "lscp.gpkg"
    assert place_centers.main(["--project", "demo", "--model", "lscp", "--minutes", "5", "--out", str(out2), "-q"]) == 0
    summary = pyogrio.read_dataframe(out2, layer="方案汇总")
    assert summary.loc[0, "新增中心数 (处)"] == 8  # the fewest 5-minute centers covering every demo building
    assert summary.loc[0, "布点后覆盖人口 (人)"] == pytest.approx(summary.loc[0, "估算人口 (人)"])


def test_existing_facilities_as_candidate_sites(tmp_path):
    from geo.project import load_project

    out = tmp_path / "fac.gpkg"
    args = ["--project", "demo", "--model", "mclp", "--new", "2", "--minutes", "5", "--candidates", "facilities"]
    assert place_centers.main([*args, "--out", str(out), "-q"]) == 0
    sites = gpd.read_file(out, layer="新增中心")
    assert len(sites) == 2 and set(sites["数据来源"]) == {"现有设施"}
    # every chosen site is one of the demo's OpenStreetMap facilities, named as there
    facilities = load_project("demo").facilities.to_crs(4326)
    assert set(sites["设施编号"]) <= set(facilities["facility_id"])
    mine = facilities.set_index("facility_id").loc[sites["设施编号"]]
    assert sites.geometry.x.to_numpy() == pytest.approx(mine.geometry.x.to_numpy(), abs=1e-9)
    assert sites.geometry.y.to_numpy() == pytest.approx(mine.geometry.y.to_numpy(), abs=1e-9)


def test_candidates_file_and_capacity(tmp_path):
    from geo.placement.candidates import network_candidates
    from geo.project import load_project

    project = load_project("demo")
    cands = network_candidates(project.network.cost_graph(project.profile)).to_crs(4326).iloc[[5, 20, 43]]
    path = tmp_path / "候选.csv"
    pd.DataFrame({"经度": cands.geometry.x, "纬度": cands.geometry.y}).to_csv(path, index=False)
    out = tmp_path / "cap.gpkg"
    assert (
        place_centers.main(
            [
                "--project",
                "demo",
                "--model",
                "mclp",
                "--new",
                "1",
                "--minutes",
                "5",
                "--capacity",
                "1000",
                "--candidates",
                str(path),
                "--out",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    summary = pyogrio.read_dataframe(out, layer="方案汇总")
    assert summary.loc[0, "目标值"] == pytest.approx(1000.0)  # one center, capacity 1,000 residents
    assert summary.loc[0, "容量内服务人口 (人)"] == pytest.approx(1000.0)
    sites = pyogrio.read_dataframe(out, layer="新增中心")
    assert sites["分配人口 (人)"].max() <= 1000.0 + 1e-6  # the site's table respects the capacity too


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "mclp", "--new", "0"], "超出范围"),
        (["--model", "mclp", "--new", "abc"], "不是整数"),
        (["--model", "mclp", "--new", "2", "--minutes", "nan"], "超出范围"),
        (["--model", "mclp", "--new", "2", "--minutes", "-15"], "超出范围"),
        (["--model", "mclp", "--new", "2", "--capacity", "0"], "超出范围"),
        (["--model", "mclp"], "需要 --new"),
        (["--model", "pcenter", "--new", "2"], "invalid choice"),
        (["--model", "mclp", "--new", "2", "--functions", ","], "请列出功能"),
        (["--model", "lscp", "--share", "1.5"], "超出范围"),
        (["--model", "mclp", "--new", "2", "--candidates", "/vsicurl/http://x/y.csv"], "不是现有文件"),
    ],
)
def test_bad_arguments_exit_2(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        place_centers.main(["--project", "demo", *args, "--out", str(tmp_path / "x.gpkg"), "-q"])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.gpkg").exists()


def test_bad_output_suffix_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        place_centers.main(["--project", "demo", "--model", "lscp", "--out", str(tmp_path / "x.shp"), "-q"])
    assert exc.value.code == 2
    assert ".gpkg" in capsys.readouterr().err


def test_bad_input_data_exit_2_with_a_chinese_message(tmp_path, capsys):
    # More new centers than candidate sites.
    path = tmp_path / "two.csv"
    pd.DataFrame({"经度": [24.94, 24.945], "纬度": [60.17, 60.171]}).to_csv(path, index=False)
    out = tmp_path / "x.gpkg"
    code = place_centers.main(
        ["--project", "demo", "--model", "mclp", "--new", "5", "--candidates", str(path), "--out", str(out), "-q"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "多于可选候选点" in err and "Traceback" not in err
    assert not out.exists()
    # A candidates file with no usable rows.
    empty = tmp_path / "empty.csv"
    empty.write_text("经度,纬度\n", encoding="utf-8")
    assert (
        place_centers.main(
            ["--project", "demo", "--model", "mclp", "--new", "1", "--candidates", str(empty), "--out", str(out), "-q"]
        )
        == 2
    )
    assert "错误" in capsys.readouterr().err
    # A function the project does not analyse (checked once the project is loaded).
    code = place_centers.main(
        ["--project", "demo", "--model", "mclp", "--new", "1", "--functions", "schools", "--out", str(out), "-q"]
    )
    assert code == 2
    assert "功能 'schools' 不在分析的功能中" in capsys.readouterr().err
    assert not out.exists()
