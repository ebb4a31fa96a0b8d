"""Administrative boundaries of Quanzhou and Hui'an's division codes, offline.

The data are committed in ``data/boundaries/`` (built by
``python -m scripts.build_boundaries``; sources and licences in
``data/boundaries/PROVENANCE.md``):

* ``quanzhou.geojson``: Quanzhou city (350500) and its 12 counties/districts,
  Amap polygons converted from GCJ-02 to WGS84;
* ``huian_divisions.csv``: Hui'an's 16 township-level units (15 towns and
  百崎回族乡) and their villages/communities, names and codes only (no town
  polygons exist offline).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from geo import settings
from geo.errors import InputDataError

__all__ = [
    "BOUNDARIES_DIR",
    "COUNTY_ALIASES",
    "county",
    "huian_divisions",
    "load_boundaries",
]

#: Where the committed boundary files live.
BOUNDARIES_DIR: Path = settings.DATA_DIR / "boundaries"
QUANZHOU_GEOJSON = BOUNDARIES_DIR / "quanzhou.geojson"
HUIAN_DIVISIONS_CSV = BOUNDARIES_DIR / "huian_divisions.csv"

#: Pinyin aliases of the three target counties -> adcode.
COUNTY_ALIASES: dict[str, str] = {
    "huian": "350521",
    "hui'an": "350521",
    "anxi": "350524",
    "yongchun": "350525",
}


@lru_cache(maxsize=1)
def _boundaries() -> gpd.GeoDataFrame:
    if not QUANZHOU_GEOJSON.is_file():
        raise InputDataError(
            f"找不到边界文件 data/boundaries/{QUANZHOU_GEOJSON.name}，请运行 python -m scripts.build_boundaries "
            f"(boundary file missing; rebuild it)"
        )
    frame = gpd.read_file(QUANZHOU_GEOJSON)
    frame["adcode"] = frame["adcode"].astype(str)
    return frame.set_crs("EPSG:4326", allow_override=True)


def load_boundaries() -> gpd.GeoDataFrame:
    """Quanzhou city and its 12 counties/districts.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per unit (13), columns ``adcode`` (6-digit string), ``name``
        (Chinese), ``level`` (``"city"`` or ``"county"``) and ``geometry``
        (MultiPolygon), CRS EPSG:4326 (WGS84).  A fresh copy on every call.

    Raises
    ------
    InputDataError
        If ``data/boundaries/quanzhou.geojson`` is missing.
    """
    return _boundaries().copy()


def _key(text: str) -> str:
    return "".join(str(text).split()).lower().replace("’", "'")


def county(name_or_code: str) -> shapely.Geometry:
    """The WGS84 polygon of one county/district of Quanzhou.

    Parameters
    ----------
    name_or_code
        The Chinese name (``"惠安县"``, also without its suffix: ``"惠安"``), the
        6-digit adcode (``"350521"``), or a pinyin alias of the three target
        counties (``"huian"``, ``"anxi"``, ``"yongchun"``).

    Returns
    -------
    shapely.Geometry
        The county's (Multi)Polygon in WGS84 longitude/latitude.

    Raises
    ------
    InputDataError
        If the name or code is not a county/district of Quanzhou; the message
        lists the valid names.
    """
    frame = _boundaries()
    counties = frame[frame["level"] == "county"]
    key = _key(name_or_code)
    code = COUNTY_ALIASES.get(key, key)
    for _, row in counties.iterrows():
        name = row["name"]
        if code in (row["adcode"], name) or (len(name) > 2 and code == name[:-1]):
            return row.geometry
    valid = "、".join(f"{n}({c})" for n, c in zip(counties["name"], counties["adcode"], strict=True))
    aliases = ", ".join(sorted(COUNTY_ALIASES))
    raise InputDataError(
        f"未知的县区 {name_or_code!r}；可选：{valid}，或拼音 {aliases} "
        f"(unknown county {name_or_code!r}; use a Chinese name, a 6-digit adcode or one of {aliases})"
    )


@lru_cache(maxsize=1)
def _divisions() -> pd.DataFrame:
    if not HUIAN_DIVISIONS_CSV.is_file():
        raise InputDataError(
            f"找不到区划文件 data/boundaries/{HUIAN_DIVISIONS_CSV.name}，请运行 python -m scripts.build_boundaries "
            f"(division file missing; rebuild it)"
        )
    return pd.read_csv(HUIAN_DIVISIONS_CSV, dtype=str, encoding="utf-8")


def huian_divisions() -> pd.DataFrame:
    """Hui'an's towns and villages/communities (names and official codes).

    Returns
    -------
    pandas.DataFrame
        Columns ``level`` (``"town"`` or ``"village"``), ``code`` (9 digits for
        towns, 12 for villages; strings), ``name`` (Chinese) and ``parent_code``
        (the county code 350521 for towns, the town code for villages).  A fresh
        copy on every call.  There are no polygons for these units.

    Raises
    ------
    InputDataError
        If ``data/boundaries/huian_divisions.csv`` is missing.
    """
    return _divisions().copy()
