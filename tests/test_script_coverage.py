"""``python -m scripts.coverage``: the files it writes on the demo, units, many projects, bad input."""

from __future__ import annotations

import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from geo.access.coverage import ALL_UNITS, accessibility
from geo.access.coverage_tables import coverage_table
from geo.project import PROJECTS_DIR, load_project
from scripts.coverage import main


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cov") / "覆盖 结果"  # Chinese and a space in the path
    assert main(["--project", "demo", "--out", str(out), "-q"]) == 0
    return out


def test_demo_writes_every_output(demo_run, capsys):
    out = demo_run
    assert {p.name for p in out.iterdir()} >= {"coverage.xlsx", "coverage.csv", "coverage.gpkg", "maps"}
    assert sorted(p.name for p in (out / "maps").glob("*.png")) == [
        f"coverage_{f}.png" for f in sorted(["elderly", "childcare", "medical", "food", "leisure", "services"])
    ]
    assert not list(out.glob(".tmp-*"))
    with pd.ExcelFile(out / "coverage.xlsx") as book:
        sheets = book.sheet_names
    assert sheets[:3] == ["说明", "汇总", "达标检查"]
    assert "病有所医" in sheets and "缺口" in sheets
    summary = pd.read_excel(out / "coverage.xlsx", sheet_name="汇总")
    assert {"覆盖率 (%)", "估算人口 (人)", "步行时间阈值 (分钟)"} <= set(summary.columns)
    notes = pd.read_excel(out / "coverage.xlsx", sheet_name="说明")
    assert notes["说明"].astype(str).str.contains("4 km/h").any()
    layers = {name for name, _ in pyogrio.list_layers(out / "coverage.gpkg")}
    assert layers == {"居民点", "设施", "覆盖缺口", "layer_styles"}  # layer_styles: QGIS styles
    demand = gpd.read_file(out / "coverage.gpkg", layer="居民点")
    assert demand.crs.to_epsg() == 4326 and len(demand) == 59
    assert {"病有所医步行时间 (分钟)", "病有所医已覆盖", "菜市场或生鲜超市步行时间 (分钟)"} <= set(demand.columns)


def test_demo_figures_equal_the_core(demo_run):
    # the CSV has Chinese headers and names (名称: the group's Chinese name), exact figures
    table = pd.read_csv(demo_run / "coverage.csv", dtype={"分区编码": str})
    project = load_project("demo")
    acc = accessibility(project.network.cost_graph("walk"), project.demand, project.facilities)
    core = coverage_table(acc)
    merged = table.merge(core, left_on=["分区编码", "名称"], right_on=["unit", "name_zh"])
    assert len(merged) == len(core)
    np.testing.assert_allclose(merged["覆盖人口 (人)"], merged["covered"], rtol=1e-9)
    medical = table[(table["分区编码"] == ALL_UNITS) & (table["名称"] == "病有所医")].iloc[0]
    demand = gpd.read_file(demo_run / "coverage.gpkg", layer="居民点")
    covered = demand.loc[demand["病有所医已覆盖"].astype(bool), "估算人口 (人)"].sum()
    assert medical["覆盖人口 (人)"] == pytest.approx(covered)


def _halves(tmp_path):
    project = load_project("demo")
    minx, miny, maxx, maxy = project.network.bounds
    mid = (minx + maxx) / 2
    units = gpd.GeoDataFrame(
        {"编码": ["350521100001", "350521100002"], "名称": ["西片区", "东片区"]},
        geometry=[shapely.box(minx, miny, mid, maxy), shapely.box(mid, miny, maxx, maxy)],
        crs=project.network.crs,
    ).to_crs(4326)
    path = tmp_path / "片区.geojson"
    units.to_file(path, driver="GeoJSON")
    return path


