"""The "支部建在网格" organisation chart: community -> grids -> micro-grids, with their people.

:func:`organisation_nodes` makes one row per node (community, grid, micro-grid) with its
branch (党支部), grid head (网格长), grid workers (网格员), party-member centre households
(党员中心户) and building heads (楼栋长): the plans' own fields joined with the rosters placed
in the grids (:func:`geo.grids.rosters.check_roster`).  Names are masked (张*) unless
``show_personal`` (the data holder's authorisation, webapp/privacy.py rules).

:func:`organisation_chart` draws the nodes for the wall: one or more A3 pages per community,
the community on top, its grids as cards flowing into columns (each card lists its
micro-grids), a new page when a page is full — so a community of 60 grids still reads.
PDF (every page in one file), PNG or SVG (one file per page: ``chart.png``, ``chart_2.png`` ...).
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from geo.errors import InputDataError
from geo.grids.levels import LevelPlan
from geo.grids.plan import GridPlan, list_field
from geo.grids.roster_summary import MICRO_ROLES, micro_codes
from geo.grids.rosters import Roster, check_roster
from geo.io.export import atomic_write
from geo.io.personal import mask_name
from geo.maps.layout import wrap
from geo.maps.style import cjk_font

logger = logging.getLogger(__name__)

__all__ = [
    "CHART_FORMATS",
    "ORG_HEADERS",
    "micro_label",
    "organisation_chart",
    "organisation_nodes",
    "place_people",
]

#: Chinese headers of the node table.
ORG_HEADERS = {
    "level": "层级",
    "code": "编码",
    "name": "名称",
    "parent": "上级编码",
    "branch": "党支部",
    "grid_head": "网格长",
    "grid_workers": "网格员",
    "central_households": "党员中心户",
    "building_heads": "楼栋长",
    "households": "户数 (户)",
}
LEVELS_ZH = ("社区/村", "网格", "微网格")
#: Roster role -> node column.
ROLE_COLUMNS = {
    "网格长": "grid_head",
    "网格员": "grid_workers",
    "党员中心户": "central_households",
    "楼栋长": "building_heads",
}
CHART_FORMATS = (".pdf", ".png", ".svg")
#: Page (mm) and layout of the wall chart: A3 landscape, four columns of grid cards.
PAGE_MM = (420.0, 297.0)
MARGIN_MM = 12.0
COLUMNS = 4
GAP_MM = 6.0
LINE_MM = 3.6
FONT_PT = 7.0
PT_MM = 25.4 / 72.0
#: Most PNG/SVG pages written (a county's 80 communities are 80 pages: the PDF has them all).
MAX_IMAGE_PAGES = 20
#: Micro-grid lines listed on a grid's card; the rest are counted (all are in the XLSX).
MAX_MICRO_LINES = 16


def _names(values: list[object], show_personal: bool) -> str:
    seen = [str(v).strip() for v in values if str(v).strip()]
    seen = list(dict.fromkeys(seen))
    return "、".join(seen if show_personal else [mask_name(v) for v in seen])


def _households(plan: GridPlan) -> pd.Series:
    return pd.Series(plan.units["households"].to_numpy(float)).groupby(plan.grid).sum()


def organisation_nodes(
    plan: GridPlan | LevelPlan,
    *,
    people: pd.DataFrame | None = None,
    show_personal: bool = False,
) -> pd.DataFrame:
    """One row per community, grid and micro-grid with its organisation.

    Parameters
    ----------
    plan
        The grids, or the grids and their micro-grids.
    people
        Roster rows placed in grids or micro-grids: ``grid_code``, ``role`` (网格长/网格员/
        党员中心户/楼栋长), ``name`` (e.g. :attr:`geo.grids.rosters.RosterCheck.rows`, several
        concatenated); rows placed nowhere are ignored.
    show_personal
        Names in clear (needs the holder's authorisation); masked as 张* by default.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`ORG_HEADERS` (English keys); ``level`` 社区/村, 网格 or 微网格;
        sorted community, then its grids each followed by its micro-grids.
    """
    grids = plan.grids if isinstance(plan, LevelPlan) else plan
    micro = plan.micro if isinstance(plan, LevelPlan) else None
    roles: dict[tuple[str, str], list[object]] = {}
    if people is not None and len(people):
        for code, role, name in people[["grid_code", "role", "name"]].itertuples(index=False):
            if code and role in ROLE_COLUMNS:
                roles.setdefault((str(code), ROLE_COLUMNS[role]), []).append(name)
    rows = []
    levels = [(1, grids)] + ([(2, micro)] if micro is not None else [])
    for level, p in levels:
        hh = _households(p)
        parent_of = pd.Series(p.units["parent"].astype(str).to_numpy()).groupby(p.grid).first()
        for code in sorted(c for c in hh.index if c):
            fields = p.fields.get(code, {})
            row = {
                "level": LEVELS_ZH[level],
                "code": code,
                "name": str(fields.get("name") or ""),
                "parent": str(parent_of[code]),  # a micro-grid's: the grid its plots are in (h-micro2)
                "branch": str(fields.get("branch") or ""),
                "households": float(hh[code]),
            }
            own = {
                "grid_workers": [fields.get("grid_member") or ""],
                "central_households": list_field(fields.get("central_households")),
                "building_heads": [fields.get("building_head") or ""],  # h-micro3: a micro-grid's 楼栋长 field
            }
            for column in ROLE_COLUMNS.values():
                row[column] = _names([*own.get(column, []), *roles.get((code, column), [])], show_personal)
            rows.append(row)
    community_hh = _households(grids)
    parents = grids.parents
    for code, name in zip(parents["code"].astype(str), parents["name"].astype(str), strict=True):
        mine = [c for c in community_hh.index if c and c.startswith(code)]
        rows.append(
            {
                "level": LEVELS_ZH[0],
                "code": code,
                "name": name,
                "parent": "",
                "households": float(community_hh[mine].sum()) if mine else 0.0,
                **{c: _names(roles.get((code, c), []), show_personal) for c in ROLE_COLUMNS.values()},
                "branch": "",
            }
        )
    nodes = pd.DataFrame(rows, columns=list(ORG_HEADERS))
    # community first, then its grids, each grid's micro-grids right after it: codes nest, so code order
    nodes = nodes.assign(_root=[_root(c, parents["code"].astype(str)) for c in nodes["code"]])
    nodes = nodes.sort_values(["_root", "code"], kind="stable").drop(columns="_root").reset_index(drop=True)
    return nodes


def place_people(
    roster: Roster,
    grids: gpd.GeoDataFrame,
    micro: gpd.GeoDataFrame | None = None,
    *,
    compounds: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """The roster's people placed for the chart: grid heads and workers in their grid, building
    heads and centre households (:data:`MICRO_ROLES`) in their micro-grid when one in their grid
    holds them (:func:`geo.grids.roster_summary.micro_codes`, else their grid).

    ``micro`` needs ``code`` and ``parent`` (:func:`geo.grids.output.grids_gdf` of the micro-grids).

    Returns
    -------
    pandas.DataFrame
        ``grid_code``, ``role``, ``name`` of every placed, non-duplicate row.
    """
    placed = check_roster(roster, grids, compounds=compounds).rows
    codes = placed["grid_code"].to_numpy(object)
    if micro is not None and len(micro):
        inner = micro_codes(placed, roster, micro, compounds=compounds)
        use = placed["role"].isin(MICRO_ROLES).to_numpy() & (inner != "")
        codes = np.where(use, inner, codes)
    ok = (codes != "") & ~placed["why"].astype(str).str.startswith(("重复", "角色")).to_numpy()
    return pd.DataFrame(
        {"grid_code": codes[ok], "role": placed["role"].to_numpy()[ok], "name": placed["name"].to_numpy()[ok]}
    )


def _root(code: str, parents: pd.Series) -> str:
    hits = [p for p in parents if code.startswith(p)]
    return max(hits, key=len) if hits else code


# ----------------------------------------------------------------------------- the wall chart


def micro_label(code: str, parent: str) -> str:
    """A micro-grid's number within its grid: its code after the grid's code (``0101`` + ``03`` ->
    ``03``; micro codes add their own digits to the grid code), the whole code when it is not
    coded under that grid (a micro-grid flagged ``not_nested``)."""
    return code[len(parent) :] if parent and code.startswith(parent) and len(code) > len(parent) else code


def _card_lines(grid: pd.Series, micro: pd.DataFrame, width: int, unit: str = "户") -> list[tuple[str, bool]]:
    """A grid card's lines, ``(text, bold)``, wrapped at ``width`` half-width columns; ``unit``
    is 户 or 估算户 (households estimated from buildings)."""
    head = f"网格 {grid['code']} {grid['name']}".strip()
    body = [
        f"党支部: {grid['branch'] or '—'}",
        f"网格长: {grid['grid_head'] or '—'}",
        f"网格员: {grid['grid_workers'] or '—'}",
        f"党员中心户: {grid['central_households'] or '—'}",
    ]
    if grid["building_heads"]:
        body.append(f"楼栋长: {grid['building_heads']}")
    body.append(f"{grid['households']:,.0f} {unit} · 微网格 {len(micro)} 个")
    lines = [(t, True) for t in wrap(head, width)]
    for text in body:
        lines += [(t, False) for t in wrap(text, width)]
    for k, (_, m) in enumerate(micro.iterrows()):
        if k == MAX_MICRO_LINES:
            lines.append((f"… 另 {len(micro) - k} 个微网格（见组织架构表）", False))
            break
        parts = [f"· {micro_label(str(m['code']), str(grid['code']))} {m['name']}".rstrip()]
        parts.append(f"{m['households']:,.0f}{unit}")
        if m["building_heads"]:
            parts.append(f"楼栋长 {m['building_heads']}")
        if m["central_households"]:
            parts.append(f"中心户 {m['central_households']}")
        if m["grid_workers"]:
            parts.append(f"网格员 {m['grid_workers']}")
        wrapped = wrap("  ".join(parts), width - 2)
        lines += [(wrapped[0], False)] + [("   " + t, False) for t in wrapped[1:]]
    return lines


def _pages(nodes: pd.DataFrame, title: str, unit: str = "户") -> list[dict]:
    """Cards placed on pages: each community starts a page, its cards flow into the shortest column."""
    w, h = PAGE_MM
    col_w = (w - 2 * MARGIN_MM - (COLUMNS - 1) * GAP_MM) / COLUMNS
    width = int(col_w / (FONT_PT * 0.3528 * 0.55))  # half-width columns that fit a card
    top = MARGIN_MM + 40.0  # below the title and the community box
    pages: list[dict] = []
    communities = nodes[nodes["level"] == LEVELS_ZH[0]]
    for _, community in communities.iterrows():
        grids = nodes[(nodes["level"] == LEVELS_ZH[1]) & (nodes["parent"] == community["code"])]
        micro = nodes[nodes["level"] == LEVELS_ZH[2]]
        page: dict | None = None
        for _, grid in grids.iterrows():
            lines = _card_lines(grid, micro[micro["parent"] == grid["code"]], width, unit)
            card_h = (len(lines) + 1) * LINE_MM
            if page is not None:
                k = int(np.argmin(page["heights"]))
            if page is None or page["heights"][k] + card_h > h - MARGIN_MM:
                page = {"community": community, "cards": [], "heights": [top] * COLUMNS, "title": title, "unit": unit}
                pages.append(page)
                k = 0
            y = page["heights"][k]
            page["cards"].append((k, y, card_h, lines))
            page["heights"][k] = y + card_h + GAP_MM
        if page is None:  # a community without grids still gets its box
            pages.append(
                {"community": community, "cards": [], "heights": [top] * COLUMNS, "title": title, "unit": unit}
            )
    return pages


FOOTER = "支部建在网格：社区/村 → 网格（网格党支部）→ 微网格/网点（党员中心户、楼栋长）；完整名单见组织架构表"


def _draw_page(page: dict, number: int, total: int, font: str, *, continued: bool, masked: bool) -> Figure:
    w, h = PAGE_MM
    fig = Figure(figsize=(w / 25.4, h / 25.4))  # no pyplot: nothing global, safe in threads
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.axis("off")
    kw: dict[str, Any] = {"fontfamily": font, "parse_math": False}
    community = page["community"]
    ax.text(MARGIN_MM, MARGIN_MM, page["title"], fontsize=16, va="top", ha="left", **kw)
    ax.text(w - MARGIN_MM, MARGIN_MM, f"第 {number} / {total} 页", fontsize=9, va="top", ha="right", **kw)
    label = f"{community['name']}（{community['code']}）" + ("（续）" if continued else "")
    grids = len(page["cards"])
    box = {"boxstyle": "round,pad=0.6", "facecolor": "#fbe9e7", "edgecolor": "#b71c1c", "linewidth": 1.0}
    cx, cy = w / 2, MARGIN_MM + 18.0
    ax.text(
        cx,
        cy,
        f"{label}\n本页网格 {grids} 个 · 全社区 {community['households']:,.0f} {page['unit']}",
        fontsize=11,
        ha="center",
        va="center",
        bbox=box,
        **kw,
    )
    col_w = (w - 2 * MARGIN_MM - (COLUMNS - 1) * GAP_MM) / COLUMNS
    bus = MARGIN_MM + 31.0
    used = sorted({k for k, *_ in page["cards"]})
    if used:
        xs = [MARGIN_MM + k * (col_w + GAP_MM) + col_w / 2 for k in used]
        ax.plot([cx, cx], [cy + 5.0, bus], color="#b71c1c", lw=1.0)
        ax.plot([min(xs), max(xs)], [bus, bus], color="#b71c1c", lw=1.0)
    for k, y, card_h, lines in page["cards"]:
        x = MARGIN_MM + k * (col_w + GAP_MM)
        ax.plot([x + col_w / 2, x + col_w / 2], [bus, y], color="#b71c1c", lw=0.6, zorder=0)
        ax.add_patch(
            _rect(x, y, col_w, card_h - LINE_MM * 0.4, face="#fffdf5", edge="#b58900"),
        )
        # one text per block (the bold heading, the body): a page of 12 cards is 24 texts, not 300
        heading = [t for t, bold in lines if bold]
        body = [t for t, bold in lines if not bold]
        for k0, block, bold in ((0, heading, True), (len(heading), body, False)):
            if not block:
                continue
            size = FONT_PT + (0.8 if bold else 0.0)
            ax.text(
                x + 2.0,
                y + (k0 + 0.2) * LINE_MM,
                "\n".join(block),
                fontsize=size,
                fontweight="bold" if bold else "normal",
                va="top",
                ha="left",
                linespacing=LINE_MM / (size * PT_MM),
                color="#7f0000" if bold else "#222222",
                **kw,
            )
    ax.text(
        MARGIN_MM,
        h - MARGIN_MM / 2,
        FOOTER + ("；姓名已脱敏" if masked else "；含实名，仅限授权范围内使用"),
        fontsize=7,
        color="#555555",
        va="bottom",
        **kw,
    )
    return fig


def _rect(x: float, y: float, w: float, h: float, *, face: str, edge: str):
    from matplotlib.patches import FancyBboxPatch

    return FancyBboxPatch(
        (x, y), w, h, boxstyle="round,pad=0,rounding_size=1.5", facecolor=face, edgecolor=edge, lw=0.8
    )


def _save(fig: Figure, tmp: Path, *, fmt: str) -> None:
    fig.savefig(tmp, dpi=150, format=fmt)


def organisation_chart(
    nodes: pd.DataFrame,
    path: Path,
    *,
    title: str = "网格党建组织架构图",
    masked: bool = True,
    estimated: bool = False,
) -> list[Path]:
    """Draw the organisation chart for the wall, paged: PDF (all pages) or PNG/SVG (a file per page).

    Parameters
    ----------
    nodes
        :func:`organisation_nodes` (names already masked or not as the caller chose).
    path
        ``.pdf``, ``.png`` or ``.svg``; further PNG/SVG pages are ``path_2.png`` ... (at most
        :data:`MAX_IMAGE_PAGES`; the PDF holds every page).
    title
        The title on every page.
    masked
        Whether the nodes' names are masked (said in the footer of every page).
    estimated
        The households are estimates (from buildings): the chart says 估算户.

    Returns
    -------
    list of pathlib.Path
        The files written (atomically).

    Raises
    ------
    InputDataError
        Another suffix, or no community to draw.
    geo.maps.style.MissingFontError
        No Chinese font installed.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in CHART_FORMATS:
        raise InputDataError(
            f"组织架构图只能存为 PDF、PNG 或 SVG，收到 {suffix or '无后缀'} (chart must be .pdf, .png or .svg)"
        )
    if not (nodes["level"] == LEVELS_ZH[0]).any():
        raise InputDataError("没有社区/村，无法绘制组织架构图 (no community to draw)")
    font = cjk_font()
    pages = _pages(nodes, title, "估算户" if estimated else "户")
    total = len(pages)
    if suffix != ".pdf":
        pages = pages[:MAX_IMAGE_PAGES]
    seen: set[str] = set()
    figures = []
    for k, page in enumerate(pages):
        code = str(page["community"]["code"])
        figures.append(_draw_page(page, k + 1, total, font, continued=code in seen, masked=masked))
        seen.add(code)
    written: list[Path] = []
    if suffix == ".pdf":

        def write_pdf(tmp: Path) -> None:
            with PdfPages(tmp) as pdf:
                for fig in figures:
                    pdf.savefig(fig)

        written.append(atomic_write(path, write_pdf))
    else:
        for k, fig in enumerate(figures):
            target = path if k == 0 else path.with_name(f"{path.stem}_{k + 1}{path.suffix}")
            written.append(atomic_write(target, partial(_save, fig, fmt=suffix.lstrip("."))))
    logger.info(
        "organisation chart: %d communities, %d grids, %d micro-grids on %d pages -> %s",
        int((nodes["level"] == LEVELS_ZH[0]).sum()),
        int((nodes["level"] == LEVELS_ZH[1]).sum()),
        int((nodes["level"] == LEVELS_ZH[2]).sum()),
        len(pages),
        path.name,
    )
    return written
