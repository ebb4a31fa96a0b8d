"""Several grid systems overlaid and compared (多网合一), and a proposal that merges them.

The systems (e.g. 党建网格, 综治网格, 警务网格) are overlaid into their *common
refinement*: the pieces on which every system's grid is constant.  For a pair of systems,
a piece *agrees* when its grid in each system is the other's best match (the grid of the
other system it shares most area with); the rest is the pair's disagreement, measured in
m² and in households.  The merge proposal groups the refinement's pieces into grids within
the household bounds (:func:`generate_grids`), so every proposed boundary is a boundary of
one of the systems.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import settings
from geo.errors import CRSError, InputDataError
from geo.grids.blocks import point_units
from geo.grids.partition import generate_grids
from geo.grids.plan import GridPlan

logger = logging.getLogger(__name__)

__all__ = ["PAIR_HEADERS", "Comparison", "best_matches", "compare_systems", "disagreement_pieces", "merge_systems"]

PAIR_HEADERS = {
    "system_a": "网格体系甲",
    "system_b": "网格体系乙",
    "area_m2": "总面积 (m²)",
    "disagree_m2": "不一致面积 (m²)",
    "disagree_pct": "不一致面积占比 (%)",
    "households": "总户数 (户)",
    "disagree_households": "不一致户数 (户)",
}


@dataclass(frozen=True, eq=False)
class Comparison:
    """The overlay of several grid systems.

    Attributes
    ----------
    pieces
        The common refinement: ``piece``, ``code_<system>`` per system ("" where it has
        no grid), ``area_m2``, ``households``; projected CRS.
    pairs
        One row per pair of systems (:data:`PAIR_HEADERS`).
    disagreement
        The pieces where a pair disagrees: ``system_a``, ``system_b``, both codes,
        ``area_m2``, ``households``.
    systems
        The systems' names, in the order given.
    """

    pieces: gpd.GeoDataFrame
    pairs: pd.DataFrame
    disagreement: gpd.GeoDataFrame
    systems: tuple[str, ...]


def _overlay(systems: Mapping[str, gpd.GeoDataFrame], crs) -> gpd.GeoDataFrame:
    merged: gpd.GeoDataFrame | None = None
    for name, frame in systems.items():
        layer = gpd.GeoDataFrame(
            {f"code_{name}": frame["code"].astype(str).to_numpy()},
            geometry=shapely.make_valid(frame.to_crs(crs).geometry.to_numpy()),
            crs=crs,
        )
        merged = layer if merged is None else gpd.overlay(merged, layer, how="union", keep_geom_type=True)
    assert merged is not None
    merged = merged.explode(index_parts=False).reset_index(drop=True)
    merged = merged[merged.area > settings.GRID_AREA_TOLERANCE_M2].reset_index(drop=True)
    for name in systems:
        merged[f"code_{name}"] = merged[f"code_{name}"].fillna("").astype(str)
    return merged


def _best(codes_a: np.ndarray, codes_b: np.ndarray, area: np.ndarray) -> dict[str, str]:
    """For each code of ``a``, the code of ``b`` it shares most area with (ties: smallest code)."""
    frame = pd.DataFrame({"a": codes_a, "b": codes_b, "area": area})
    frame = frame[(frame["a"] != "") & (frame["b"] != "")]
    sums = frame.groupby(["a", "b"], as_index=False)["area"].sum().sort_values(["a", "area", "b"], ascending=[1, 0, 1])
    return dict(sums.drop_duplicates("a")[["a", "b"]].itertuples(index=False, name=None))


def compare_systems(systems: Mapping[str, gpd.GeoDataFrame], households: gpd.GeoDataFrame) -> Comparison:
    """Overlay grid systems and measure where each pair disagrees.

    Parameters
    ----------
    systems
        Name (e.g. ``党建``) -> grids with ``code`` and polygons; at least two.
    households
        Household points (buildings) with ``households``; the first system's CRS is
        used when projected, else a local UTM.

    Raises
    ------
    InputDataError
        Fewer than two systems, a system without ``code``, households without ``households``.
    CRSError
        A layer without a CRS.
    """
    if len(systems) < 2:
        raise InputDataError(f"至少需要两个网格体系，收到 {len(systems)} 个 (compare needs at least two grid systems)")
    for name, frame in systems.items():
        if "code" not in frame.columns:
            raise InputDataError(f"网格体系 {name} 缺少 code（编码）列 (grid system {name} needs a code column)")
        if frame.crs is None:
            raise CRSError(f"网格体系 {name} 没有坐标系 (grid system {name} has no CRS)")
    if "households" not in households.columns or households.crs is None:
        raise InputDataError("户数点需要 households 列和坐标系 (household points need a households column and a CRS)")
    first = next(iter(systems.values()))
    crs = first.crs if first.crs.is_projected else first.estimate_utm_crs()
    pieces = _overlay(systems, crs)
    geoms = pieces.geometry.to_numpy()
    points = households.to_crs(crs)
    where = point_units(geoms, points.geometry.to_numpy(), snap_m=0.0)
    hh = np.bincount(where[where >= 0], weights=points["households"].to_numpy(float)[where >= 0], minlength=len(pieces))
    pieces.insert(0, "piece", [f"P{i + 1:05d}" for i in range(len(pieces))])
    pieces["area_m2"] = shapely.area(geoms)
    pieces["households"] = hh
    names = tuple(systems)
    rows, parts = [], []
    area = pieces["area_m2"].to_numpy(float)
    for a, b in itertools.combinations(names, 2):
        ca, cb = pieces[f"code_{a}"].to_numpy(object), pieces[f"code_{b}"].to_numpy(object)
        best_ab, best_ba = _best(ca, cb, area), _best(cb, ca, area)
        agree = np.array(
            [x != "" and y != "" and best_ab.get(x) == y and best_ba.get(y) == x for x, y in zip(ca, cb, strict=True)]
        )
        off = ~agree
        rows.append(
            {
                "system_a": a,
                "system_b": b,
                "area_m2": float(area.sum()),
                "disagree_m2": float(area[off].sum()),
                "disagree_pct": float(100 * area[off].sum() / area.sum()) if area.sum() else 0.0,
                "households": float(hh.sum()),
                "disagree_households": float(hh[off].sum()),
            }
        )
        part = pieces.loc[off, ["piece", f"code_{a}", f"code_{b}", "area_m2", "households", "geometry"]]
        parts.append(part.rename(columns={f"code_{a}": "code_a", f"code_{b}": "code_b"}).assign(system_a=a, system_b=b))
    disagreement = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=crs)
    logger.info("grid systems: %d systems -> %d pieces", len(names), len(pieces))
    return Comparison(
        pieces=pieces, pairs=pd.DataFrame(rows, columns=list(PAIR_HEADERS)), disagreement=disagreement, systems=names
    )


def merge_systems(
    comparison: Comparison,
    parents: gpd.GeoDataFrame | None = None,
    *,
    min_households: float = settings.GRID_URBAN_MIN_HOUSEHOLDS,
    max_households: float = settings.GRID_URBAN_MAX_HOUSEHOLDS,
    seed: int = 0,
) -> GridPlan:
    """A merged grid system: the common refinement's pieces grouped into contiguous grids within the bounds.

    Every proposed grid is a union of whole pieces, so its boundary runs along the
    boundaries the systems already drew; pieces too small for the floor join their
    neighbours.

    Raises
    ------
    geo.errors.InputDataError
        Bad bounds (see :func:`generate_grids`).
    """
    units = comparison.pieces.rename(columns={"piece": "unit_id"})
    return generate_grids(units, parents, min_households=min_households, max_households=max_households, seed=seed)


def disagreement_pieces(comparison: Comparison) -> gpd.GeoDataFrame:
    """The pieces where at least one pair of systems disagrees, one row per piece.

    Returns
    -------
    geopandas.GeoDataFrame
        ``piece``, ``code_<system>`` per system, ``area_m2``, ``households``, ``pairs`` (the
        pairs that disagree there, ``甲/乙`` joined with "；"), ``systems`` (the systems in those
        pairs, joined with "、", in the comparison's order), in the comparison's CRS.
    """
    diff = comparison.disagreement
    names = comparison.systems
    pairs = (diff["system_a"] + "/" + diff["system_b"]).groupby(diff["piece"]).agg("；".join)
    involved = pd.concat(
        [
            diff[["piece", "system_a"]].set_axis(["piece", "s"], axis=1),
            diff[["piece", "system_b"]].set_axis(["piece", "s"], axis=1),
        ]
    )
    rank = {n: k for k, n in enumerate(names)}
    ordered = involved.drop_duplicates().assign(rank=lambda f: f["s"].map(rank)).sort_values(["piece", "rank"])
    systems = ordered.groupby("piece")["s"].agg("、".join)
    pieces = comparison.pieces[comparison.pieces["piece"].isin(pairs.index)].copy()
    pieces["pairs"] = pieces["piece"].map(pairs).to_numpy()
    pieces["systems"] = pieces["piece"].map(systems).to_numpy()
    return pieces.reset_index(drop=True)


def best_matches(comparison: Comparison, system: str) -> pd.DataFrame:
    """For each grid of ``system``: its best match in every other system and the share it holds.

    Returns
    -------
    pandas.DataFrame
        ``code`` (sorted), ``area_m2``, ``households`` of each grid of ``system``, and per other
        system ``match_<other>`` (the grid sharing most area, "" where none) and
        ``share_<other>`` (that shared area as a percentage of the grid's area).

    Raises
    ------
    InputDataError
        ``system`` is not one of the comparison's.
    """
    if system not in comparison.systems:
        raise InputDataError(f"没有名为 {system} 的网格体系 (no grid system {system!r})")
    pieces = comparison.pieces
    mine = pieces[f"code_{system}"].to_numpy(object)
    keep = mine != ""
    area = pieces["area_m2"].to_numpy(float)
    sums = pd.DataFrame({"code": mine[keep], "area_m2": area[keep], "households": pieces["households"][keep]})
    out = sums.groupby("code", as_index=False)[["area_m2", "households"]].sum().sort_values("code")
    for other in comparison.systems:
        if other == system:
            continue
        theirs = pieces[f"code_{other}"].to_numpy(object)
        best = _best(mine, theirs, area)
        both = pd.DataFrame({"a": mine, "b": theirs, "area": area})
        shared = both.groupby(["a", "b"])["area"].sum()
        out[f"match_{other}"] = out["code"].map(best).fillna("")
        held = [
            float(shared.get((a, b), 0.0)) if b else 0.0
            for a, b in zip(out["code"], out[f"match_{other}"], strict=True)
        ]
        out[f"share_{other}"] = np.round(100 * np.asarray(held) / out["area_m2"].to_numpy(float), 1)
    return out.reset_index(drop=True)
