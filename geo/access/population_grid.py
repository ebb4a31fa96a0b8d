"""Residents from a population grid (persons per cell, WorldPop-style): an ESRI ASCII grid ``.asc``
with a stated CRS, or a polygon grid layer with a population column; one point per populated cell.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import CRSError, InputDataError
from geo.io.crs import WGS84, metric_crs, to_crs
from geo.io.uploads import MAX_UPLOAD_BYTES, check_area_of_use, check_study_area, read_upload

logger = logging.getLogger(__name__)

__all__ = ["ASC_KEYS", "GRID_COLUMNS", "GRID_HOUSEHOLD_NAMES", "GRID_POPULATION_NAMES", "residents_from_grid"]

# --------------------------------------------------------------------- population grid

#: Columns of ``residents_from_grid`` (besides ``geometry``).
GRID_COLUMNS = ("cell_id", "residents", "households", "source", "assumption")
#: Column names (compared stripped, case-insensitively) of a grid layer's persons per cell.
GRID_POPULATION_NAMES = ("人口", "人数", "人口数", "population", "pop", "residents")
#: Column names of a grid layer's households per cell (optional).
GRID_HOUSEHOLD_NAMES = ("户数", "households")
#: Header keys of an ESRI ASCII grid; ``nodata_value`` is optional.
ASC_KEYS = ("ncols", "nrows", "xllcorner", "xllcenter", "yllcorner", "yllcenter", "cellsize", "nodata_value")


def _read_ascii_grid(path: Path, label: str) -> tuple[np.ndarray, float, float, float]:
    """Values (rows top to bottom, NaN for no-data) and the lower-left cell corner and cell size."""
    size = path.stat().st_size if path.is_file() else -1
    if size < 0:
        raise InputDataError(f"人口格网文件不存在: {label} (population grid not found)")
    if size == 0:
        raise InputDataError(f"人口格网文件为空: {label} (empty file)")
    if size > MAX_UPLOAD_BYTES:
        raise InputDataError(f"人口格网文件过大: {label} ({size / 1e6:.0f} MB) (file too large)")
    try:
        text = path.read_bytes().decode("ascii")
    except UnicodeDecodeError as exc:
        raise InputDataError(f"{label} 不是 ESRI ASCII 格网（含非 ASCII 字符） (not an ESRI ASCII grid)") from exc
    lines = text.splitlines()
    header: dict[str, float] = {}
    body_start = 0
    for i, line in enumerate(lines):
        parts = line.split()
        if len(parts) != 2 or parts[0].lower() not in ASC_KEYS:
            break
        try:
            header[parts[0].lower()] = float(parts[1])
        except ValueError as exc:
            raise InputDataError(
                f"{label} 第 {i + 1} 行: {parts[0]} 的值 {parts[1][:20]!r} 不是数字 (bad header value)"
            ) from exc
        body_start = i + 1
    missing = [k for k in ("ncols", "nrows", "cellsize") if k not in header]
    if "xllcorner" not in header and "xllcenter" not in header:
        missing.append("xllcorner")
    if "yllcorner" not in header and "yllcenter" not in header:
        missing.append("yllcorner")
    if missing:
        raise InputDataError(
            f"{label} 缺少 ESRI ASCII 格网头 {missing}（需要 ncols、nrows、xllcorner、yllcorner、cellsize） "
            f"(missing ESRI ASCII grid header)"
        )
    ncols, nrows, cell = header["ncols"], header["nrows"], header["cellsize"]
    if not (ncols >= 1 and nrows >= 1 and ncols == int(ncols) and nrows == int(nrows)):
        raise InputDataError(f"{label} 的 ncols/nrows 应为正整数 (ncols/nrows must be positive integers)")
    if not (math.isfinite(cell) and cell > 0):
        raise InputDataError(f"{label} 的 cellsize={cell} 应为正数 (cellsize must be positive)")
    try:
        values = np.array(" ".join(lines[body_start:]).split(), dtype=float)
    except ValueError as exc:
        raise InputDataError(f"{label} 的格网值中有非数字 (non-numeric cell values)") from exc
    if values.size != int(ncols) * int(nrows):
        raise InputDataError(
            f"{label} 有 {values.size} 个格网值，应为 ncols × nrows = {int(ncols) * int(nrows)} "
            f"(cell count does not match the header)"
        )
    grid = values.reshape(int(nrows), int(ncols))
    if "nodata_value" in header:
        grid[grid == header["nodata_value"]] = np.nan
    x0 = header["xllcorner"] if "xllcorner" in header else header["xllcenter"] - cell / 2
    y0 = header["yllcorner"] if "yllcorner" in header else header["yllcenter"] - cell / 2
    return grid, x0, y0, cell


def _grid_cells_from_asc(path: Path, label: str, crs: object | None) -> tuple[gpd.GeoDataFrame, list[str], str]:
    """Cell centres (WGS84), cell ids and the source CRS of an ASCII grid; values in ``residents``."""
    grid, x0, y0, cell = _read_ascii_grid(path, label)
    if crs is None:
        prj = path.with_suffix(".prj")
        if not prj.is_file():
            raise CRSError(
                f"{label} 没有坐标系信息：请给出 crs（如 4326 即 WorldPop 的 WGS84 经纬度，或 4549）"
                f"或附带 .prj 文件；"
                f"不会默认按 WGS84 处理 (state the grid's CRS; it is never assumed)"
            )
        crs = prj.read_text(encoding="utf-8", errors="replace")
    src = to_crs(crs)
    nrows, ncols = grid.shape
    rows, cols = np.divmod(np.arange(grid.size), ncols)
    x = x0 + (cols + 0.5) * cell
    y = y0 + (nrows - rows - 0.5) * cell  # the first row of values is the northernmost
    frame = gpd.GeoDataFrame({"residents": grid.ravel()}, geometry=gpd.points_from_xy(x, y), crs=src)
    ids = [f"第 {r + 1} 行第 {c + 1} 列 (row {r + 1}, col {c + 1})" for r, c in zip(rows, cols, strict=True)]
    return check_area_of_use(frame, label), ids, src.to_string()


def residents_from_grid(
    path: Path,
    *,
    original_name: str | None = None,
    crs: object | None = None,
    population_column: str | None = None,
    study_area: shapely.Geometry | None = None,
) -> gpd.GeoDataFrame:
    """Residents from a population grid file: one demand point per populated cell.

    Two kinds of file are read (rasterio is not a dependency, so GeoTIFF is not):

    * ``.asc``: an ESRI ASCII grid of persons per cell (WorldPop exports it), parsed
      with numpy; its CRS is ``crs`` or a ``.prj`` beside it, never assumed.  Values
      equal to ``NODATA_value`` are no-data.
    * any polygon layer :func:`geo.io.uploads.read_upload` reads (GeoPackage, GeoJSON,
      zipped Shapefile) with a population column (人口/人数/population/pop/residents)
      and optionally 户数/households.

    Cells with no data (NaN) or 0 persons are left out (they need no service); the
    count of each is in ``attrs``.  Each point is the centre of its cell (for polygon
    cells the centroid, measured in the data's UTM zone).

    Parameters
    ----------
    path
        The grid file.
    original_name
        The name the planner gave the file, for messages; default ``path.name``.
    crs
        CRS of an ``.asc`` grid's coordinates (EPSG code or CRS; ``4326`` for WorldPop's
        WGS84 degrees, ``4549`` for CGCS2000 Gauss-Kruger metres).  Polygon layers
        carry their own CRS.
    population_column
        Name of the persons column of a polygon layer; ``None`` finds it by name.
    study_area
        Optional study area (WGS84 degrees); cells farther than
        :data:`geo.io.uploads.STUDY_AREA_MAX_DIST_M` from it are refused (wrong CRS).

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:4326 with the columns of :data:`GRID_COLUMNS`: ``cell_id``
        (row/column of a raster, feature number of a layer), ``residents`` (persons,
        float), ``households`` (from a 户数 column, else NaN), ``source`` =
        ``"grid"``.  ``attrs``: ``cells_nodata``, ``cells_zero``, ``source_crs``.

    Raises
    ------
    InputDataError
        Missing, empty, too large or malformed file; no population column; a negative
        or non-numeric population (the message names the cell); no populated cell.
    CRSError
        No CRS for an ``.asc``; cells outside the CRS's area of use or far from the
        study area.
    """
    path = Path(path)
    label = original_name or path.name
    suffix = Path(label).suffix.lower()
    households: np.ndarray
    if suffix in (".tif", ".tiff"):
        raise InputDataError(
            f"暂不支持 GeoTIFF 人口格网 {label}（需要 rasterio）；请在 GIS 软件中另存为 ESRI ASCII 格网 .asc，"
            f"或转为带人口字段的面格网 GeoPackage (GeoTIFF needs rasterio; save as .asc or a polygon grid)"
        )
    if suffix == ".asc":
        frame, ids, source_crs = _grid_cells_from_asc(path, label, crs)
        population = frame["residents"].to_numpy(dtype=float)
        households = np.full(len(frame), np.nan)
        points = frame.geometry.to_numpy()
    else:
        layer = read_upload(path, original_name=label, expected="polygon", study_area=study_area)
        source_crs = layer.attrs["source_crs"]
        columns = [c for c in layer.columns if c != layer.geometry.name]
        pop_col = population_column
        if pop_col is None:
            lowered = {str(c).strip().lower(): c for c in columns}
            pop_col = next((lowered[n] for n in GRID_POPULATION_NAMES if n in lowered), None)
        if pop_col is None or pop_col not in columns:
            raise InputDataError(
                f"人口格网 {label} 缺少人口列（可用列名: {'、'.join(GRID_POPULATION_NAMES)}）；现有列: {columns} "
                f"(population column not found)"
            )
        population = pd.to_numeric(layer[pop_col], errors="coerce").to_numpy(dtype=float)
        text_bad = np.flatnonzero(
            np.isnan(population)
            & layer[pop_col].notna().to_numpy()
            & (layer[pop_col].astype(str).str.strip() != "").to_numpy()
        )
        if text_bad.size:
            i = int(text_bad[0])
            raise InputDataError(
                f"人口格网 {label} 第 {i + 1} 个格网的 {pop_col}={str(layer[pop_col].iloc[i])[:20]!r} 不是数字"
                f"（共 {text_bad.size} 个） (population is not a number)"
            )
        hh_col = next((c for c in columns if str(c).strip().lower() in GRID_HOUSEHOLD_NAMES), None)
        households = (
            pd.to_numeric(layer[hh_col], errors="coerce").to_numpy(dtype=float)
            if hh_col
            else np.full(len(layer), np.nan)
        )
        ids = [f"第 {i + 1} 个格网 (cell {i + 1})" for i in range(len(layer))]
        xy = shapely.get_coordinates(layer.geometry.to_numpy())
        metric = metric_crs(xy[:, 0], xy[:, 1])
        points = layer.geometry.to_crs(metric).centroid.to_crs(WGS84).to_numpy()
    negative = np.flatnonzero(population < 0)
    if negative.size:
        i = int(negative[0])
        raise InputDataError(
            f"人口格网 {label} {ids[i]} 的人口为负数 {population[i]:g}（共 {negative.size} 个）；"
            f"无数据格网请留空或设为 NODATA (negative population)"
        )
    nodata = np.isnan(population)
    zero = population == 0
    keep = np.flatnonzero(~nodata & ~zero)
    if keep.size == 0:
        raise InputDataError(f"人口格网 {label} 中没有人口大于 0 的格网 (no populated cell)")
    out = gpd.GeoDataFrame(
        {
            "cell_id": [ids[i] for i in keep],
            "residents": population[keep],
            "households": households[keep],
            "source": "grid",
            "assumption": f"人口取自格网文件 {label}，每个格网以其中心点代表 (persons per cell from the grid)",
        },
        geometry=points[keep],
        crs=WGS84,
    )
    if study_area is not None and suffix == ".asc":
        check_study_area(out, study_area, label)
    out.attrs.update({"cells_nodata": int(nodata.sum()), "cells_zero": int(zero.sum()), "source_crs": source_crs})
    logger.info(
        "demand from grid %s: %d populated cells (%d no-data, %d zero), %.0f residents",
        label,
        len(out),
        int(nodata.sum()),
        int(zero.sum()),
        float(out["residents"].sum()),
    )
    return out
