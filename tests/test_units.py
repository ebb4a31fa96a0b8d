"""Area units from planners' polygon files and from a project's [units] table."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from geo.access.units import read_units
from geo.errors import InputDataError
from geo.project import PROJECTS_DIR, load_project

# Two squares in central Helsinki (the demo extract), WGS84.
WEST = shapely.box(24.930, 60.160, 24.945, 60.175)
EAST = shapely.box(24.945, 60.160, 24.960, 60.175)


def _write(tmp_path, columns: dict, name="units.geojson", geoms=(WEST, EAST)):
    path = tmp_path / name
    gpd.GeoDataFrame(columns, geometry=list(geoms), crs=4326).to_file(path, driver="GeoJSON")
    return path


def test_chinese_and_gis_field_names(tmp_path):
    units = read_units(_write(tmp_path, {"XZQDM": ["350521100001", "350521100002"], "XZQMC": ["西", "东"]}))
    assert units["code"].tolist() == ["350521100001", "350521100002"]
    assert units["name"].tolist() == ["西", "东"]
    assert units.crs.to_epsg() == 4326
    units = read_units(_write(tmp_path, {"编码": ["1", "2"]}, name="b.geojson"))
    assert units["name"].tolist() == ["1", "2"]  # no name column: the code stands in


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"备注": ["a", "b"]}, "没有编码列"),
        ({"code": ["1", "1"]}, "重复"),
        ({"code": ["1", ""]}, "缺少编码"),
    ],
)
def test_bad_unit_files(tmp_path, columns, message):
    with pytest.raises(InputDataError, match=message):
        read_units(_write(tmp_path, columns))


def test_units_must_be_polygons(tmp_path):
    path = _write(tmp_path, {"code": ["1", "2"]}, geoms=(WEST.centroid, EAST.centroid))
    with pytest.raises(InputDataError):
        read_units(path)


def _project(tmp_path, units_toml: str):
    text = (PROJECTS_DIR / "demo.toml").read_text(encoding="utf-8") + "\n" + units_toml
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_project_units_table(tmp_path):
    _write(tmp_path, {"code": ["350521100001", "350521100002"], "name": ["西", "东"]}, name="社区.geojson")
    project = load_project(_project(tmp_path, '[units]\ncommunity = "社区.geojson"\n'))
    assert set(project.units) == {"community"}
    assert project.units["community"].crs == project.network.crs
    assert len(project.units["community"]) == 2


@pytest.mark.parametrize(
    ("toml", "message"),
    [('[units]\nprovince = "x.geojson"\n', "无效"), ('units = "x.geojson"\n', "应为表")],
)
def test_project_units_errors(tmp_path, toml, message):
    text = (PROJECTS_DIR / "demo.toml").read_text(encoding="utf-8")
    path = tmp_path / "p.toml"
    path.write_text(toml + text if not toml.startswith("[") else text + "\n" + toml, encoding="utf-8")
    with pytest.raises(InputDataError, match=message):
        load_project(path)
