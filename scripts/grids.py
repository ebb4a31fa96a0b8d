"""Management grids (网格) for a study area, as a batch job.

    python -m scripts.grids --project demo --out out/grids.gpkg \
        [--parent FILE|CODE] [--units FILE] [--min-households 300] [--max-households 500] \
        [--water FILE] [--village] [--seed 0] [--no-coverage] \
        [--levels [--micro-min-households 10] [--micro-max-households 50]]
    python -m scripts.grids --project demo --out out/checked.gpkg --import grids.geojson [--parent FILE|CODE]
    python -m scripts.grids --project demo --out out/merged.gpkg --compare 党建.geojson 综治.geojson 警务.geojson

Units are the street blocks of the project's network (cut by the parents'
boundaries) with households from the demand model, or a planner's polygons
(``--units``: compounds, buildings; households still come from the demand).
Water polygons (``--water``) are cut out of the blocks.
Parents are a polygon file of communities (code/编码 and name columns, ``--parent
FILE``), or one official division code for the whole study area (``--parent
350521100001``), or the project's ``[units] community`` layer; else one placeholder
parent.

Writes (atomically, WGS84):

* ``FILE.gpkg`` — layers ``grids`` (households, residents, facilities by function,
  coverage per function, shape index, editable fields, flags), ``units`` (with their
  grid code), ``parents``;
* ``FILE.csv`` — the grid table with Chinese headers (UTF-8 with BOM);
* ``FILE_issues.csv`` — every violation and note, Chinese messages;
* ``FILE_tree.csv``, ``FILE_tree.svg``, ``FILE_tree.png`` — the organisation tree;
* ``FILE.plan.json`` — the plan for later edits (the web app's format);
* with ``--levels``: ``FILE_micro.gpkg`` (layer 微网格: micro-grids, 微网格/网点, of building plots
  — each unit cut into the Voronoi cells of its demand points — in each grid, coded
  grid code + sequence), ``FILE_micro.xlsx`` (sheets 微网格, 问题 and 组织架构: the tree
  community -> grid -> micro-grid; codes
  as text) and ``FILE_micro.plan.json``; nesting problems join ``FILE_issues.csv``.

``--import FILE`` checks existing grids instead of making new ones (GeoJSON, GeoPackage,
zipped Shapefile with a code column, optional households and name): writes ``FILE.gpkg``
(layer 网格 with each grid's problems) and ``FILE_issues.xlsx`` (every problem with the grid
code and a Chinese message; codes as text).  Parents are ``--parent`` or the project's
communities; without either, nesting and parent prefixes are not checked.  ``--import`` of an
Excel/CSV list (网格编码 with 所辖小区 and/or 楼栋, no geometry) draws each grid from the
compounds/buildings it names, matched by name to ``--compounds FILE`` (a compound ledger) or to
the project's own demand (its compound ledger, or its named buildings); names that match
nothing are listed with their line among the problems.

The organisation chart ("支部建在网格": community -> grids -> micro-grids with their branch,
grid head, grid workers, centre households and building heads) is written as
``FILE_orgchart.pdf`` (A3 pages for the wall; a community of many grids runs over several
pages), ``FILE_orgchart.png`` (+ ``_2.png`` ... per page) and ``FILE_orgchart.xlsx`` (one row
per community, grid and micro-grid).  People come from the plan's fields and from
``--roster FILE`` (repeatable; 网格长/网格员/楼栋长/党员中心户 with their grid code, compound or
coordinates, ``--roster-role`` when the file has no role column); names are masked (张*)
unless ``--show-personal`` (the data holder's authorisation).

``--compare FILE FILE ...`` overlays several grid systems (多网合一; each named by its file
name): ``FILE.gpkg`` with layers 对比分区 (the common refinement with every system's code),
不一致 (where a pair disagrees) and 合并方案 (a merged proposal within the household bounds,
coded under ``--parent`` or a placeholder), and ``FILE_compare.xlsx`` (the pairs: area and
households in disagreement; the proposal's grids).

Exit status: 0 done (violations are listed, not fatal), 2 bad arguments or bad
input data (message on stderr).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from tqdm import tqdm

from geo import settings
from geo.access.compounds import residents_from_compounds
from geo.access.units import read_units
from geo.errors import GeoError, InputDataError
from geo.grids.compare import PAIR_HEADERS, compare_systems, merge_systems
from geo.grids.imports import check_grids, grids_from_list, read_grid_list, read_grids
from geo.grids.levels import LEVEL_TREE_HEADERS, LevelPlan, check_levels, demand_plots, levels_table, micro_grids
from geo.grids.orgchart import ORG_HEADERS, organisation_chart, organisation_nodes, place_people
from geo.grids.output import grid_coverage, grids_gdf, plan_to_dict
from geo.grids.plan import check_plan
from geo.grids.rosters import ROLES, Roster, read_roster
from geo.grids.tree import TREE_HEADERS, organisation_diagram, organisation_table
from geo.io.crs import ExportCRS
from geo.io.export import atomic_write, export_crs_for, write_csv, write_xlsx
from geo.io.ledger import LEDGER_KINDS
from geo.io.uploads import read_upload
from geo.maps.qgis_layers import write_styled_gpkg
from geo.project import Project
from geo.workflows import (
    chinese_frame,
    grid_units,
    is_estimate,
    load_analysis,
    official_table,
    project_grids,
    study_area,
    study_area_wgs84,
)
from geo.workflows.outputs import layers_in
from linli.config import cache_dir
from scripts.cli import add_crs, add_lang, count, failed, interrupted, positive, staged_folder

logger = logging.getLogger("scripts.grids")

#: Largest household bound accepted (a grid of 100,000 households is a typo).
MAX_BOUND = 100_000
GRID_HEADERS = {
    "code": "网格编码",
    "parent": "上级编码",
    "name": "网格名称",
    "units": "单元数 (个)",
    "households": "户数 (户)",
    "residents": "人口 (人)",
    "area_m2": "面积 (m²)",
    "polsby_popper": "紧凑度 (4πA/P²)",
    "hull_ratio": "凸包比",
    "branch": "责任支部",
    "grid_member": "网格员",
    "central_households": "党员中心户",
    "flags": "问题",
}
ISSUE_HEADERS = {
    "severity": "级别",
    "kind": "类型",
    "grid": "网格",
    "parent": "上级",
    "message": "说明",
    "units": "单元",
}
MICRO_HEADERS = GRID_HEADERS | {"code": "微网格编码", "parent": "所属网格编码", "name": "微网格名称"}
CODE_RE = re.compile(r"^\d{6}(\d{3}(\d{3})?)?$")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m scripts.grids",
        description="网格划定、编码与检查 (management grids: generate, code, check)",
    )
    parser.add_argument("--project", required=True, help="项目: demo, huian or a .toml file")
    parser.add_argument("--out", required=True, type=Path, help="output GeoPackage (.gpkg)")
    parser.add_argument("--parent", default=None, help="社区/村 polygon file, or one official division code")
    parser.add_argument("--parent-system", default="wgs84", help="CSV/XLSX coordinate system of --parent/--units")
    parser.add_argument("--units", default=None, type=Path, help="planner's unit polygons instead of street blocks")
    parser.add_argument("--water", default=None, type=Path, help="water polygons cut out of the street blocks")
    parser.add_argument(
        "--min-households",
        type=positive(MAX_BOUND, "户"),
        default=None,
        help="floor per grid (default 300; 100 --village)",
    )
    parser.add_argument(
        "--max-households",
        type=positive(MAX_BOUND, "户"),
        default=None,
        help="ceiling per grid (default 500; 300 --village)",
    )
    parser.add_argument("--village", action="store_true", help="village defaults for the bounds")
    parser.add_argument(
        "--seed", type=count(0, 2**31 - 1), default=0, help="seed of the tie-breaking (same seed, same grids)"
    )
    parser.add_argument("--no-coverage", action="store_true", help="skip the coverage figures per grid")
    parser.add_argument("--import", dest="import_file", type=Path, default=None, help="check existing grids")
    parser.add_argument(
        "--compounds", type=Path, default=None, help="小区台账 for --import of a list (default: the project's)"
    )
    parser.add_argument("--compare", nargs="+", type=Path, default=None, metavar="FILE", help="grid systems to compare")
    parser.add_argument("--levels", action="store_true", help="also micro-grids (微网格/网点) inside each grid")
    parser.add_argument(
        "--micro-min-households",
        type=positive(MAX_BOUND, "户"),
        default=settings.GRID_MICRO_MIN_HOUSEHOLDS,
        help="floor per micro-grid (default 10)",
    )
    parser.add_argument(
        "--micro-max-households",
        type=positive(MAX_BOUND, "户"),
        default=settings.GRID_MICRO_MAX_HOUSEHOLDS,
        help="ceiling per micro-grid (default 50)",
    )
    parser.add_argument("--roster", type=Path, action="append", default=None, help="名册 for the organisation chart")
    parser.add_argument("--roster-role", choices=ROLES, default=None, help="role of every row of a roster without one")
    parser.add_argument("--roster-system", default="gcj02", choices=("wgs84", "gcj02", "bd09"))
    parser.add_argument("--show-personal", action="store_true", help="names in clear (needs authorisation)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_lang(parser)
    add_crs(parser)  # h-deliver (issue 21): the generated grids' GeoPackages in CGCS2000 on request
    return parser


def _parents(project: Project, parent: str | None, system: str) -> gpd.GeoDataFrame:
    crs = project.network.crs
    if parent is None:
        if "community" in project.units:
            return project.units["community"].to_crs(crs)[["code", "name", "geometry"]]
        return gpd.GeoDataFrame(
            {"code": [settings.GRID_DEFAULT_PARENT_CODE], "name": [project.name]},
            geometry=[study_area(project)],
            crs=crs,
        )
    path = Path(parent)
    if CODE_RE.match(parent) and not path.exists():
        from geo.grids.tree import division_names

        names = division_names()
        if parent not in names:
            raise InputDataError(
                f"区划编码 {parent} 不在已知区划中（惠安县的镇街 9 位、社区/村 12 位编码见 "
                f"data/boundaries/huian_divisions.csv）；或用 --parent 文件 给出多边形 "
                f"(unknown division code; give a known code or a polygon file)"
            )
        return gpd.GeoDataFrame({"code": [parent], "name": [names[parent]]}, geometry=[study_area(project)], crs=crs)
    if not path.is_file():
        raise InputDataError(
            f"--parent 既不是已有文件也不是 6/9/12 位区划编码: {path.name} (not a file nor a division code)"
        )
    return read_units(path, system=system, study_area=study_area_wgs84(project)).to_crs(crs)


def _units(
    project: Project, parents: gpd.GeoDataFrame, units_file: Path | None, water_file: Path | None, system: str
) -> gpd.GeoDataFrame:
    crs = project.network.crs
    water = None
    if water_file is not None:
        frame = read_upload(water_file, expected="polygon", system=system, study_area=study_area_wgs84(project))
        water = shapely.union_all(shapely.make_valid(frame.to_crs(crs).geometry.to_numpy()))
    polygons = None
    if units_file is not None:
        polygons = read_units(units_file, system=system, study_area=study_area_wgs84(project))
    return grid_units(project, parents, polygons=polygons, water=water)


def _summary(grids: gpd.GeoDataFrame, issues: list, lo: float, hi: float) -> str:
    hh = grids["households"]
    ok = ((hh >= lo) & (hh <= hi)).sum()
    lines = [
        f"网格 grids: {len(grids)}   户数 households: {hh.sum():,.0f}   "
        f"人口 residents: {grids['residents'].sum():,.0f}",
        f"每格户数 per grid: 最少 {hh.min():.0f} / 中位 {hh.median():.0f} / 最多 {hh.max():.0f}; "
        f"{ok}/{len(grids)} 在 {lo:g}-{hi:g} 户之间 (within bounds)",
        f"紧凑度 Polsby-Popper 中位 median {grids['polsby_popper'].median():.2f}",
        "",
        f"{'网格编码':<18}{'户数':>8}{'人口':>9}{'单元':>6}{'紧凑度':>8}  问题",
    ]
    for _, row in grids.head(60).iterrows():
        lines.append(
            f"{row['code']:<20}{row['households']:>8.0f}{row['residents']:>10.0f}{row['units']:>7d}"
            f"{row['polsby_popper']:>9.2f}  {row['flags']}"
        )
    if len(grids) > 60:
        lines.append(f"... 另有 {len(grids) - 60} 个网格 (more grids in the CSV)")
    counts = pd.Series([i.kind for i in issues]).value_counts()
    lines.append("")
    lines.append("问题 issues: " + ("无 none" if counts.empty else ", ".join(f"{k} {v}" for k, v in counts.items())))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the job; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if args.out.suffix.lower() != ".gpkg":
        parser.error(f"--out 应为 .gpkg 文件 (output must be a .gpkg file): {args.out.name}")
    lo = args.min_households or (
        settings.GRID_VILLAGE_MIN_HOUSEHOLDS if args.village else settings.GRID_URBAN_MIN_HOUSEHOLDS
    )
    hi = args.max_households or (
        settings.GRID_VILLAGE_MAX_HOUSEHOLDS if args.village else settings.GRID_URBAN_MAX_HOUSEHOLDS
    )
    if lo > hi:
        parser.error(f"--min-households {lo:g} 大于 --max-households {hi:g} (floor above ceiling)")
    if args.levels and args.micro_min_households > args.micro_max_households:
        parser.error(
            f"--micro-min-households {args.micro_min_households:g} 大于 --micro-max-households "
            f"{args.micro_max_households:g} (floor above ceiling)"
        )
    if args.compare is not None and len(args.compare) < 2:
        parser.error("--compare 需要至少两个网格文件 (--compare needs at least two grid files)")
    if args.import_file is not None:
        return _import(args, lo, hi)
    if args.compare is not None:
        return _compare(args, lo, hi)
    steps = ["读取项目 load", "单元 units", "划分 grids", "覆盖 coverage", "写出 write"]
    bar = tqdm(total=len(steps), disable=args.quiet, desc=f"网格 {args.project}")
    try:
        bar.set_postfix_str(steps[0])
        analysis = load_analysis(args.project, times=False, cache_dir=cache_dir())
        project = analysis.project
        parents = _parents(project, args.parent, args.parent_system)
        bar.update()
        bar.set_postfix_str(steps[1])
        units = _units(project, parents, args.units, args.water, args.parent_system)
        bar.update()
        bar.set_postfix_str(steps[2])
        plan = project_grids(
            project, parents=parents, units=units, min_households=lo, max_households=hi, seed=args.seed
        )
        bar.update()
        bar.set_postfix_str(steps[3])
        grids = grids_gdf(plan)
        if not args.no_coverage:
            coverage = grid_coverage(plan, load_analysis(project).accessibility, grids=grids)
            if len(coverage):
                grids = grids.merge(coverage, on="code", how="left")
        issues = [*plan.notes, *check_plan(plan)]
        micro = None
        if args.levels:
            micro = micro_grids(
                plan,
                demand_plots(plan, project.demand),
                min_households=args.micro_min_households,
                max_households=args.micro_max_households,
                seed=args.seed,
            )
            known = len(issues) - len(plan.notes)
            issues = [*issues, *micro.notes, *check_levels(LevelPlan(grids=plan, micro=micro))[known:]]
        people = None
        if args.roster:
            micro_gdf = grids_gdf(micro) if micro is not None else None
            rosters = [read_roster(p, role=args.roster_role, system=args.roster_system) for p in args.roster]
            rows = pd.concat([r.rows for r in rosters], ignore_index=True)
            people = place_people(Roster(rows, rosters[0].file), grids, micro_gdf)
        nodes = organisation_nodes(
            LevelPlan(grids=plan, micro=micro) if micro is not None else plan,
            people=people,
            show_personal=args.show_personal,
        )
        bar.update()
        bar.set_postfix_str(steps[4])
        folder = args.out.parent  # the GeoPackage and its CSV/SVG/PNG/JSON siblings reach it together
        estimated = is_estimate(project.demand)
        crs = export_crs_for(args.crs, grids)
        with staged_folder(folder, scratch_in=folder) as stage:
            _write(stage / args.out.name, plan, grids, issues, estimated=estimated, lang=args.lang, crs=crs)
            if micro is not None:
                _write_micro(stage / args.out.name, plan, micro, estimated=estimated, lang=args.lang, crs=crs)
            masked = not args.show_personal
            _write_orgchart(stage / args.out.name, nodes, lang=args.lang, masked=masked, estimated=estimated)
        bar.update()
    except KeyboardInterrupt:
        bar.close()
        return interrupted(args.out)
    except (GeoError, OSError) as exc:
        return failed(exc, bar)
    bar.close()
    print(_summary(grids, issues, lo, hi))
    if micro is not None:
        print(
            f"微网格 micro-grids: {len(micro.codes)} ({args.micro_min_households:g}-{args.micro_max_households:g} 户)"
        )
    print(f"结果 results -> {args.out}")
    return 0


def _write(
    out: Path, plan, grids: gpd.GeoDataFrame, issues: list, *, estimated: bool, lang: str, crs: ExportCRS | None = None
) -> None:
    units = plan.units.assign(grid=plan.grid)
    stem = out.with_suffix("")
    headers = GRID_HEADERS | (
        {"households": "估算户数 (户)", "residents": "估算人口 (人)"} if estimated else {}
    )  # households from buildings are estimates, and say so
    table = grids.drop(columns="geometry")
    # Chinese headers and values; households and residents as whole numbers, codes as text
    # (write_csv makes formula-like cells text); the GeoPackage keeps the exact figures.
    sheet = official_table(
        table,
        [*GRID_HEADERS, *(c for c in table.columns if c not in GRID_HEADERS)],
        headers=headers,
        estimated=estimated,
        lang=lang,
    )
    issue_frame = official_table(
        pd.DataFrame([{**i.to_dict(), "units": " ".join(i.units)} for i in issues], columns=list(ISSUE_HEADERS)),
        list(ISSUE_HEADERS),
        headers=ISSUE_HEADERS,
        lang=lang,
    )
    tree = organisation_table(plan, grids=grids)
    layers = {
        "grids": chinese_frame(grids, headers=headers, estimated=estimated, lang=lang),
        "units": chinese_frame(units, estimated=estimated, lang=lang),
        "parents": chinese_frame(plan.parents, estimated=estimated, lang=lang),
    }
    write_styled_gpkg(layers_in(layers, lang), out, crs=crs)
    write_csv(sheet, out.with_suffix(".csv"))
    write_csv(issue_frame, Path(f"{stem}_issues.csv"))
    write_csv(official_table(tree, list(TREE_HEADERS), headers=TREE_HEADERS, lang=lang), Path(f"{stem}_tree.csv"))
    for suffix in (".svg", ".png"):
        atomic_write(Path(f"{stem}_tree{suffix}"), lambda tmp: organisation_diagram(tree, tmp))
    atomic_write(
        Path(f"{stem}.plan.json"),
        lambda tmp: tmp.write_text(json.dumps(plan_to_dict(plan), ensure_ascii=False, allow_nan=False), "utf-8"),
    )


def _write_orgchart(out: Path, nodes: pd.DataFrame, *, lang: str, masked: bool, estimated: bool) -> None:
    """The organisation chart for the wall (PDF pages, PNG per page) and its table (XLSX)."""
    stem = out.with_suffix("")
    for suffix in (".pdf", ".png"):
        organisation_chart(nodes, Path(f"{stem}_orgchart{suffix}"), masked=masked, estimated=estimated)
    headers = ORG_HEADERS | ({"households": "估算户数 (户)"} if estimated else {})
    table = official_table(nodes, list(ORG_HEADERS), headers=headers, estimated=estimated, lang=lang)
    write_xlsx({"组织架构" if lang == "zh" else "organisation": table}, Path(f"{stem}_orgchart.xlsx"))


def _import(args: argparse.Namespace, lo: float, hi: float) -> int:
    """Check existing grids: read, one check, write the layer and the problems."""
    try:
        project = load_analysis(args.project, times=False, cache_dir=cache_dir()).project
        area = study_area_wgs84(project)
        listed: list = []
        if args.import_file.suffix.lower() in LEDGER_KINDS:
            grids, listed = _grids_of_list(project, args.import_file, args.compounds)
        else:
            grids = read_grids(args.import_file, system=args.parent_system, study_area=area)
        parents = None
        if args.parent is not None or "community" in project.units:
            parents = _parents(project, args.parent, args.parent_system)
        issues = [*listed, *check_grids(grids, parents, min_households=lo, max_households=hi)]
        problems = pd.DataFrame(
            [{**i.to_dict(), "units": " ".join(i.units)} for i in issues], columns=list(ISSUE_HEADERS)
        )
        flags = problems.groupby("grid")["kind"].agg(lambda k: " ".join(sorted(set(k))))
        grids["flags"] = grids["code"].map(flags).fillna("")
        headers = {
            "code": "网格编码",
            "name": "网格名称",
            "households": "户数 (户)",
            "parent": "上级编码",
            "places": "匹配小区/楼栋 (个)",
            "flags": "问题",
        }
        layer = chinese_frame(grids, headers=headers, lang=args.lang)
        write_styled_gpkg({("网格" if args.lang == "zh" else "grids"): layer}, args.out)
        sheet = official_table(problems, list(ISSUE_HEADERS), headers=ISSUE_HEADERS, lang=args.lang)
        write_xlsx({"问题" if args.lang == "zh" else "issues": sheet}, Path(f"{args.out.with_suffix('')}_issues.xlsx"))
    except (GeoError, OSError) as exc:
        return failed(exc)
    counts = problems["kind"].value_counts()
    print(f"网格 grids: {len(grids)}   问题 issues: " + (", ".join(f"{k} {v}" for k, v in counts.items()) or "无 none"))
    print(f"结果 results -> {args.out}")
    return 0


def _grids_of_list(project: Project, path: Path, compounds_file: Path | None) -> tuple[gpd.GeoDataFrame, list]:
    """A list of codes with their compounds/buildings drawn as grids, and its unmatched names as issues."""
    listing = read_grid_list(path)
    if compounds_file is not None:
        compounds = residents_from_compounds(
            compounds_file, network=project.network, study_area=study_area_wgs84(project)
        ).to_crs(project.network.crs)
        buildings = None
    else:
        demand = project.demand
        own = demand if "name" in demand.columns else None
        is_compounds = own is not None and (own["source"].astype(str) == "compounds").all()
        compounds, buildings = (own, None) if is_compounds else (None, own)
    result = grids_from_list(listing, compounds, buildings, extent=study_area(project))
    return result.grids.to_crs(4326), result.issues()


def _compare(args: argparse.Namespace, lo: float, hi: float) -> int:
    """Compare grid systems: read, one comparison and one merge, write the layers and the table."""
    try:
        project = load_analysis(args.project, times=False, cache_dir=cache_dir()).project
        area = study_area_wgs84(project)
        systems = {}
        for path in args.compare:
            name = path.stem if path.stem not in systems else f"{path.stem}_{len(systems) + 1}"
            systems[name] = read_grids(path, system=args.parent_system, study_area=area).to_crs(project.network.crs)
        comparison = compare_systems(systems, project.demand)
        parents = _parents(project, args.parent, args.parent_system) if args.parent is not None else None
        merged = merge_systems(comparison, parents, min_households=lo, max_households=hi, seed=args.seed)
        merged_grids = grids_gdf(merged)
        hh_header = "估算户数 (户)" if is_estimate(project.demand) else "户数 (户)"  # from buildings: estimates
        grid_headers = GRID_HEADERS | {
            "households": hh_header,
            "residents": hh_header.replace("户数 (户)", "人口 (人)"),
        }
        piece_headers = {"piece": "分区编号", "area_m2": "面积 (m²)", "households": hh_header} | {
            f"code_{n}": f"{n}网格编码" for n in comparison.systems
        }
        diff_headers = {
            "piece": "分区编号",
            "system_a": "网格体系甲",
            "system_b": "网格体系乙",
            "code_a": "甲网格编码",
            "code_b": "乙网格编码",
            "area_m2": "面积 (m²)",
            "households": hh_header,
        }
        layers = {
            "对比分区" if args.lang == "zh" else "pieces": chinese_frame(
                comparison.pieces, headers=piece_headers, lang=args.lang
            ),
            "不一致" if args.lang == "zh" else "disagreement": chinese_frame(
                comparison.disagreement, headers=diff_headers, lang=args.lang
            ),
            "合并方案" if args.lang == "zh" else "merged": chinese_frame(
                merged_grids, headers=grid_headers, lang=args.lang
            ),
        }
        write_styled_gpkg(layers, args.out)
        pairs = official_table(comparison.pairs, list(PAIR_HEADERS), headers=PAIR_HEADERS, lang=args.lang)
        plain = merged_grids.drop(columns="geometry")
        proposal = official_table(
            plain, [c for c in GRID_HEADERS if c in plain.columns], headers=grid_headers, lang=args.lang
        )
        write_xlsx(
            {
                "两两对比" if args.lang == "zh" else "pairs": pairs,
                "合并方案" if args.lang == "zh" else "merged": proposal,
            },
            Path(f"{args.out.with_suffix('')}_compare.xlsx"),
        )
    except (GeoError, OSError) as exc:
        return failed(exc)
    for row in comparison.pairs.itertuples():
        print(
            f"{row.system_a} / {row.system_b}: 不一致 {row.disagree_m2:,.0f} m² ({row.disagree_pct:.1f} %), "
            f"{row.disagree_households:,.0f} 户 (disagreement)"
        )
    print(f"合并方案 merged proposal: {len(merged.codes)} 个网格 ({lo:g}-{hi:g} 户)")
    print(f"结果 results -> {args.out}")
    return 0


def _write_micro(out: Path, plan, micro, *, estimated: bool, lang: str, crs: ExportCRS | None = None) -> None:
    """The micro-grids: a layer of the GeoPackage, an XLSX (grids and their issues) and the plan."""
    table = grids_gdf(micro)
    headers = MICRO_HEADERS | ({"households": "估算户数 (户)", "residents": "估算人口 (人)"} if estimated else {})
    write_styled_gpkg(
        {
            ("微网格" if lang == "zh" else "micro_grids"): chinese_frame(
                table, headers=headers, estimated=estimated, lang=lang
            )
        },
        Path(f"{out.with_suffix('')}_micro.gpkg"),
        crs=crs,
    )
    plain = table.drop(columns="geometry")
    columns = [c for c in MICRO_HEADERS if c in plain.columns]
    sheet = official_table(
        plain,
        [*columns, *(c for c in plain.columns if c not in MICRO_HEADERS)],
        headers=headers,
        estimated=estimated,
        lang=lang,
    )
    found = check_plan(micro)
    problems = official_table(
        pd.DataFrame(
            [{**i.to_dict(), "units": " ".join(i.units)} for i in [*micro.notes, *found]], columns=list(ISSUE_HEADERS)
        ),
        list(ISSUE_HEADERS),
        headers=ISSUE_HEADERS,
        lang=lang,
    )
    tree = official_table(
        levels_table(LevelPlan(grids=plan, micro=micro)),
        list(LEVEL_TREE_HEADERS),
        headers=LEVEL_TREE_HEADERS,
        lang=lang,
    )
    write_xlsx(
        {
            "微网格" if lang == "zh" else "micro_grids": sheet,
            "问题" if lang == "zh" else "issues": problems,
            "组织架构" if lang == "zh" else "tree": tree,
        },
        Path(f"{out.with_suffix('')}_micro.xlsx"),
    )
    atomic_write(
        Path(f"{out.with_suffix('')}_micro.plan.json"),
        lambda tmp: tmp.write_text(json.dumps(plan_to_dict(micro), ensure_ascii=False, allow_nan=False), "utf-8"),
    )


if __name__ == "__main__":
    sys.exit(main())
