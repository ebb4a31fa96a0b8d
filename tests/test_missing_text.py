"""An empty text cell in a planner's file stays empty text (or falls back to the code), never the
text "nan": pandas 3 keeps a missing value NaN through ``astype(str)``, and ``str(nan)`` is "nan"."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from geo.access.units import read_units
from geo.grids.imports import read_grids
from geo.grids.partition import generate_grids

X0, Y0 = 660_000.0, 2_760_000.0
EPSG = 32650


def _squares(rows: int, cols: int, households: float, size: float = 100.0) -> gpd.GeoDataFrame:
    geoms, ids = [], []
    for r in range(rows):
        for c in range(cols):
            x, y = X0 + c * size, Y0 - (r + 1) * size
            geoms.append(shapely.box(x, y, x + size, y + size))
            ids.append(f"U{r}{c}")
    return gpd.GeoDataFrame({"unit_id": ids, "households": households}, geometry=geoms, crs=EPSG)


def test_unit_file_with_an_empty_name_and_level_cell(tmp_path):
    path = tmp_path / "社区.geojson"
    gpd.GeoDataFrame(
        {"XZQDM": ["350521100001", "350521100002"], "XZQMC": ["西社区", None], "level": ["community", None]},
        geometry=[shapely.box(118.60, 24.90, 118.61, 24.91), shapely.box(118.61, 24.90, 118.62, 24.91)],
        crs=4326,
    ).to_file(path, driver="GeoJSON")
    units = read_units(path)
    assert units["name"].tolist() == ["西社区", "350521100002"]  # a nameless unit is named by its code
    assert units["level"].tolist() == ["community", ""]


def test_grid_file_with_an_empty_parent_cell(tmp_path):
    frame = gpd.GeoDataFrame(
        {
            "网格编码": ["35052110000101", "35052110000102"],
            "网格名称": ["一网格", "二网格"],
            "上级编码": ["350521100001", None],
        },
        geometry=[shapely.box(X0, Y0, X0 + 100, Y0 + 100), shapely.box(X0 + 100, Y0, X0 + 200, Y0 + 100)],
        crs=EPSG,
    ).to_crs(4326)
    path = tmp_path / "网格.geojson"
    frame.to_file(path, driver="GeoJSON")
    grids = read_grids(path)
    assert grids["parent"].tolist() == ["350521100001", ""]
    assert "nan" not in grids["parent"].tolist()


def test_parent_layer_with_an_empty_name_cell():
    units = _squares(2, 8, 50.0)
    west = shapely.box(X0, Y0 - 200, X0 + 400, Y0)
    east = shapely.box(X0 + 400, Y0 - 200, X0 + 800, Y0)
    parents = gpd.GeoDataFrame(
        {"code": ["350521100001", "350521100002"], "name": ["西社区", np.nan]}, geometry=[west, east], crs=EPSG
    )
    plan = generate_grids(units, parents, min_households=150, max_households=250)
    names = dict(zip(plan.parents["code"], plan.parents["name"], strict=True))
    assert names["350521100001"] == "西社区"
    assert names["350521100002"] in ("", "350521100002")  # never "nan"
