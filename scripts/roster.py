"""Rosters checked against the grids, members placed in grids and the "1+10" linkage, as a batch job.

    python -m scripts.roster --grids grids.gpkg --roster 网格员.xlsx [--roster 在职党员.xlsx ...] \
        --out out/roster.xlsx [--role 网格员] [--compounds 小区台账.xlsx] [--system gcj02] [--crs cgcs2000_gk] \
        [--project demo --households FILE --k 10 --radius-min 10 --map out/联系户.pdf] [--show-personal]

Grids are polygons with a ``code`` column (the ``grids`` layer written by ``scripts.grids``).
Each roster row is placed in a grid by its grid code, its compound (matched to ``--compounds``
by name, 小区/花园/苑 variants), its home address (住址: a compound's name in it, or the ledger's
地址 at its start; province/city/county prefixes, full-width digits and 号楼/幢/栋 do not matter)
or its coordinates (``--system``: wgs84, gcj02, bd09); the sheet 名册 says how (匹配方式, 匹配小区)
or why not.
With ``--project`` and ``--households`` (points; a ``households``/户数 column repeats a point),
the in-service members (在职党员) with a position are linked to ``--k`` households each on the
project's walk network, exactly (min-cost flow, certified optimal), every household to at most one member.

Writes one XLSX (Chinese headers, codes as text): 名册 (every row, its grid and why not placed),
网格人员 (counts per grid and role, grids without a grid worker or head), and when linking
联系党员 (each member's links, those short of K said so), 未联系户 (each household left unlinked,
with the grid it lies in) and 联系户按网格 (per grid: members, members short of K, households,
linked and unlinked).  ``--map FILE.png|.pdf`` draws the same: members (short ones apart), their
links, the households left unlinked, the grids.  Phones are always masked (138****1234) and names by default (张*);
``--show-personal`` writes names in clear and needs the data holder's authorisation.
``--crs`` (wgs84 default, cgcs2000, cgcs2000_gk, cgcs2000_gk_zone or an EPSG code) is the
coordinate system of the coordinates written (the unlinked households'), its zone the grids';
the sheet 说明 names it.

Exit status: 0 done, 2 bad arguments or bad input data (message on stderr).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd
from tqdm import tqdm

from geo.access.compounds import residents_from_compounds
from geo.errors import GeoError, InputDataError
from geo.grids.linkage import (
    LINKAGE_HOUSEHOLDS_PER_MEMBER,
    grid_codes_at,
    linkage_pairs,
    solve_linkage,
)
from geo.grids.linkage_tables import household_points, linkage_sheets
from geo.grids.rosters import ROLES, RosterCheck, check_roster, read_roster
from geo.io.crs import ExportCRS
from geo.io.export import export_crs_for, write_xlsx
from geo.io.ledger import LEDGER_KINDS
from geo.io.personal import mask_personal
from geo.io.uploads import read_upload
from geo.maps.content import linkage_content
from geo.maps.layout import LayoutText, render_layout
from geo.maps.style import use_print_fonts
from geo.workflows import load_analysis
from linli.config import cache_dir
from scripts.cli import add_crs, count, failed, positive

ROW_HEADERS = {
    "line": "行号",
    "role": "角色",
    "name": "姓名",
    "phone": "联系电话",
    "grid_code": "网格编码",
    "matched_by": "匹配方式",
    "matched_compound": "匹配小区",
    "compound": "小区",
    "building": "楼栋",
    "why": "说明",
}


def build_parser() -> argparse.ArgumentParser:
    """The command-line options."""
    parser = argparse.ArgumentParser(prog="python -m scripts.roster", description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=Path, required=True, help="网格面 (GeoJSON/GPKG/zip, code 列)")
    parser.add_argument("--roster", type=Path, action="append", required=True, help="名册 CSV/XLSX，可多次给出")
    parser.add_argument("--role", choices=ROLES, help="名册没有「角色」列时每行的角色")
    parser.add_argument("--compounds", type=Path, help="小区台账（按小区名称匹配）")
    parser.add_argument("--system", default="gcj02", choices=("wgs84", "gcj02", "bd09"), help="名册经纬度的坐标系")
    parser.add_argument("--project", help="项目（步行路网），联系户分配需要")
    parser.add_argument("--households", type=Path, help="住户点（户数列可选），联系户分配需要")
    parser.add_argument("--k", type=count(1, 100), default=LINKAGE_HOUSEHOLDS_PER_MEMBER, help="每名党员联系户数")
    parser.add_argument("--radius-min", type=positive(30, "分钟"), default=10.0, help="候选联系户的步行时间半径")
    parser.add_argument("--out", type=Path, required=True, help="输出 .xlsx")
    parser.add_argument(
        "--map", type=Path, help="联系户地图 .png/.pdf（党员、联系线、联系不足的党员、未联系户），需 --project"
    )
    parser.add_argument("--show-personal", action="store_true", help="姓名不打码（须经数据持有单位授权；电话始终打码）")
    add_crs(parser)  # h-rural (issue 21): the coordinates written in CGCS2000 on request
    parser.add_argument("--quiet", action="store_true", help="不显示进度条")
    return parser


def _compounds(path: Path, system: str) -> gpd.GeoDataFrame:
    """The compound ledger: a county's table (title rows, merged headers, 地址 kept) or a layer."""
    if path.suffix.lower() in LEDGER_KINDS:
        return residents_from_compounds(path, system=system)
    return read_upload(path, system=system)


def _households(path: Path) -> gpd.GeoSeries:
    return household_points(read_upload(path, expected="point"))


