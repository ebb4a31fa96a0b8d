"""``python -m scripts.roster``: the roster XLSX, masked by default, and the "1+10" linkage on the demo."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from scripts import roster


@pytest.fixture
def grids_file(tmp_path):
    path = tmp_path / "grids.geojson"
    gpd.GeoDataFrame(
        {"code": ["350521001001", "350521001002"]},
        geometry=[shapely.box(118.59, 25.0, 118.60, 25.01), shapely.box(118.60, 25.0, 118.61, 25.01)],
        crs=4326,
    ).to_file(path)
    return path


@pytest.fixture
def roster_file(tmp_path):
    path = tmp_path / "网格员.csv"
    pd.DataFrame(
        {"姓名": ["张三", "李四"], "联系电话": ["13812341234", "13900001111"], "网格编码": ["350521001001", "1"]}
    ).to_csv(path, index=False, encoding="utf-8-sig")
    return path


def _run(*argv):
    return roster.main([*map(str, argv), "--quiet"])


def test_roster_xlsx_is_masked_with_codes_as_text(tmp_path, grids_file, roster_file, capsys):
    out = tmp_path / "名册.xlsx"
    assert _run("--grids", grids_file, "--roster", roster_file, "--role", "网格员", "--out", out) == 0
    rows = pd.read_excel(out, sheet_name="名册", dtype=str)
    assert rows["姓名"].tolist() == ["李*", "张*"]  # the unmatched row (no grid code) sorts first
    assert rows["联系电话"].tolist() == ["139****1111", "138****1234"]
    assert "不存在" in rows["说明"].iat[0]
    counts = pd.read_excel(out, sheet_name="网格人员", dtype=str).set_index("网格编码")
    assert counts.loc["350521001001", "网格员"] == "1"
    assert counts.loc["350521001001", "缺少"] == "网格长"
    assert "2 行" in capsys.readouterr().out


def test_show_personal_keeps_names_but_not_phones(tmp_path, grids_file, roster_file):
    out = tmp_path / "名册.xlsx"
    assert (
        _run("--grids", grids_file, "--roster", roster_file, "--role", "网格员", "--out", out, "--show-personal") == 0
    )
    rows = pd.read_excel(out, sheet_name="名册", dtype=str)
    assert sorted(rows["姓名"]) == ["张三", "李四"]
    assert sorted(rows["联系电话"]) == ["138****1234", "139****1111"]


def test_linkage_on_the_demo(tmp_path, demo_project):
    net = demo_project.network
    rng = np.random.default_rng(0)
    nodes = gpd.GeoSeries(shapely.points(net.node_xy), crs=net.crs).to_crs(4326)
    box = shapely.box(*nodes.total_bounds).buffer(0.01)
    grids = tmp_path / "grids.geojson"
    gpd.GeoDataFrame({"code": ["001"]}, geometry=[box], crs=4326).to_file(grids)
    picks = nodes.iloc[rng.choice(len(nodes), 3, replace=False)]
    members = tmp_path / "在职党员.csv"
    pd.DataFrame({"姓名": ["甲", "乙", "丙"], "经度": picks.x, "纬度": picks.y}).to_csv(members, index=False)
    homes = tmp_path / "住户.geojson"
    gpd.GeoDataFrame(geometry=nodes.iloc[rng.choice(len(nodes), 40, replace=False)].to_numpy(), crs=4326).to_file(homes)
    out = tmp_path / "联系户.xlsx"
    code = _run(
        "--grids", grids, "--roster", members, "--role", "在职党员", "--system", "wgs84",
        "--project", "demo", "--households", homes, "--k", 5, "--out", out,
    )  # fmt: skip
    assert code == 0
    linked = pd.read_excel(out, sheet_name="联系党员", dtype={"网格编码": str})
    assert linked["联系户数"].tolist() == [5, 5, 5]
    assert linked["姓名"].tolist() == ["甲*", "乙*", "丙*"]
    assert (linked["平均步行时间(分钟)"] > 0).all()
    assert len(pd.read_excel(out, sheet_name="未联系户")) == 40 - 15


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--out", "x.csv"], "xlsx"),
        (["--out", "x.xlsx", "--project", "demo"], "--households"),
    ],
)
def test_bad_arguments_exit_2(tmp_path, grids_file, roster_file, extra, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        _run("--grids", grids_file, "--roster", roster_file, "--role", "网格员", *extra)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_input_files_exit_2_in_chinese(tmp_path, grids_file, capsys):
    empty = tmp_path / "空.xlsx"
    empty.write_bytes(b"")
    assert _run("--grids", grids_file, "--roster", empty, "--role", "网格员", "--out", tmp_path / "o.xlsx") == 2
    assert "为空" in capsys.readouterr().err
    no_cols = tmp_path / "无列.csv"
    pd.DataFrame({"姓名": ["张三"], "备注": ["x"]}).to_csv(no_cols, index=False)
    assert _run("--grids", grids_file, "--roster", no_cols, "--role", "网格员", "--out", tmp_path / "o.xlsx") == 2
    assert "找不到网格编码" in capsys.readouterr().err
    assert _run("--grids", tmp_path / "无.geojson", "--roster", no_cols, "--out", tmp_path / "o.xlsx") == 2
    assert not (tmp_path / "o.xlsx").exists()
