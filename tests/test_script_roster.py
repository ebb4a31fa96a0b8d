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


def _demo_linkage(tmp_path, demo_project, k: int, *extra):
    net = demo_project.network
    rng = np.random.default_rng(0)
    nodes = gpd.GeoSeries(shapely.points(net.node_xy), crs=net.crs).to_crs(4326)
    x0, y0, x1, y1 = shapely.box(*nodes.total_bounds).buffer(0.01).bounds
    grids = tmp_path / "grids.geojson"
    halves = [shapely.box(x0, y0, (x0 + x1) / 2, y1), shapely.box((x0 + x1) / 2, y0, x1, y1)]
    gpd.GeoDataFrame({"code": ["001", "002"]}, geometry=halves, crs=4326).to_file(grids)
    picks = nodes.iloc[rng.choice(len(nodes), 3, replace=False)]
    members = tmp_path / "在职党员.csv"
    pd.DataFrame({"姓名": ["甲", "乙", "丙"], "经度": picks.x, "纬度": picks.y}).to_csv(members, index=False)
    homes = tmp_path / "住户.geojson"
    gpd.GeoDataFrame(geometry=nodes.iloc[rng.choice(len(nodes), 40, replace=False)].to_numpy(), crs=4326).to_file(homes)
    out = tmp_path / "联系户.xlsx"
    code = _run(
        "--grids", grids, "--roster", members, "--role", "在职党员", "--system", "wgs84",
        "--project", "demo", "--households", homes, "--k", k, "--out", out, *extra,
    )  # fmt: skip
    assert code == 0
    return pd.read_excel(out, sheet_name=None, dtype={"网格编码": str})


def test_linkage_on_the_demo(tmp_path, demo_project):
    sheets = _demo_linkage(tmp_path, demo_project, 5, "--map", tmp_path / "联系户.png")
    linked = sheets["联系党员"]
    assert linked["联系户数"].tolist() == [5, 5, 5]
    assert sorted(linked["姓名"]) == ["丙*", "乙*", "甲*"]
    assert (linked["平均步行时间(分钟)"] > 0).all()
    assert linked["说明"].isna().all()  # no remark: every member has K
    unlinked = sheets["未联系户"]
    assert len(unlinked) == 40 - 15
    assert set(unlinked["网格编码"]) <= {"001", "002"}
    per_grid = sheets["联系户按网格"].set_index("网格编码")
    assert per_grid["住户"].sum() == 40
    assert per_grid["在职党员"].sum() == 3
    assert per_grid["已联系户"].sum() == 15
    assert per_grid["联系不足5户的党员"].sum() == 0
    # The unlinked households of each grid in the per-grid table are the rows of 未联系户.
    assert per_grid["未联系户"].to_dict() == {g: int((unlinked["网格编码"] == g).sum()) for g in per_grid.index}
    png = (tmp_path / "联系户.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000


def test_members_short_of_k_are_listed_per_grid(tmp_path, demo_project):
    # 3 members x 20 asked of 40 households: at least one member is short, and said so.
    sheets = _demo_linkage(tmp_path, demo_project, 20)
    linked = sheets["联系党员"]
    short = linked[linked["联系户数"] < 20]
    assert len(short) >= 1
    assert short["说明"].str.contains("联系不足 20 户").all()
    per_grid = sheets["联系户按网格"].set_index("网格编码")
    assert per_grid["联系不足20户的党员"].sum() == len(short)
    assert per_grid["已联系户"].sum() == linked["联系户数"].sum()
    assert per_grid["未联系户"].sum() == len(sheets["未联系户"]) == 40 - linked["联系户数"].sum()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--out", "x.csv"], "xlsx"),
        (["--out", "x.xlsx", "--project", "demo"], "--households"),
        (["--out", "x.xlsx", "--map", "m.png"], "--map"),
        (["--out", "x.xlsx", "--project", "demo", "--households", "h.geojson", "--map", "m.svg"], ".png"),
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
