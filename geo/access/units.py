"""Area units (towns, communities, grids, any polygons) that coverage is counted by.

Units come from a planner's polygon file (through :func:`geo.io.uploads.read_upload`,
docs/bad-inputs.md U1-U16) or a project's ``[units]`` table; each has a ``code`` (e.g. the
12-digit community code) and a ``name``, and optionally a life-circle ``level``.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from geo.access.life_circle import area_type_of
from geo.errors import InputDataError
from geo.io.uploads import read_upload

__all__ = ["AREA_TYPE_NAMES", "CODE_NAMES", "LEVEL_ZH", "NAME_NAMES", "UNIT_LEVELS", "read_units"]

#: The unit layers a project may name, coarse to fine.
UNIT_LEVELS = ("town", "community", "grid")
LEVEL_ZH = {"town": "镇街", "community": "社区/村", "grid": "网格"}
#: Column names taken as the unit code / name (case-insensitive), in order of preference;
#: XZQDM / XZQMC are the usual field names of China's administrative-division layers.
CODE_NAMES = ("code", "编码", "代码", "网格编码", "区划代码", "xzqdm", "dm", "id")
NAME_NAMES = ("name", "名称", "网格名称", "区划名称", "xzqmc", "mc")
#: Column names taken as the unit's type, 城镇 or 乡村 (which life-circle standard checks it).
AREA_TYPE_NAMES = ("area_type", "城乡类型", "城乡")


def _find(columns, names) -> str | None:
    lower = {str(c).strip().lower(): c for c in columns}
    for name in names:
        if name.lower() in lower:
            return lower[name.lower()]
    return None


def _named(names: pd.Series, codes: pd.Series) -> pd.Series:
    """A unit's name, or its code where the name cell is empty (never the text "nan")."""
    text = names.fillna("").astype(str)
    return text.where(text.str.strip() != "", codes)


def read_units(
    path: Path,
    *,
    original_name: str | None = None,
    system: str = "wgs84",
    study_area: shapely.Geometry | None = None,
) -> gpd.GeoDataFrame:
    """Area units from a planner's polygon file: ``code``, ``name`` (and ``level``, ``area_type``), WGS84.

    ``area_type`` (from a column 城乡类型 / 类型 / area_type) is ``urban`` or ``rural``: a village
    is checked against the rural life circle (TD/T 1062-2021), a community of the county seat
    against GB 50180-2018 (:mod:`geo.access.life_circle`).

    Raises
    ------
    InputDataError
        No code column, empty or duplicated codes, a type that is neither 城镇 nor 乡村 (and every
        error of ``read_upload``).
    """
    path = Path(path)
    shown = original_name or path.name
    frame = read_upload(path, original_name=original_name, expected="polygon", system=system, study_area=study_area)
    code = _find(frame.columns, CODE_NAMES)
    if code is None:
        have = ", ".join(str(c) for c in frame.columns if c not in ("geometry", "line"))
        raise InputDataError(
            f"{shown} 没有编码列（code/编码/代码/XZQDM），现有列: {have} (area units need a code column)"
        )
    codes = frame[code].astype(str).str.strip()
    if (codes == "").any() or frame[code].isna().any():
        raise InputDataError(f"{shown} 有分区缺少编码 (a unit has no code)")
    if codes.duplicated().any():
        raise InputDataError(f"{shown} 中分区编码 {codes[codes.duplicated()].iloc[0]} 重复 (duplicate unit code)")
    name = _find(frame.columns, NAME_NAMES)
    units = gpd.GeoDataFrame(
        {"code": codes, "name": _named(frame[name], codes) if name is not None else codes},
        geometry=frame.geometry.to_numpy(),
        crs=frame.crs,
    )
    if "level" in frame.columns:
        units["level"] = frame["level"].fillna("").astype(str)
    kind = _find(frame.columns, AREA_TYPE_NAMES)
    if kind is not None:
        units["area_type"] = [
            area_type_of(v, where=f"{shown} 分区 {c} 的") if str(v or "").strip() and v == v else ""
            for c, v in zip(codes, frame[kind], strict=True)
        ]
    return units
