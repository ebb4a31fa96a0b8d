"""Existing grids read from a file and checked: codes, overlaps, gaps, nesting, bounds (hand-made polygons)."""

from __future__ import annotations

import geopandas as gpd
import openpyxl
import pytest
import shapely

from geo.errors import InputDataError
from geo.grids.imports import check_grids, read_grids

X0, Y0 = 660_000.0, 2_760_000.0
EPSG = 32650
COMMUNITY = "350521100001"


def box(x0: float, x1: float, y0: float = 0.0, y1: float = 200.0) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


@pytest.fixture()
def parents() -> gpd.GeoDataFrame:
    # one community 300 m x 200 m
    return gpd.GeoDataFrame({"code": [COMMUNITY], "name": ["北关社区"]}, geometry=[box(0, 300)], crs=EPSG)


def grids(rows: list[tuple[str, float, shapely.Polygon]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": [r[0] for r in rows], "households": [r[1] for r in rows]},
        geometry=[r[2] for r in rows],
        crs=EPSG,
    )


def by_kind(issues) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for i in issues:
        out.setdefault(i.kind, []).append(i.grid or i.parent)
    return out


def test_clean_grids_have_no_problem(parents):
    clean = grids([(f"{COMMUNITY}01", 400, box(0, 100)), (f"{COMMUNITY}02", 350, box(100, 300))])
    assert check_grids(clean, parents) == []


def test_every_problem_listed_with_its_code(parents):
    frame = grids(
        [
            (f"{COMMUNITY}01", 400, box(0, 100)),
            (f"{COMMUNITY}02", 250, box(100, 200)),  # below the floor of 300
            (f"{COMMUNITY}03", 600, box(190, 290)),  # above 500; overlaps 02 by 10 m x 200 m
            # 290-300 m: a gap of 10 m x 200 m = 2,000 m²
            (f"{COMMUNITY}03", 300, box(0, 50, 200, 250)),  # repeated code, 50 m x 50 m outside the community
            ("35052110000201", 300, box(0, 10, 0, 10)),  # no parent has the prefix 350521100002
            ("3505211000010A", 300, box(0, 10, 0, 10)),  # not digits
            ("3505211000011", 300, box(0, 10, 0, 10)),  # 13 digits
        ]
    )
    issues = check_grids(frame, parents)
    kinds = by_kind(issues)
    assert kinds["below_floor"] == [f"{COMMUNITY}02"]
    assert kinds["above_ceiling"] == [f"{COMMUNITY}03"]
    assert kinds["duplicate_code"] == [f"{COMMUNITY}03"]
    assert kinds["bad_parent_code"] == ["35052110000201", "3505211000011"]  # 010A: prefix is the community
    assert sorted(kinds["bad_code"]) == ["3505211000010A", "3505211000011"]
    assert kinds["outside_parent"] == [f"{COMMUNITY}03"]
    overlap = next(i for i in issues if i.kind == "overlap" and set(i.units) == {f"{COMMUNITY}02", f"{COMMUNITY}03"})
    assert "2,000 m²" in overlap.message and "重叠" in overlap.message
    gap = next(i for i in issues if i.kind == "gap")
    assert gap.parent == COMMUNITY and "2,000 m²" in gap.message  # 290-300 m strip
    outside = next(i for i in issues if i.kind == "outside_parent")
    assert "2,500 m²" in outside.message  # 50 m x 50 m above the community
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in i.message) for i in issues)  # Chinese messages


def test_holes_between_grids_without_parents():
    # a ring of four grids around an empty 100 m x 100 m hole
    ring = grids(
        [
            ("01", 400, box(0, 300, 0, 100)),
            ("02", 400, box(0, 300, 200, 300)),
            ("03", 400, box(0, 100, 100, 200)),
            ("04", 400, box(200, 300, 100, 200)),
        ]
    )
    gaps = [i for i in check_grids(ring) if i.kind == "gap"]
    assert len(gaps) == 1 and "10,000 m²" in gaps[0].message
    assert set(gaps[0].units) == {"01", "02", "03", "04"}


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_read_grids_from_a_file_with_chinese_columns(tmp_path, parents, suffix):
    frame = gpd.GeoDataFrame(
        {"网格编码": [f"{COMMUNITY}01", f"{COMMUNITY}02"], "网格名称": ["一网格", "二网格"], "户数": [400, 120]},
        geometry=[box(0, 100), box(100, 300)],
        crs=EPSG,
    ).to_crs(4326)
    path = tmp_path / f"网格{suffix}"
    frame.to_file(path)
    read = read_grids(path)
    assert read.crs.to_epsg() == 4326
    assert read["code"].tolist() == [f"{COMMUNITY}01", f"{COMMUNITY}02"]
    assert read["name"].tolist() == ["一网格", "二网格"]
    kinds = by_kind(check_grids(read, parents))
    assert kinds == {"below_floor": [f"{COMMUNITY}02"]}  # areas in UTM: no spurious gap or overlap


