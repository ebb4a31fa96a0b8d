"""Print layouts of a project's maps for meetings, one file per area, as a batch job.

    python -m scripts.export_map --project demo --map coverage|service_areas|grids|placement \
        [--function medical] [--by town|community|grid|FILE] --format png|pdf --out DIR \
        [--paper A4|A3] [--orientation landscape|portrait] [--minutes 15] \
        [--author 张三] [--organisation 惠安县自然资源局] [--reviewer 李四] [--approval-no [审图号]]

The project is loaded and the map computed once; each area (``--by``: a unit level
of the project or a polygon file with code/编码 and name columns) gets its own page
framed on it, the rest of the map dimmed.  Without ``--by`` one page shows the whole
project.  File names: ``<map>_<function>_<area code>_<area name>.<format>``.

Exit status: 0 done, 2 bad arguments or bad input data (message on stderr).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

import geopandas as gpd
from tqdm import tqdm

from geo import settings
from geo.access.life_circle import town_reach
from geo.access.standards import STANDARD_FILES
from geo.access.units import UNIT_LEVELS
from geo.errors import GeoError, InputDataError
from geo.maps.content import MAP_KINDS
from geo.maps.layout import FORMATS, ORIENTATIONS, PAPER_MM, print_fields, render_layout
from geo.maps.style import use_print_fonts
from geo.project import Project
from geo.workflows import analysis_units, check_standard, check_standard_note, load_analysis, project_map
from linli.config import cache_dir
from scripts.cli import MINUTES, count, interrupted, positive, staged_folder

logger = logging.getLogger("scripts.export_map")

#: Characters not allowed in file names on Windows (where the files are opened).
_UNSAFE = re.compile(r'[\\/:*?"<>|\s\x00-\x1f]+')
MAX_AREAS = 2_000


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m scripts.export_map",
        description="会议用打印地图 (PNG/PDF, A4/A3)：每个分区一张 (print layouts, one per area)",
    )
    parser.add_argument("--project", required=True, help="项目: demo, huian or a .toml file")
    parser.add_argument("--map", required=True, choices=list(MAP_KINDS), help="地图类型 map kind")
    parser.add_argument(
        "--function",
        default=None,
        help="功能: elderly, childcare, medical, food, leisure, services 或项目声明的扩展功能 "
        "(default: every function of the project for coverage/service_areas)",
    )
    parser.add_argument("--by", default="none", help="分区: none, town, community, grid or a polygon file")
    parser.add_argument("--by-system", default="wgs84", help="CSV/XLSX coordinate system of --by (wgs84|gcj02|bd09)")
    parser.add_argument("--format", default="png", choices=FORMATS, help="png or pdf")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--paper", default="A4", choices=list(PAPER_MM))
    parser.add_argument("--orientation", default="landscape", choices=ORIENTATIONS)
    parser.add_argument("--dpi", type=count(50, 600), default=150, help="PNG resolution")
    parser.add_argument("--minutes", type=MINUTES, default=max(settings.DEFAULT_BUDGETS_MIN), help="walking budget")
    parser.add_argument("--sites", type=count(1, 50), default=3, help="new centers (placement)")
    # h-rural2 (issue 21): the coverage map names the life-circle check's standard and what is 待核实
    parser.add_argument(
        "--standard",
        choices=("auto", *STANDARD_FILES),
        default="auto",
        help="life-circle check standard named on coverage maps: auto (by the units' 城乡类型), gb50180 or tdt1062",
    )
    parser.add_argument(
        "--town-speed",
        type=positive(60, "km/h"),
        default=None,
        help="speed (km/h) of the town level's electric-bicycle reach in the check (default 20)",
    )
    parser.add_argument("--min-households", type=count(1, 100_000), default=300)
    parser.add_argument("--max-households", type=count(1, 100_000), default=500)
    # The title block: each field defaults to the project's [print] section (a blank line without it).
    parser.add_argument("--author", default=None, help="编制人 (default: the project's [print] author)")
    parser.add_argument("--organisation", default=None, help="编制单位 (default: [print] organisation)")
    parser.add_argument("--reviewer", default=None, help="审核人 (default: [print] reviewer)")
    parser.add_argument("--date", default=None, help="日期 (default: [print] date, else today)")
    parser.add_argument(
        "--approval-no",
        nargs="?",
        const="",
        default=None,
        help="审图号 (without a value: a blank to fill in; default: [print] approval_no)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return parser


def _areas(project: Project, by: str, system: str) -> gpd.GeoDataFrame | None:
    if by not in ("none", *UNIT_LEVELS) and not Path(by).is_file():
        raise InputDataError(f"--by 既不是分区级别也不是已有文件: {Path(by).name} (not a unit level nor a file)")
    areas = analysis_units(project, by, system=system)
    if areas is None:
        return None
    if len(areas) > MAX_AREAS:
        raise InputDataError(f"分区过多: {len(areas)} 个，上限 {MAX_AREAS} (too many areas)")
    return areas.to_crs(project.network.crs)


def file_name(kind: str, function: str | None, code: str | None, name: str | None, fmt: str) -> str:
    """``coverage_medical_350521100_螺城镇.png``: Chinese kept, characters Windows refuses replaced."""
    parts = [kind, function, code, name]
    stem = "_".join(_UNSAFE.sub("-", str(p)).strip("-.") for p in parts if p)
    return f"{stem[:150]}.{fmt}"


def main(argv: list[str] | None = None) -> int:
    """Run the job; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    use_print_fonts()
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out 应为文件夹 (output must be a folder): {args.out.name}")
    if args.min_households > args.max_households:
        parser.error("--min-households 不能大于 --max-households (min above max)")
    fields = {
        "author": args.author,
        "organisation": args.organisation,
        "reviewer": args.reviewer,
        "date": args.date,
        "approval_no": args.approval_no,
    }
    try:
        with staged_folder(args.out) as stage:  # the maps reach --out only when all are drawn
            written = _draw_maps(args, fields, stage)
    except KeyboardInterrupt:
        return interrupted(args.out)
    except GeoError as exc:
        print(f"错误 (error): {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"错误: 无法写出地图 (cannot write output): {exc.strerror} {Path(exc.filename or '').name}", file=sys.stderr
        )
        return 2
    print(f"{len(written)} 张地图 maps -> {args.out}")
    return 0