def _tables(
    check: RosterCheck, linked: dict[str, pd.DataFrame], show_personal: bool, crs: ExportCRS
) -> dict[str, pd.DataFrame]:
    rows = check.rows[list(ROW_HEADERS)].rename(columns=ROW_HEADERS).sort_values(["网格编码", "角色", "行号"])
    counts = check.counts.rename(columns={"grid_code": "网格编码"})
    lacks = dict(zip(check.missing["grid_code"], check.missing["missing"], strict=True))
    counts["缺少"] = counts["网格编码"].map(lacks).fillna("")
    sheets = {"名册": mask_personal(rows, show_personal=show_personal), "网格人员": counts}
    for name, frame in linked.items():
        sheets[name] = mask_personal(frame, show_personal=show_personal)
    sheets["说明"] = pd.DataFrame({"项目": ["坐标系"], "说明": [crs.note_zh]})
    return sheets


def _link(
    check: RosterCheck,
    grids: gpd.GeoDataFrame,
    project: str,
    households: Path,
    k: int,
    radius_s: float,
    map_path: Path | None,
    crs: ExportCRS,
) -> dict[str, pd.DataFrame]:
    analysis = load_analysis(project, times=False, cache_dir=cache_dir())
    graph = analysis.graph
    rows = check.rows
    members = rows[(rows["role"] == "在职党员") & rows["lon"].notna() & rows["lat"].notna() & (rows["why"] == "")]
    if members.empty:
        raise InputDataError("名册中没有带坐标的在职党员，无法分配联系户 (no in-service member with a position)")
    points = gpd.GeoSeries(gpd.points_from_xy(members["lon"], members["lat"]), crs=4326)
    homes = _households(households)
    pairs = linkage_pairs(graph, points, homes, k=k, radius_s=radius_s, max_radius_s=max(radius_s, 900.0))
    result = solve_linkage(pairs, k=k)
    member_grid = members["grid_code"].to_numpy()
    home_grid = grid_codes_at(homes, grids)
    sheets = linkage_sheets(
        result,
        members=members,
        member_grid=member_grid,
        member_ok=pairs.member_ok,
        radius_s=pairs.radius_s,
        households=homes,
        household_grid=home_grid,
        household_ok=pairs.household_ok,
        crs=crs,
    )
    gone = result.unlinked_households
    if map_path is not None:
        crs = graph.network.crs
        content = linkage_content(
            result, members=points.to_crs(crs), households=homes.to_crs(crs), grids=grids, network=graph.network
        )
        text = LayoutText(
            title=f"在职党员“1+{k}”联系户",
            subtitle=f"{len(members)} 名党员，{len(homes)} 户；联系不足 {result.short_members.size} 人，"
            f"未联系 {gone.size} 户",
            assumptions=(
                f"每名党员联系 {k} 户，每户至多由一名党员联系，总步行时间最短（最小费用流，已证明最优）",
                f"候选住户：步行 {radius_s / 60:g} 分钟内，不足时放宽至 {max(radius_s, 900.0) / 60:g} 分钟",
                f"步行时间按路网，步行速度 {graph.profile.speed_kmh:g} km/h；连线为示意直线",
            ),
        )
        use_print_fonts()
        render_layout(content, map_path, text=text)
    return sheets


def main(argv: list[str] | None = None) -> int:
    """Run the job; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if args.out.suffix.lower() != ".xlsx":
        parser.error(f"--out 应为 .xlsx 文件 (output must be a .xlsx file): {args.out.name}")
    if (args.project is None) != (args.households is None):
        parser.error("--project 与 --households 须同时给出 (linkage needs both --project and --households)")
    if args.map is not None and args.project is None:
        parser.error("--map 需要 --project 与 --households (the linkage map needs the linkage)")
    if args.map is not None and args.map.suffix.lower() not in (".png", ".pdf"):
        parser.error(f"--map 应为 .png 或 .pdf 文件 (map must be .png or .pdf): {args.map.name}")
    steps = ["网格 grids", "名册 rosters", "联系户 linkage", "写出 write"]
    bar = tqdm(total=len(steps), disable=args.quiet, desc="名册 roster")
    try:
        bar.set_postfix_str(steps[0])
        grids = read_upload(args.grids, expected="polygon")
        crs = export_crs_for(args.crs, grids)  # before any work: a zone outside China stops here
        compounds = _compounds(args.compounds, args.system) if args.compounds else None
        bar.update()
        bar.set_postfix_str(steps[1])
        rosters = [read_roster(p, role=args.role, system=args.system) for p in args.roster]
        rows = pd.concat([r.rows for r in rosters], ignore_index=True)
        check = check_roster(type(rosters[0])(rows, rosters[0].file), grids, compounds=compounds)
        bar.update()
        bar.set_postfix_str(steps[2])
        linked = (
            _link(check, grids, args.project, args.households, args.k, args.radius_min * 60, args.map, crs)
            if args.project
            else {}
        )
        bar.update()
        bar.set_postfix_str(steps[3])
        write_xlsx(_tables(check, linked, args.show_personal, crs), args.out)
        bar.update()
    except (GeoError, OSError) as exc:
        return failed(exc, bar)
    bar.close()
    placed = int((check.rows["grid_code"] != "").sum())
    print(
        f"名册 {len(check.rows)} 行，{placed} 行落入网格，{len(check.unmatched)} 行未匹配；"
        f"{len(check.missing)} 个网格缺少网格员或网格长"
    )
    print(f"结果 results -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