def test_a_grid_without_a_name_is_named_by_its_code(tmp_path):
    # A missing name (null in GeoJSON) stays missing through pandas' astype(str); it must not
    # become the grid's name "nan".
    path = tmp_path / "网格.geojson"
    frame = gpd.GeoDataFrame(
        {"网格编码": [f"{COMMUNITY}01", f"{COMMUNITY}02"], "网格名称": ["东片", None]},
        geometry=[box(0, 100), box(100, 300)],
        crs=EPSG,
    )
    frame.to_crs(4326).to_file(path)
    assert read_grids(path)["name"].tolist() == ["东片", f"{COMMUNITY}02"]


def test_file_without_code_column_is_refused(tmp_path):
    path = tmp_path / "x.geojson"
    gpd.GeoDataFrame({"名称": ["甲"]}, geometry=[box(0, 100)], crs=EPSG).to_crs(4326).to_file(path)
    with pytest.raises(InputDataError, match="没有网格编码列"):
        read_grids(path)


# ------------------------------------------------------------------------ the script


def test_script_import_checks_grids_of_the_demo(tmp_path, capsys):
    from geo.project import load_project
    from geo.workflows import study_area
    from scripts.grids import main

    project = load_project("demo")
    area = study_area(project)
    x0, y0, x1, y1 = area.bounds
    mid = (x0 + x1) / 2
    west, east = area.intersection(shapely.box(x0, y0, mid, y1)), area.intersection(shapely.box(mid, y0, x1, y1))
    frame = gpd.GeoDataFrame(
        {"网格编码": [f"{COMMUNITY}01", f"{COMMUNITY}02", f"{COMMUNITY}02"], "户数": [400, 120, 350]},
        geometry=[west, east, east.buffer(-50)],  # the third repeats the second's code and lies inside it
        crs=project.network.crs,
    ).to_crs(4326)
    source = tmp_path / "现有网格.geojson"
    frame.to_file(source)
    out = tmp_path / "checked.gpkg"
    args = ["--project", "demo", "--out", str(out), "--import", str(source), "--parent", COMMUNITY]
    assert main(args) == 0
    assert "网格 grids: 3" in capsys.readouterr().out
    layer = gpd.read_file(out, layer="网格")
    assert layer["网格编码"].tolist() == [f"{COMMUNITY}01", f"{COMMUNITY}02", f"{COMMUNITY}02"]
    assert layer["问题"].tolist()[0] == ""
    book = openpyxl.load_workbook(tmp_path / "checked_issues.xlsx")
    rows = list(book["问题"].iter_rows(values_only=True))
    assert rows[0] == ("级别", "类型", "网格", "上级", "说明", "单元")
    kinds = {(r[1], r[2]) for r in rows[1:]}
    assert ("网格编码重复", f"{COMMUNITY}02") in kinds
    assert ("网格重叠", f"{COMMUNITY}02") in kinds
    assert ("户数低于下限", f"{COMMUNITY}02") in kinds
    assert not any(k == "网格间空隙" for k, _ in kinds)  # west + east cover the study area


def test_script_import_of_a_missing_file_exits_2(tmp_path, capsys):
    from scripts.grids import main

    args = ["--project", "demo", "--out", str(tmp_path / "x.gpkg"), "--import", str(tmp_path / "none.geojson")]
    assert main(args) == 2
    assert "错误" in capsys.readouterr().err


def test_points_as_grids_are_refused_by_the_script(tmp_path, capsys):
    # docs BAD_INPUTS U16: the wrong geometry kind is named, exit 2, no output
    from scripts.grids import main

    path = tmp_path / "点.geojson"
    gpd.GeoDataFrame({"编码": ["35052110000101"]}, geometry=[shapely.Point(X0, Y0)], crs=EPSG).to_crs(4326).to_file(
        path
    )
    out = tmp_path / "x.gpkg"
    assert main(["--project", "demo", "--out", str(out), "--import", str(path)]) == 2
    err = capsys.readouterr().err
    assert "错误" in err and str(tmp_path) not in err
    assert not out.exists()


def test_bow_tie_grid_is_listed_as_invalid(parents):
    # docs BAD_INPUTS G5: a self-intersecting ring is named, the other checks still run on its repair
    bow = shapely.Polygon([(X0, Y0), (X0 + 300, Y0 + 200), (X0 + 300, Y0), (X0, Y0 + 200)])
    issues = check_grids(grids([(f"{COMMUNITY}01", 400, bow)]), parents)
    assert [i.grid for i in issues if i.kind == "invalid_geometry"] == [f"{COMMUNITY}01"]
    assert any(i.kind == "gap" for i in issues)  # the two triangles leave the community half empty
