"""``--crs`` on ``scripts.roster`` and ``scripts.batch`` (issue 21): CGCS2000 and its Gauss-Kruger zone.

Real data: the bundled demo (Helsinki: degrees only, no Chinese zone) and the Guixi streets
(about 117.2E: the 117E zone, EPSG:4548 without the zone prefix, 4527 with it).
"""

from __future__ import annotations

import sqlite3

import geopandas as gpd
import pandas as pd
import pytest

from scripts import batch, roster
from tests.test_script_roster import _demo_linkage, grids_file, roster_file  # noqa: F401


def _roster(*argv):
    return roster.main([*map(str, argv), "--quiet"])


def test_roster_names_its_crs_and_the_zone_of_its_grids(tmp_path, grids_file, roster_file):  # noqa: F811
    # The fixture's grids lie at 118.6E (Hui'an): the 120E zone, EPSG:4549 without the prefix.
    out = tmp_path / "名册.xlsx"
    assert _roster("--grids", grids_file, "--roster", roster_file, "--role", "网格员", "--out", out) == 0
    note = pd.read_excel(out, sheet_name="说明").set_index("项目").loc["坐标系", "说明"]
    assert "EPSG:4326" in note
    assert (
        _roster(
            "--grids", grids_file, "--roster", roster_file, "--role", "网格员", "--out", out, "--crs", "cgcs2000_gk"
        )
        == 0
    )
    note = pd.read_excel(out, sheet_name="说明").set_index("项目").loc["坐标系", "说明"]
    assert "EPSG:4549" in note and "第 40 带" in note and "视为相同" in note


def test_roster_unlinked_households_in_cgcs2000(tmp_path, demo_project):
    (tmp_path / "wgs").mkdir()
    (tmp_path / "cgcs").mkdir()
    wgs = _demo_linkage(tmp_path / "wgs", demo_project, 5)
    cgcs = _demo_linkage(tmp_path / "cgcs", demo_project, 5, "--crs", "4490")
    a, b = wgs["未联系户"], cgcs["未联系户"]
    assert list(a.columns[-2:]) == ["经度 (WGS84)", "纬度 (WGS84)"]
    assert list(b.columns[-2:]) == ["经度 (CGCS2000)", "纬度 (CGCS2000)"]
    assert len(a) == len(b) == 40 - 15
    # No datum shift (CGCS2000 = WGS84 at map accuracy): the same numbers under another name.
    assert b["经度 (CGCS2000)"].to_numpy() == pytest.approx(a["经度 (WGS84)"].to_numpy())
    assert "EPSG:4490" in cgcs["说明"].set_index("项目").loc["坐标系", "说明"]


def test_roster_zone_outside_china_exits_2_and_writes_nothing(tmp_path, demo_project, capsys):
    with pytest.raises(AssertionError):  # _demo_linkage asserts exit 0
        _demo_linkage(tmp_path, demo_project, 5, "--crs", "cgcs2000_gk")
    assert "3 度带" in capsys.readouterr().err
    assert not (tmp_path / "联系户.xlsx").exists()


def test_roster_unknown_crs_is_exit_2(tmp_path, grids_file, roster_file, capsys):  # noqa: F811
    with pytest.raises(SystemExit) as stop:
        _roster("--grids", grids_file, "--roster", roster_file, "--out", tmp_path / "x.xlsx", "--crs", "utm50")
    assert stop.value.code == 2 and "导出坐标系" in capsys.readouterr().err


def _srs(path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT table_name, srs_id FROM gpkg_contents WHERE data_type = 'features'"))


def test_batch_service_areas_of_guixi_in_its_zone(tmp_path):
    out = tmp_path / "批量"
    argv = ["service_areas", "--project", "guixi", "--out", str(out), "--workers", "1", "-q"]
    assert batch.main([*argv, "--service-minutes", "10", "--crs", "cgcs2000_gk"]) == 0
    (gpkg,) = out.glob("*/service_areas.gpkg")
    srs = _srs(gpkg)
    assert set(srs.values()) == {4548} and len(srs) == 2
    zoned = gpd.read_file(gpkg, layer=next(iter(srs)))
    assert zoned.total_bounds[0] > 300_000 and zoned.total_bounds[2] < 700_000  # metres, no zone prefix
    # The same rings in WGS84 (the default): areas agree within 0.5 % (zone scale near 1 at 117.2E).
    plain = tmp_path / "wgs"
    assert batch.main(["service_areas", "--project", "guixi", "--out", str(plain), "--workers", "1", "-q",
                       "--service-minutes", "10"]) == 0  # fmt: skip
    (gpkg84,) = plain.glob("*/service_areas.gpkg")
    assert set(_srs(gpkg84).values()) == {4326}
    utm = gpd.read_file(gpkg84, layer=next(iter(srs))).to_crs(32650).area.sum()
    assert zoned.area.sum() == pytest.approx(utm, rel=5e-3)


def test_batch_zone_outside_china_fails_that_area(tmp_path, capsys):
    out = tmp_path / "批量"
    argv = ["service_areas", "--project", "demo", "--out", str(out), "--workers", "1", "--retries", "0", "-q"]
    assert batch.main([*argv, "--service-minutes", "5", "--crs", "cgcs2000_gk_zone"]) == 1
    assert "3 度带" in capsys.readouterr().out
    status = pd.read_csv(out / "batch_summary.csv", encoding="utf-8-sig")
    assert status["error"].str.contains("3 度带").all()
    with pytest.raises(SystemExit) as stop:
        batch.main([*argv, "--crs", "epsg:9999"])
    assert stop.value.code == 2
