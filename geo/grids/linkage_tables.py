"""The "1+10" linkage as the tables a roster XLSX holds, and the households it links (issue 20).

One place for what ``scripts/roster.py`` writes and the web app's linkage panel downloads
(:mod:`webapp.linkweb`): :func:`household_points` (a point per household: a point layer whose
``households`` / 户数 column repeats a point) and :func:`linkage_sheets` (联系党员, 未联系户,
联系户按网格; names and phones as given: the caller masks them, :func:`geo.io.personal.mask_personal`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.grids.linkage import Linkage, linkage_by_grid
from geo.io.crs import ExportCRS
from geo.io.export import coordinate_columns

__all__ = ["HOUSEHOLD_COLUMNS", "OUTSIDE_ZH", "household_points", "linkage_sheets"]

#: Columns that say how many households a point stands for (the first found is used).
HOUSEHOLD_COLUMNS = ("households", "户数", "住户数")
#: What a row in no grid says in the 网格编码 column.
OUTSIDE_ZH = "（不在任何网格内）"


def household_points(frame: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """One point per household: each feature's point (a point inside a polygon) repeated by its
    ``households`` / 户数 / 住户数 column rounded to a whole number (once when there is none).

    Parameters
    ----------
    frame
        Households, buildings or compounds with a CRS (the project's demand, or a file's points).
    """
    points = frame.geometry.to_numpy()
    if len(points) and not (shapely.get_type_id(points) == 0).all():
        points = shapely.point_on_surface(points)
    column = next((c for c in HOUSEHOLD_COLUMNS if c in frame.columns), None)
    if column is None:
        return gpd.GeoSeries(points, crs=frame.crs).reset_index(drop=True)
    n = pd.to_numeric(frame[column], errors="coerce").fillna(0).round().clip(lower=0).astype(int).to_numpy()
    return gpd.GeoSeries(np.repeat(points, n), crs=frame.crs)


def linkage_sheets(
    linkage: Linkage,
    *,
    members: pd.DataFrame,
    member_grid: np.ndarray,
    member_ok: np.ndarray,
    radius_s: np.ndarray,
    households: gpd.GeoSeries,
    household_grid: np.ndarray,
    household_ok: np.ndarray,
    crs: ExportCRS,
) -> dict[str, pd.DataFrame]:
    """The linkage as three sheets: 联系党员 (each member's links, those short of K said so),
    未联系户 (each household left unlinked, with its grid and coordinates in ``crs``) and
    联系户按网格 (per grid: members, members short of K, households, linked, unlinked).

    Parameters
    ----------
    linkage
        The assignment (:func:`geo.grids.linkage.solve_linkage`).
    members
        One row per member, in the linkage's order, with ``name`` and ``phone``.
    member_grid, household_grid
        Grid code of each member and household (``""``: in no grid).
    member_ok, household_ok, radius_s
        From :class:`geo.grids.linkage.LinkagePairs`: snapped onto the network, and the radius (s)
        each member's households were searched within.
    households
        The households' points (any CRS).
    crs
        Coordinate system of the coordinates written.
    """
    k = linkage.k
    count = linkage.member_count
    linked = linkage.household_member >= 0
    walk_s = np.bincount(linkage.household_member[linked], linkage.household_time_s[linked], minlength=len(members))
    table = pd.DataFrame(
        {
            "网格编码": member_grid,
            "姓名": members["name"].to_numpy(),
            "联系电话": members["phone"].to_numpy(),
            "联系户数": count,
            "应联系户数": k,
            "平均步行时间(分钟)": np.where(count > 0, walk_s / np.maximum(count, 1) / 60, np.nan),
            "搜索半径(分钟)": np.asarray(radius_s, dtype=float) / 60,
            "说明": np.where(
                ~np.asarray(member_ok, dtype=bool),
                "距道路过远 (too far from the walk network)",
                np.where(
                    count < k,
                    f"联系不足 {k} 户：半径内可联系住户不足 (too few households within the radius)",
                    "",
                ),
            ),
        }
    ).sort_values("网格编码", kind="stable")
    gone = linkage.unlinked_households
    ok = np.asarray(household_ok, dtype=bool)
    unlinked = coordinate_columns(
        gpd.GeoDataFrame(
            {
                "网格编码": np.asarray(household_grid, dtype=object)[gone],
                "住户序号": gone + 1,
                "说明": np.where(ok[gone], "未分配到党员 (not linked)", "距道路过远 (off the network)"),
            },
            geometry=households.to_numpy()[gone],
            crs=households.crs,
        ),
        crs,
    ).sort_values(["网格编码", "住户序号"], kind="stable")
    for frame in (table, unlinked):
        frame.loc[frame["网格编码"] == "", "网格编码"] = OUTSIDE_ZH
    per_grid = linkage_by_grid(linkage, member_grid=member_grid, household_grid=household_grid).rename(
        columns={
            "grid_code": "网格编码",
            "members": "在职党员",
            "members_short": f"联系不足{k}户的党员",
            "households": "住户",
            "linked": "已联系户",
            "unlinked": "未联系户",
        }
    )
    per_grid.loc[per_grid["网格编码"] == "", "网格编码"] = OUTSIDE_ZH
    return {"联系党员": table, "未联系户": unlinked, "联系户按网格": per_grid}
