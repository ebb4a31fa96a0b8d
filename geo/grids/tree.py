"""The organisation tree of management grids: county -> town -> community -> grid.

Each grid carries its responsible branch (责任支部), grid member (网格员) and
party-member central households (党员中心户); the tree is exported as a table
(one row per grid, the levels above it named from the official division codes)
and as a diagram (SVG or PNG, matplotlib with the Chinese font).

Codes follow the national division code: county = the first 6 digits of a
12-digit community code, town = the first 9.  A parent code of another shape (the
demo's placeholder, a planner's own codes) has no county or town above it.
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from matplotlib.figure import Figure

from geo.errors import InputDataError
from geo.grids.output import grids_gdf
from geo.grids.plan import GridPlan
from geo.maps.style import cjk_font

logger = logging.getLogger(__name__)

__all__ = ["TREE_HEADERS", "division_names", "organisation_diagram", "organisation_table"]

#: Chinese headers of the organisation table.
TREE_HEADERS = {
    "county_code": "县区编码",
    "county": "县区",
    "town_code": "镇街编码",
    "town": "镇街",
    "community_code": "社区/村编码",
    "community": "社区/村",
    "code": "网格编码",
    "name": "网格名称",
    "branch": "责任支部",
    "grid_member": "网格员",
    "central_households": "党员中心户",
    "households": "户数 (户)",
    "residents": "人口 (人)",
}
DIAGRAM_FORMATS = (".svg", ".png")


def division_names() -> dict[str, str]:
    """Names of the official division codes known to the project (Quanzhou's counties, Hui'an's towns and villages)."""
    from geo.io.boundaries import huian_divisions, load_boundaries

    names = dict(zip(load_boundaries()["adcode"].astype(str), load_boundaries()["name"].astype(str), strict=True))
    try:
        div = huian_divisions()
    except InputDataError:
        return names
    names.update(zip(div["code"].astype(str), div["name"].astype(str), strict=True))
    return names


def organisation_table(
    plan: GridPlan, *, names: dict[str, str] | None = None, grids: gpd.GeoDataFrame | None = None
) -> pd.DataFrame:
    """One row per grid with the county, town and community above it.

    Parameters
    ----------
    plan
        The grid plan.
    names
        Division code -> name (default :func:`division_names`); a parent's own name
        from the plan wins for the community level.
    grids
        :func:`grids_gdf` of the plan when the caller has it already (a county's 800 grids
        take seconds to union).

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`TREE_HEADERS` (English keys), sorted by grid code.
    """
    names = division_names() if names is None else names
    grids = grids_gdf(plan) if grids is None else grids
    parent_names = dict(zip(plan.parents["code"].astype(str), plan.parents["name"].astype(str), strict=True))
    rows = []
    for _, g in grids.iterrows():
        parent = str(g["parent"])
        official = len(parent) == 12 and parent.isdigit() and parent[:6] in names
        county = parent[:6] if official else ""
        town = parent[:9] if official else ""
        rows.append(
            {
                "county_code": county,
                "county": names.get(county, ""),
                "town_code": town,
                "town": names.get(town, ""),
                "community_code": parent,
                "community": parent_names.get(parent) or names.get(parent, parent),
                "code": g["code"],
                "name": g["name"],
                "branch": g["branch"],
                "grid_member": g["grid_member"],
                "central_households": g["central_households"],
                "households": g["households"],
                "residents": g["residents"],
            }
        )
    return pd.DataFrame(rows, columns=list(TREE_HEADERS))


def _label(*parts: str) -> str:
    return "\n".join(p for p in parts if p)


#: Above this many grids the diagram ends at the communities (one box each with its grids,
#: households and residents): a county's 800 grids would be a 400-inch-tall picture, and the
#: grid-by-grid tree is in the organisation table beside it.
DIAGRAM_MAX_GRIDS = 150


def _leaves(table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The rows drawn as leaves: the grids, or one row per community for a large tree."""
    if len(table) <= DIAGRAM_MAX_GRIDS:
        return table, "grid"
    keys = ["county_code", "county", "town_code", "town", "community_code", "community"]
    communities = (
        table.groupby(keys, sort=True, dropna=False)
        .agg(grids=("code", "size"), households=("households", "sum"), residents=("residents", "sum"))
        .reset_index()
    )
    return communities, "community"


def organisation_diagram(table: pd.DataFrame, path: Path, *, title: str = "网格组织架构") -> Path:
    """Draw the tree (county -> town -> community -> grid) left to right into an SVG or PNG file.

    Parameters
    ----------
    table
        :func:`organisation_table`.
    path
        Output file, ``.svg`` or ``.png``.
    title
        Title above the tree.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    InputDataError
        If the suffix is not ``.svg`` / ``.png`` or the table is empty.
    geo.maps.style.MissingFontError
        If no Chinese font is installed.
    """
    path = Path(path)
    if path.suffix.lower() not in DIAGRAM_FORMATS:
        raise InputDataError(
            f"组织架构图只能存为 SVG 或 PNG，收到 {path.suffix or '无后缀'} (diagram must be .svg or .png)"
        )
    if len(table) == 0:
        raise InputDataError("没有网格，无法绘制组织架构图 (no grids to draw)")
    font = cjk_font()
    table = table.sort_values(["county_code", "town_code", "community_code", "code"]).reset_index(drop=True)
    n_grids = len(table)
    table, leaf_level = _leaves(table)
    n = len(table)
    # node -> (level, label, leaf rows); a path of nodes per grid, skipping unknown levels
    nodes: dict[tuple, tuple[int, str, list[int]]] = {}
    edges: set[tuple[tuple, tuple]] = set()
    for k, row in table.iterrows():
        path_nodes: list[tuple[tuple, int, str]] = []
        key: tuple
        if row["county_code"]:
            path_nodes.append((("c", row["county_code"]), 0, _label(row["county"] or "县区", row["county_code"])))
        if row["town_code"]:
            key = ("t", row["county_code"], row["town_code"])
            path_nodes.append((key, 1, _label(row["town"] or "镇街", row["town_code"])))
        if leaf_level == "grid":
            shown = row["community_code"] if row["community"] != row["community_code"] else ""
            key = ("m", row["county_code"], row["town_code"], row["community_code"])
            path_nodes.append((key, 2, _label(row["community"], shown)))
        path_nodes.append((("g", k), 3, ""))
        for key, level, label in path_nodes:
            nodes.setdefault(key, (level, label, []))[2].append(k)
        edges.update((a[0], b[0]) for a, b in itertools.pairwise(path_nodes))
    xs = (0.0, 2.0, 4.0, 6.4)
    y_of = {key: float(n - 1 - sum(rows) / len(rows)) for key, (_, _, rows) in nodes.items()}
    fig = Figure(figsize=(12.5, max(2.5, 0.55 * n + 1.2)))  # no pyplot: nothing global, safe in threads
    ax = fig.subplots()
    ax.set_xlim(-0.9, 9.8)
    ax.set_ylim(-0.8, n + 0.1)
    ax.axis("off")
    box = {"boxstyle": "round,pad=0.3", "facecolor": "#eef3fb", "edgecolor": "#4a6fa5", "linewidth": 0.8}
    leaf_box = {**box, "facecolor": "#fdf6e3", "edgecolor": "#b58900"}
    text_kw: dict[str, Any] = {"fontfamily": font, "va": "center", "parse_math": False}
    for a, b in sorted(edges):
        xa, xb = xs[nodes[a][0]], xs[nodes[b][0]]
        ax.plot([xa, xb], [y_of[a], y_of[b]], color="#8899aa", lw=0.6, zorder=1)
    for key, (level, label, _) in nodes.items():
        if level < 3:
            ax.text(xs[level], y_of[key], label, ha="center", fontsize=9, bbox=box, zorder=3, **text_kw)
    for k, row in table.iterrows():
        if leaf_level == "grid":
            leaf = _label(
                f"{row['code']} {row['name']}".strip(),
                f"支部: {row['branch'] or '—'}  网格员: {row['grid_member'] or '—'}",
                f"{row['households']:.0f} 户"
                + (f"  中心户: {row['central_households']}" if row["central_households"] else ""),
            )
        else:
            leaf = _label(
                f"{row['community_code']} {row['community']}".strip(),
                f"{row['grids']} 个网格  {row['households']:,.0f} 户  {row['residents']:,.0f} 人",
            )
        ax.text(xs[3], float(n - 1 - k), leaf, ha="left", fontsize=7.5, bbox=leaf_box, zorder=3, **text_kw)
    levels_shown = sorted({level for level, _, _ in nodes.values()})
    leaf_heading = "网格" if leaf_level == "grid" else f"社区/村（共 {n_grids} 个网格，逐格见组织架构表）"
    for level, heading in zip((0, 1, 2, 3), ("县区", "镇街", "社区/村", leaf_heading), strict=True):
        if level in levels_shown:
            ax.text(
                xs[level],
                n - 0.3,
                heading,
                ha="center" if level < 3 else "left",
                fontsize=9,
                color="#555555",
                **text_kw,
            )
    ax.set_title(title, fontfamily=font, fontsize=12)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150, bbox_inches="tight", format=path.suffix.lower().lstrip("."))
    logger.info("organisation diagram: %d grids -> %s", n_grids, path.name)
    return path