def test_units_from_a_polygon_file(tmp_path, capsys):
    out = tmp_path / "by"
    code = main(["--project", "demo", "--out", str(out), "--by", str(_halves(tmp_path)), "--no-maps", "-q"])
    assert code == 0
    table = pd.read_csv(out / "coverage.csv", dtype={"分区编码": str})
    medical = table[table["名称"] == "病有所医"].set_index("分区编码")
    assert set(medical.index) == {ALL_UNITS, "350521100001", "350521100002"}
    parts = medical.loc[["350521100001", "350521100002"]]
    assert parts["估算人口 (人)"].sum() == pytest.approx(medical.loc[ALL_UNITS, "估算人口 (人)"])
    assert parts["覆盖人口 (人)"].sum() == pytest.approx(medical.loc[ALL_UNITS, "覆盖人口 (人)"])
    assert medical.loc["350521100001", "分区名称"] == "西片区"
    units = gpd.read_file(out / "coverage.gpkg", layer="统计分区")
    assert {"病有所医覆盖率 (%)", "编码", "名称"} <= set(units.columns)
    check = pd.read_excel(out / "coverage.xlsx", sheet_name="达标检查", dtype={"分区编码": str})
    assert set(check["分区编码"]) == {"350521100001", "350521100002"}
    assert set(check["结论"]) <= {"达标", "不达标", "缺失", "无居民"}


def test_many_projects_in_parallel(tmp_path, capsys):
    other = tmp_path / "second.toml"
    shutil.copy(PROJECTS_DIR / "demo.toml", other)
    out = tmp_path / "many"
    code = main(["--project", "demo", str(other), "--out", str(out), "--workers", "2", "--no-maps", "-q"])
    assert code == 0
    assert (out / "demo" / "coverage.xlsx").is_file() and (out / "second" / "coverage.xlsx").is_file()
    summary = pd.read_csv(out / "coverage_summary.csv")
    assert len(summary) == 2 * 6
    first, second = (summary[summary["project_file"] == p] for p in summary["project_file"].unique())
    np.testing.assert_allclose(first["covered"].to_numpy(), second["covered"].to_numpy())
    assert "病有所医" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "town"], "没有镇街分区图层"),
        (["--by", "不存在.geojson"], "不存在"),
        (["--project", "nosuch"], "nosuch"),
        (["--level", "20_minute"], "生活圈等级"),
    ],
)
def test_bad_input_exits_2_with_a_message(tmp_path, capsys, args, message):
    argv = ["--project", "demo", "--out", str(tmp_path / "o"), "--no-maps", "-q", *args]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o" / "coverage.xlsx").exists()


@pytest.mark.parametrize(
    "args", [["--minutes", "0"], ["--minutes", "abc"], ["--elderly-share", "2"], ["--workers", "0"]]
)
def test_bad_arguments_exit_2(tmp_path, args):
    with pytest.raises(SystemExit) as exc:
        main(["--project", "demo", "--out", str(tmp_path / "o"), *args])
    assert exc.value.code == 2


def test_units_without_a_code_column(tmp_path, capsys):
    path = _halves(tmp_path)
    frame = gpd.read_file(path).rename(columns={"编码": "备注"})
    frame.to_file(path, driver="GeoJSON")
    assert main(["--project", "demo", "--out", str(tmp_path / "o"), "--by", str(path), "--no-maps", "-q"]) == 2
    assert "编码列" in capsys.readouterr().err


def test_by_community_from_the_project(tmp_path):
    units = gpd.read_file(_halves(tmp_path))
    units.to_file(tmp_path / "社区.geojson", driver="GeoJSON")
    text = (PROJECTS_DIR / "demo.toml").read_text(encoding="utf-8") + '\n[units]\ncommunity = "社区.geojson"\n'
    (tmp_path / "p.toml").write_text(text, encoding="utf-8")
    out = tmp_path / "o"
    code = main(["--project", str(tmp_path / "p.toml"), "--out", str(out), "--by", "community", "--no-maps", "-q"])
    assert code == 0
    table = pd.read_csv(out / "coverage.csv", dtype={"分区编码": str})
    assert {"350521100001", "350521100002"} <= set(table["分区编码"])


def test_the_network_cache_follows_linli_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LINLI_CACHE_DIR", str(tmp_path / "缓存 cache"))
    assert main(["--project", "demo", "--out", str(tmp_path / "out"), "--no-maps", "-q"]) == 0
    assert list((tmp_path / "缓存 cache" / "networks").iterdir())  # the demo's network was cached there
