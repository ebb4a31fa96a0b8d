"""``python -m scripts.grids``: the files it writes on the demo, parents, bad input (exit 2)."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from geo.grids.edits import apply_edit
from geo.grids.output import plan_from_dict
from geo.grids.plan import check_plan
from geo.project import load_project
from scripts.grids import main


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("grids") / "网格 结果" / "demo.gpkg"  # Chinese and a space in the path
    assert main(["--project", "demo", "--out", str(out), "-q"]) == 0
    return out


def test_demo_writes_every_output(demo_run):
    out = demo_run
    folder = out.parent
    assert {p.name for p in folder.iterdir()} == {
        "demo.gpkg",
        "demo.csv",
        "demo_issues.csv",
        "demo_tree.csv",
        "demo_tree.svg",
        "demo_tree.png",
        "demo.plan.json",
        "demo_orgchart.pdf",  # the organisation chart for the wall and its table (issue 20)
        "demo_orgchart.png",
        "demo_orgchart.xlsx",
    }
    assert {name for name, _ in pyogrio.list_layers(out)} == {"网格", "统计分区", "上级区划", "layer_styles"}
    grids = gpd.read_file(out, layer="网格")
    assert grids.crs.to_epsg() == 4326
    project = load_project("demo")
    assert grids["估算户数 (户)"].sum() == pytest.approx(project.demand["households"].sum(), abs=0.5)
    assert grids["估算户数 (户)"].between(300, 500).all()
    wanted = {"病有所医覆盖率 (%)", "病有所医设施数 (处)", "紧凑度 (4πA/P²)", "网格员", "责任支部", "问题"}
    assert wanted <= set(grids.columns)
    units = gpd.read_file(out, layer="统计分区")
    assert set(units["所属网格"]) == set(grids["网格编码"])
    table = pd.read_csv(folder / "demo.csv", encoding="utf-8-sig", dtype={"网格编码": str})
    assert table["网格编码"].tolist() == grids["网格编码"].tolist()
    assert (table["估算户数 (户)"] == table["估算户数 (户)"].round(0)).all()  # whole households for officials
    tree = pd.read_csv(folder / "demo_tree.csv", encoding="utf-8-sig", dtype=str)
    assert len(tree) == len(grids)


def test_saved_plan_can_be_edited(demo_run):
    plan = plan_from_dict(json.loads(demo_run.with_suffix(".plan.json").read_text("utf-8")))
    assert [i.kind for i in check_plan(plan) if i.severity == "error"] == []
    merged = apply_edit(plan, {"op": "merge", "grids": plan.codes[:2]}) if len(plan.codes) > 1 else plan
    assert len(merged.codes) == len(plan.codes) - 1


def test_parent_code_and_parent_file(tmp_path, capsys):
    out = tmp_path / "code.gpkg"
    args = ["--project", "demo", "--out", str(out), "-q", "--no-coverage"]
    assert main([*args, "--parent", "350521100001", "--min-households", "150", "--max-households", "250"]) == 0
    grids = gpd.read_file(out, layer="网格")
    assert f"网格 grids: {len(grids)}" in capsys.readouterr().out
    assert grids["网格编码"].str.startswith("350521100001").all()
    assert grids["网格编码"].str.len().eq(14).all()
    tree = pd.read_csv(tmp_path / "code_tree.csv", encoding="utf-8-sig", dtype=str)
    assert set(tree["社区/村"]) == {"北关社区居委会"} and set(tree["县区"]) == {"惠安县"}
    # two communities: west and east halves of the demo's extent
    project = load_project("demo")
    x0, y0, x1, y1 = project.network.edges_gdf().total_bounds
    mid = (x0 + x1) / 2
    halves = gpd.GeoDataFrame(
        {"编码": ["350521100001", "350521100002"], "名称": ["西", "东"]},
        geometry=[shapely.box(x0 - 10, y0 - 10, mid, y1 + 10), shapely.box(mid, y0 - 10, x1 + 10, y1 + 10)],
        crs=project.network.crs,
    ).to_crs(4326)
    path = tmp_path / "社区.geojson"
    halves.to_file(path, driver="GeoJSON")
    out = tmp_path / "file.gpkg"
    assert main(["--project", "demo", "--out", str(out), "-q", "--no-coverage", "--parent", str(path)]) == 0
    grids = gpd.read_file(out, layer="网格").to_crs(project.network.crs)
    parents = gpd.read_file(out, layer="上级区划").to_crs(project.network.crs).set_index("编码")
    for _, row in grids.iterrows():
        assert row["网格编码"][:12] == row["上级编码"]
        # inside its parent (within a millimetre of reprojection noise)
        assert row.geometry.difference(parents.loc[row["上级编码"], "geometry"].buffer(0.01)).area < 1.0


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--min-households", "600", "--max-households", "500"], "大于"),
        (["--min-households", "abc"], "不是数字"),
        (["--min-households", "0"], "超出范围"),
        (["--max-households", "nan"], "超出范围"),
        (["--max-households", "1e9"], "超出范围"),
        (["--seed", "-1"], "应在 [0, 2147483647]"),
        (["--seed", "x"], "不是整数"),
    ],
)
def test_bad_arguments_exit_2(tmp_path, capsys, extra, match):
    with pytest.raises(SystemExit) as exc:
        main(["--project", "demo", "--out", str(tmp_path / "x.gpkg"), "-q", *extra])
    assert exc.value.code == 2
    assert match in capsys.readouterr().err


def test_bad_out_suffix_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--project", "demo", "--out", str(tmp_path / "x.txt"), "-q"])
    assert exc.value.code == 2
    assert ".gpkg" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--parent", "350521999999"], "区划编码 350521999999 不在已知区划中"),
        (["--parent", "no_such_file.geojson"], "既不是已有文件"),
        (["--project", "nowhere"], "找不到项目"),
    ],
)
def test_bad_input_exit_2_in_chinese(tmp_path, capsys, extra, match):
    args = ["--project", "demo", "--out", str(tmp_path / "x.gpkg"), "-q", "--no-coverage", *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert match in err
    assert "Traceback" not in err and str(tmp_path) not in err
    assert not list(tmp_path.iterdir())


def test_bad_units_file_exit_2(tmp_path, capsys):
    path = tmp_path / "units.csv"
    path.write_text("名称,经度,纬度\n甲,24.94,60.17\n", encoding="utf-8")
    out = tmp_path / "x.gpkg"
    assert main(["--project", "demo", "--out", str(out), "-q", "--no-coverage", "--units", str(path)]) == 2
    assert "错误" in capsys.readouterr().err
    assert not out.exists()


def test_planner_units_and_water(tmp_path):
    from geo.grids.blocks import street_blocks

    project = load_project("demo")
    blocks = street_blocks(project.network.edges_gdf())
    path = tmp_path / "小区.geojson"
    blocks.rename(columns={"unit_id": "编码"})[["编码", "geometry"]].to_crs(4326).to_file(path, driver="GeoJSON")
    out = tmp_path / "units.gpkg"
    assert main(["--project", "demo", "--out", str(out), "-q", "--no-coverage", "--units", str(path)]) == 0
    units = gpd.read_file(out, layer="统计分区")
    assert sorted(units["单元编号"]) == sorted(blocks["unit_id"])
    assert units["估算户数 (户)"].sum() == pytest.approx(project.demand["households"].sum())
    # water over the west third of the extent: no block reaches into it
    x0, y0, x1, y1 = project.network.edges_gdf().total_bounds
    lake = shapely.box(x0 - 50, y0 - 50, x0 + (x1 - x0) / 3, y1 + 50)
    water = tmp_path / "水系.geojson"
    gpd.GeoDataFrame(geometry=[lake], crs=project.network.crs).to_crs(4326).to_file(water, driver="GeoJSON")
    out = tmp_path / "water.gpkg"
    assert main(["--project", "demo", "--out", str(out), "-q", "--no-coverage", "--water", str(water)]) == 0
    wet = gpd.read_file(out, layer="统计分区").to_crs(project.network.crs)
    assert wet.geometry.intersection(lake.buffer(-0.01)).area.sum() < 1.0
