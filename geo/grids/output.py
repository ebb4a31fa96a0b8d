"""A grid plan as a table (GeoDataFrame with codes, households, coverage) and as JSON for the web app."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import InputDataError
from geo.grids.blocks import union_units
from geo.grids.plan import GridPlan, Issue, check_plan, list_field

logger = logging.getLogger(__name__)

__all__ = ["edits_of", "grid_coverage", "grid_members", "grids_gdf", "plan_from_dict", "plan_to_dict"]


def grids_gdf(
    plan: GridPlan, *, coverage: pd.DataFrame | None = None, issues: Sequence[Issue] | None = None
) -> gpd.GeoDataFrame:
    """One row per grid: polygon, households, residents, facilities, shape index, fields, flags.

    Parameters
    ----------
    plan
        The plan.
    coverage
        Optional :func:`grid_coverage` table (``code`` x ``pct_<function>``) joined on.
    issues
        The plan's :func:`check_plan` result when already at hand (an edit's), for the flags.

    Returns
    -------
    geopandas.GeoDataFrame
        ``code``, ``parent``, ``number``, ``name``, ``units``, ``households``,
        ``residents``, ``area_m2``, ``polsby_popper`` (4πA/P², 1 for a disc),
        ``hull_ratio`` (area / convex hull area), ``fac_<function>``, the editable
        fields (``central_households`` joined with "、"), ``flags`` (issue kinds), in
        the plan's CRS, sorted by code.
    """
    units = plan.units
    sel = plan.grid != ""
    codes, inv = np.unique(plan.grid[sel], return_inverse=True)
    geoms = units.geometry.to_numpy()[sel]
    order = np.argsort(inv, kind="stable")
    bounds = np.searchsorted(inv[order], np.arange(codes.size + 1))
    polys = np.array(
        [union_units(geoms[order[bounds[k] : bounds[k + 1]]], coverage=plan.coverage) for k in range(codes.size)],
        dtype=object,
    )
    area = shapely.area(polys)
    perimeter = shapely.length(shapely.boundary(polys)) if polys.size else np.zeros(0)
    hull = shapely.area(shapely.convex_hull(polys)) if polys.size else np.zeros(0)
    frame = pd.DataFrame({"code": codes.astype(str)})
    frame["parent"] = pd.Series(units["parent"].to_numpy(object)[sel]).groupby(inv).first().to_numpy()
    frame["number"] = [c[len(p) :] for c, p in zip(frame["code"], frame["parent"], strict=True)]
    frame["name"] = [str(plan.fields.get(c, {}).get("name", "")) for c in frame["code"]]
    frame["units"] = np.bincount(inv, minlength=codes.size)
    for column in ("households", "residents"):
        frame[column] = np.bincount(inv, weights=units[column].to_numpy(float)[sel], minlength=codes.size).round(1)
    frame["area_m2"] = area.round(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["polsby_popper"] = np.where(perimeter > 0, 4 * np.pi * area / perimeter**2, np.nan).round(3)
        frame["hull_ratio"] = np.where(hull > 0, area / hull, np.nan).round(3)
    for column in sorted(c for c in units.columns if str(c).startswith("fac_")):
        frame[column] = np.bincount(inv, weights=units[column].to_numpy(float)[sel], minlength=codes.size).astype(int)
    for key in ("grid_member", "branch"):
        frame[key] = [str(plan.fields.get(c, {}).get(key, "")) for c in frame["code"]]
    frame["central_households"] = [
        "、".join(str(n) for n in list_field(plan.fields.get(c, {}).get("central_households"))) for c in frame["code"]
    ]
    flags: dict[str, list[str]] = {}
    for issue in check_plan(plan) if issues is None else issues:
        if issue.grid:
            flags.setdefault(issue.grid, []).append(issue.kind)
    frame["flags"] = [",".join(sorted(set(flags.get(c, [])))) for c in frame["code"]]
    if coverage is not None and len(coverage):
        frame = frame.merge(coverage, on="code", how="left")
    return gpd.GeoDataFrame(frame, geometry=polys, crs=units.crs)


def grid_coverage(plan: GridPlan, acc, *, grids: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """Coverage of each grid per function (percent of residents within the budget).

    Parameters
    ----------
    plan
        The plan (in the CRS of ``acc.demand`` or reprojectable to it).
    acc
        :class:`geo.access.coverage.Accessibility` of the same area.

    Returns
    -------
    pandas.DataFrame
        ``code`` and ``pct_<function>`` per function (NaN where a grid has no residents).
    """
    from geo.access.coverage import assign_units
    from geo.access.coverage_tables import coverage_table

    polys = (grids_gdf(plan) if grids is None else grids)[["code", "name", "geometry"]]
    demand = assign_units(acc.demand, polys.to_crs(acc.demand.crs))
    table = coverage_table(dataclasses.replace(acc, demand=demand))
    table = table[(table["kind"] == "function") & (table["unit"].isin(polys["code"]))]
    wide = table.pivot_table(index="unit", columns="group", values="covered_pct", dropna=False)
    wide.columns = [f"pct_{c}" for c in wide.columns]
    wide = wide.round(1).reset_index().rename(columns={"unit": "code"})
    return wide


# ------------------------------------------------------------------------------ JSON


def plan_to_dict(plan: GridPlan) -> dict:
    """A JSON-serialisable dict of the plan (geometries as WKB hex, so exact)."""
    units = plan.units
    extra = [c for c in units.columns if c not in ("unit_id", "parent", "geometry")]
    return {
        "version": 1,
        "crs": units.crs.to_wkt(),
        "units": {
            "unit_id": units["unit_id"].astype(str).tolist(),
            "parent": units["parent"].astype(str).tolist(),
            "columns": {c: units[c].tolist() for c in extra},
            "wkb": shapely.to_wkb(units.geometry.to_numpy(), hex=True).tolist(),
        },
        "parents": {
            "code": plan.parents["code"].astype(str).tolist(),
            "name": plan.parents["name"].astype(str).tolist(),
            "wkb": shapely.to_wkb(plan.parents.geometry.to_numpy(), hex=True).tolist(),
        },
        "adjacency": plan.adjacency.tolist(),
        "overlaps": plan.overlaps.tolist(),
        "gaps_m2": dict(plan.gaps_m2),
        "grid": plan.grid.tolist(),
        "fields": {c: dict(f) for c, f in plan.fields.items()},
        "min_households": plan.min_households,
        "max_households": plan.max_households,
        "notes": [i.to_dict() for i in plan.notes],
        "history": [
            {"op": op, "grid": g.tolist(), "fields": {c: dict(f) for c, f in fl.items()}} for op, g, fl in plan.history
        ],
        "seed": plan.seed,
        "plan_version": plan.version,
    }


def plan_from_dict(data: Mapping) -> GridPlan:
    """The plan of :func:`plan_to_dict`.

    Raises
    ------
    InputDataError
        If the dict is not a plan of a known version.
    """
    try:
        if data.get("version") != 1:
            raise InputDataError(f"网格方案版本 {data.get('version')!r} 不支持 (unsupported plan version)")
        u = data["units"]
        units = gpd.GeoDataFrame(
            {"unit_id": u["unit_id"], "parent": u["parent"], **u["columns"]},
            geometry=shapely.from_wkb(u["wkb"]),
            crs=data["crs"],
        )
        p = data["parents"]
        parents = gpd.GeoDataFrame(
            {"code": p["code"], "name": p["name"]}, geometry=shapely.from_wkb(p["wkb"]), crs=data["crs"]
        )
        pairs = np.asarray(data["adjacency"], dtype=np.int64).reshape(-1, 2)
        overlaps = np.asarray(data["overlaps"], dtype=np.int64).reshape(-1, 2)
        return GridPlan(
            units=units,
            parents=parents,
            adjacency=pairs,
            grid=np.asarray(data["grid"], dtype=object),
            fields={c: dict(f) for c, f in data["fields"].items()},
            min_households=float(data["min_households"]),
            max_households=float(data["max_households"]),
            notes=tuple(Issue(**{**i, "units": tuple(i["units"])}) for i in data["notes"]),
            history=tuple(
                (h["op"], np.asarray(h["grid"], dtype=object), {c: dict(f) for c, f in h["fields"].items()})
                for h in data["history"]
            ),
            overlaps=overlaps,
            gaps_m2=dict(data["gaps_m2"]),
            seed=int(data["seed"]),
            version=int(data.get("plan_version", 0)),
        )
    except (KeyError, TypeError, AttributeError, shapely.errors.GEOSException) as exc:
        raise InputDataError(f"网格方案数据不完整 (malformed plan: {type(exc).__name__})") from None


def grid_members(plan: GridPlan) -> dict[str, list[str]]:
    """Unit ids of every grid."""
    out: dict[str, list[str]] = {}
    for uid, code in zip(plan.units["unit_id"], plan.grid, strict=True):
        out.setdefault(str(code), []).append(str(uid))
    return out


def edits_of(plan: GridPlan) -> list[dict]:
    """The edit operations applied so far (oldest first), as JSON objects."""
    return [dict(op) for op, _, _ in plan.history]
