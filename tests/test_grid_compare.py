"""Grid systems compared (多网合一) on hand-made polygons: disagreement per pair, and a merge proposal."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.errors import InputDataError
from geo.grids.compare import best_matches, compare_systems, disagreement_pieces, merge_systems
from geo.grids.plan import check_plan

X0, Y0 = 660_000.0, 2_760_000.0
EPSG = 32650


def box(x0: float, x1: float) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0, X0 + x1, Y0 + 200)


def system(cuts: list[float], prefix: str) -> gpd.GeoDataFrame:
    edges = [0.0, *cuts, 300.0]
    return gpd.GeoDataFrame(
        {"code": [f"{prefix}{k + 1}" for k in range(len(edges) - 1)]},
        geometry=[box(a, b) for a, b in itertools.pairwise(edges)],
        crs=EPSG,
    )


@pytest.fixture(scope="module")
def households() -> gpd.GeoDataFrame:
    # one household per 10 m x 10 m cell centre over 300 m x 200 m: 600 households, 1 per 100 m²
    xs, ys = np.meshgrid(np.arange(5, 300, 10.0), np.arange(5, 200, 10.0))
    pts = shapely.points(X0 + xs.ravel(), Y0 + ys.ravel())
    return gpd.GeoDataFrame({"households": np.ones(pts.size)}, geometry=pts, crs=EPSG)


@pytest.fixture(scope="module")
def comparison(households):
    systems = {
        "党建": system([120], "P"),  # P1 [0,120], P2 [120,300]
        "综治": system([100], "Z"),  # Z1 [0,100], Z2 [100,300]
        "警务": system([], "W"),  # W1 the whole
    }
    return compare_systems(systems, households)


def test_common_refinement(comparison):
    # pieces [0,100], [100,120], [120,300]
    pieces = comparison.pieces.sort_values("area_m2")
    assert pieces["area_m2"].tolist() == pytest.approx([4_000, 20_000, 36_000])
    assert pieces["households"].tolist() == pytest.approx([40, 200, 360])
    assert pieces.union_all().symmetric_difference(box(0, 300)).area == pytest.approx(0, abs=1e-6)  # no gap


def test_disagreement_per_pair(comparison):
    pairs = comparison.pairs.set_index(["system_a", "system_b"])
    # 党建/综治: P1<->Z1 and P2<->Z2 are best matches; the strip [100,120] (P1 but Z2) disagrees
    assert pairs.loc[("党建", "综治"), "disagree_m2"] == pytest.approx(4_000)
    assert pairs.loc[("党建", "综治"), "disagree_households"] == pytest.approx(40)
    # 党建/警务: W1's best match is P2 (36,000 m²), so P1 [0,120] disagrees
    assert pairs.loc[("党建", "警务"), "disagree_m2"] == pytest.approx(24_000)
    assert pairs.loc[("党建", "警务"), "disagree_households"] == pytest.approx(240)
    assert pairs.loc[("党建", "警务"), "disagree_pct"] == pytest.approx(40.0)
    # 综治/警务: W1's best is Z2 (40,000 m²), Z1 [0,100] disagrees
    assert pairs.loc[("综治", "警务"), "disagree_m2"] == pytest.approx(20_000)
    polys = comparison.disagreement
    one = polys[(polys["system_a"] == "党建") & (polys["system_b"] == "综治")]
    assert one["code_a"].tolist() == ["P1"] and one["code_b"].tolist() == ["Z2"]
    assert one.area.sum() == pytest.approx(4_000)


def test_identical_systems_agree_everywhere(households):
    same = compare_systems({"a": system([150], "A"), "b": system([150], "B")}, households)
    assert same.pairs["disagree_m2"].tolist() == [0.0] and len(same.disagreement) == 0
    assert disagreement_pieces(same).empty
    assert best_matches(same, "a")["match_b"].tolist() == ["B1", "B2"]


def test_merge_proposal_is_whole_pieces_within_bounds(comparison):
    plan = merge_systems(comparison, min_households=250, max_households=400)
    # 600 households in grids of 250-400: 2 grids; pieces of 200, 40, 360 -> {200+40} and {360}
    assert len(plan.codes) == 2
    hh = plan.units.groupby(plan.grid)["households"].sum().sort_values().tolist()
    assert hh == pytest.approx([240, 360])
    assert [i for i in check_plan(plan) if i.severity == "error"] == []


def test_one_system_is_refused(households):
    with pytest.raises(InputDataError, match="至少需要两个网格体系"):
        compare_systems({"a": system([], "A")}, households)


def test_best_match_of_each_grid_with_its_share(comparison):
    # P1 [0,120] = 24,000 m²: 20,000 in Z1 (83.3 %), 4,000 in Z2; all in W1.  P2 [120,300]: all in Z2 and W1.
    table = best_matches(comparison, "党建").set_index("code")
    assert table["area_m2"].tolist() == pytest.approx([24_000, 36_000])
    assert table["households"].tolist() == pytest.approx([240, 360])
    assert table["match_综治"].tolist() == ["Z1", "Z2"] and table["share_综治"].tolist() == [83.3, 100.0]
    assert table["match_警务"].tolist() == ["W1", "W1"] and table["share_警务"].tolist() == [100.0, 100.0]
    with pytest.raises(InputDataError, match="没有名为 党政 的网格体系"):
        best_matches(comparison, "党政")


def test_disagreement_per_piece_names_the_pairs_and_systems(comparison):
    # [0,100]: 党建/警务 (P1's best is W1, W1's best is P2) and 综治/警务 (Z1 likewise) disagree;
    # [100,120]: 党建/综治 (P1 vs Z2) and 党建/警务; [120,300] agrees in every pair.
    pieces = disagreement_pieces(comparison).sort_values("area_m2")
    assert pieces["area_m2"].tolist() == pytest.approx([4_000, 20_000])
    assert pieces["households"].tolist() == pytest.approx([40, 200])
    assert pieces["pairs"].tolist() == ["党建/综治；党建/警务", "党建/警务；综治/警务"]
    assert pieces["systems"].tolist() == ["党建、综治、警务", "党建、综治、警务"]
    assert pieces["code_党建"].tolist() == ["P1", "P1"] and pieces["code_综治"].tolist() == ["Z2", "Z1"]


# ------------------------------------------------------------------------ the script


def test_script_compare_on_the_demo(tmp_path, capsys):
    import openpyxl

    from geo.project import load_project
    from geo.workflows import study_area
    from scripts.grids import main

    project = load_project("demo")
    area = study_area(project)
    x0, y0, x1, y1 = area.bounds

    def cut(parts: int, prefix: str) -> gpd.GeoDataFrame:
        xs = np.linspace(x0, x1, parts + 1)
        geoms = [area.intersection(shapely.box(a, y0, b, y1)) for a, b in itertools.pairwise(xs)]
        frame = gpd.GeoDataFrame({"编码": [f"{prefix}{k + 1:02d}" for k in range(parts)]}, geometry=geoms, crs=area_crs)
        return frame.to_crs(4326)

    area_crs = project.network.crs
    files = []
    for name, parts in (("党建", 2), ("综治", 3)):
        path = tmp_path / f"{name}.geojson"
        cut(parts, "350521100001").to_file(path)
        files.append(str(path))
    out = tmp_path / "多网合一.gpkg"
    assert main(["--project", "demo", "--out", str(out), "--compare", *files, "--parent", "350521100001"]) == 0
    printed = capsys.readouterr().out
    assert "党建 / 综治: 不一致" in printed
    pieces = gpd.read_file(out, layer="对比分区")
    assert {"党建网格编码", "综治网格编码", "估算户数 (户)"} <= set(pieces.columns)
    households = project.demand["households"].sum()
    assert pieces["估算户数 (户)"].sum() == pytest.approx(households, abs=0.5)
    diff = gpd.read_file(out, layer="不一致")
    # halves vs thirds: the middle third's west half is 党建 01 but 综治 02 (best matched to 党建 02 or 01):
    # some, but not all, of the area disagrees
    assert 0 < len(diff) < len(pieces)
    merged = gpd.read_file(out, layer="合并方案")
    assert merged["网格编码"].str.startswith("350521100001").all()
    assert merged["估算户数 (户)"].sum() == pytest.approx(households, abs=0.5)
    book = openpyxl.load_workbook(tmp_path / "多网合一_compare.xlsx")
    assert book.sheetnames == ["两两对比", "合并方案"]
    header = [c.value for c in book["两两对比"][1]]
    assert header[:4] == ["网格体系甲", "网格体系乙", "总面积 (m²)", "不一致面积 (m²)"]


def test_script_compare_needs_two_files(tmp_path, capsys):
    from scripts.grids import main

    with pytest.raises(SystemExit) as exc:
        main(["--project", "demo", "--out", str(tmp_path / "x.gpkg"), "--compare", str(tmp_path / "a.geojson")])
    assert exc.value.code == 2 and "至少两个" in capsys.readouterr().err