def _draw_maps(args: argparse.Namespace, fields: dict, stage: Path) -> list[Path]:
    """Every map of the run drawn into ``stage``; their names."""
    written = []
    analysis = load_analysis(
        args.project, minutes=args.minutes, times=args.map in ("coverage", "placement"), cache_dir=cache_dir()
    )
    project = analysis.project
    fields = print_fields(project.print_fields, fields)  # the options over the project's [print]
    if args.map == "grids":
        functions: list[str | None] = [None]
    elif args.function is not None or args.map == "placement":
        functions = [args.function or "medical"]
        project.standard.function_label(functions[0])  # an unknown function names the allowed ones
    else:
        functions = list(project.standard.functions)
    note = ""
    if args.map == "coverage":  # one check for every function's map
        check = check_standard(
            analysis,
            standard=None if args.standard == "auto" else args.standard,
            speeds_kmh={"ebike": args.town_speed} if args.town_speed else None,
        )
        town = town_reach(speed_kmh=args.town_speed).note_zh
        note = check_standard_note(check, chosen=args.standard, town_reach_zh=town)
    areas = _areas(project, args.by, args.by_system)
    rows = (
        [(None, None, None)]
        if areas is None
        else [(str(r["code"]), str(r["name"]), r.geometry) for _, r in areas.iterrows()]
    )
    bar = tqdm(total=len(rows) * len(functions), disable=args.quiet, desc=f"地图 {MAP_KINDS[args.map]}")
    for function in functions:
        pm = project_map(
            analysis,
            args.map,
            function=function or "medical",
            minutes=args.minutes,
            sites=args.sites,
            min_households=args.min_households,
            max_households=args.max_households,
            fields=fields,
            check_note=note,
        )
        for code, name, geom in rows:
            content = pm.content if geom is None else pm.content.around(geom)
            path = stage / file_name(args.map, function, code, name, args.format)
            render_layout(
                content,
                path,
                text=pm.text(name or code, geom),
                paper=args.paper,
                orientation=args.orientation,
                dpi=args.dpi,
            )
            written.append(args.out / path.relative_to(stage))
            bar.update()
    bar.close()
    return written


if __name__ == "__main__":
    sys.exit(main())
