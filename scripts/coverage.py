"""Coverage of the six functions for one or many study areas, as a batch job.

    python -m scripts.coverage --project demo --out out/coverage \
        [--minutes 15] [--by town|community|grid|FILE] [--workers N] \
        [--weight oldest_old|empty_nest|hardship|COLUMN] [--special-groups 名单.xlsx]

For each project: the walking time from every demand point to the nearest facility
of every function and facility type, coverage per function and type (whole area and
per area unit), gap cells, the life-circle check (GB 50180-2018 for the county seat's
communities, TD/T 1062-2021 for villages and towns: ``--standard``, the units' 城乡类型 or the
project's ``area_type``), and a map per function.  Writes
into ``--out`` (a folder per project when several are given):

* ``coverage.xlsx`` — 说明 (assumptions), 汇总 (summary), 达标检查 (standard check),
  one sheet per function, 缺口 (gaps); Chinese headers with units;
* ``coverage.csv`` — the coverage table (UTF-8 with BOM, opens in Excel);
* ``coverage.gpkg`` — layers ``demand`` (times), ``units`` (percentages), ``gaps``,
  ``facilities``, in WGS84;
* ``maps/coverage_<function>.png``.

``--weight COLUMN`` judges every function by a demand column instead of residents: the special
groups ``oldest_old`` (高龄老人), ``empty_nest`` (空巢老人), ``hardship`` (困难群众) — counted from
the compound ledger's own columns (高龄老人数 ...) or from ``--special-groups FILE``, a list of
individuals (类别 and 小区/住址/网格编码/经纬度; names are never read) — or any numeric column.
Only counts per demand point reach the files; the records not counted are listed by line in the
sheet 特殊群体未计入.

Each project's network is loaded once, whatever the number of area units.
Exit status: 0 done, 2 bad arguments or bad input data (message on stderr).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import logging
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from tqdm import tqdm

from geo import settings
from geo.access.coverage import ALL_UNITS, BASIS_ZH
from geo.access.standards import STANDARD_FILES
from geo.errors import GeoError, InputDataError
from geo.io.crs import WGS84, ExportCRS
from geo.io.export import COVERAGE_HEADERS_ZH, export_crs_for, write_csv, write_xlsx
from geo.maps.content import coverage_map
from geo.maps.qgis_layers import write_styled_gpkg
from geo.project import Project, load_project
from geo.workflows import (
    analyse_coverage,
    analysis_units,
    chinese_frame,
    is_estimate,
    load_analysis,
    official_table,
    weigh_analysis,
)
from geo.workflows.outputs import LIFE_CIRCLE_CHECK_HEADERS, group_zh, layers_in
from linli.config import cache_dir
from scripts.cli import MINUTES, add_crs, add_lang, fraction, interrupted, positive, staged_folder

logger = logging.getLogger("scripts.coverage")


#: Columns of the coverage sheets (English keys; Chinese headers from geo.workflows.outputs).
COVERAGE_COLUMNS = tuple(c for c in COVERAGE_HEADERS_ZH if c != "group")  # name_zh names the group
#: Headers of the life-circle check; the English verdict and item keys are not shown.
CHECK_HEADERS = LIFE_CIRCLE_CHECK_HEADERS
#: ``--standard`` choices: each unit by its type (auto), or one standard for every unit.
STANDARD_CHOICES = ("auto", *STANDARD_FILES)
GAP_COLUMNS = (
    "rank",
    "group",
    "uncovered",
    "population",
    "uncovered_pct",
    "points",
    "mean_time_min",
    "x_wgs84",
    "y_wgs84",
)
GAP_HEADERS = {"group": "功能", "mean_time_min": "未覆盖点平均步行时间 (分钟)"}


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m scripts.coverage",
        description="六大功能步行覆盖、缺口与生活圈达标检查 GB 50180-2018 / TD/T 1062-2021 (coverage, gaps, check)",
    )
    parser.add_argument(
        "--project", nargs="+", required=True, help="项目: demo, huian or .toml files (several allowed)"
    )
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument(
        "--minutes",
        type=MINUTES,
        default=max(settings.DEFAULT_BUDGETS_MIN),
        help="budget of the six functions in minutes (default 15); types use their standard radius",
    )
    parser.add_argument("--single-budget", action="store_true", help="judge every facility type by --minutes too")
    parser.add_argument("--by", default="none", help="area units: none, town, community, grid or a polygon file")
    parser.add_argument("--by-system", default="wgs84", help="CSV/XLSX coordinate system of --by (wgs84|gcj02|bd09)")
    parser.add_argument(
        "--level", default="15_minute", help="urban life-circle level checked: 15_minute|10_minute|5_minute"
    )
    parser.add_argument(
        "--standard",
        choices=STANDARD_CHOICES,
        default="auto",
        help="life-circle standard: auto (by the units' 城乡类型 or the project's area_type), "
        "gb50180 (urban) or tdt1062 (rural) for every unit",
    )
    parser.add_argument(
        "--rural-level",
        choices=("township", "village"),
        default=None,
        help="rural level of units without one (default: township for a whole area, village per unit)",
    )
    parser.add_argument(
        "--town-speed",
        type=positive(60, "km/h"),
        default=None,
        help="speed (km/h) of the town level's electric-bicycle reach (default 20)",
    )
    parser.add_argument(
        "--required-pct",
        type=positive(100, "%"),
        default=settings.STANDARD_REQUIRED_COVERAGE_PCT,
        help="share of residents within the radius for 'pass' (default 100)",
    )
    parser.add_argument("--elderly-share", type=fraction, default=None, help="share of residents aged 60+, e.g. 0.18")
    parser.add_argument("--children-share", type=fraction, default=None, help="share of children 0-6, e.g. 0.06")
    parser.add_argument(
        "--cell-m",
        type=positive(5000, "米"),
        default=settings.GAP_CELL_M,
        help="gap-map cell size in metres",
    )
    parser.add_argument("--weight", default=None, help="demand column to weigh by: oldest_old|empty_nest|hardship|…")
    parser.add_argument("--special-groups", type=Path, default=None, help="高龄/空巢/困难群众 list (CSV/XLSX)")
    parser.add_argument("--special-groups-system", default="gcj02", choices=("wgs84", "gcj02", "bd09"))
    parser.add_argument("--workers", type=int, default=1, help="projects processed in parallel (processes)")
    parser.add_argument("--no-maps", action="store_true", help="skip the PNG maps")
    add_lang(parser)
    add_crs(parser)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return parser


@dataclass(frozen=True)
class Job:
    """One project's run: its arguments, picklable for a worker process."""

    project: str
    out: Path
    minutes: float
    single_budget: bool
    by: str
    by_system: str
    level: str
    required_pct: float
    elderly_share: float | None
    children_share: float | None
    cell_m: float
    maps: bool
    quiet: bool
    position: int = 0
    lang: str = "zh"
    standard: str = "auto"
    rural_level: str | None = None
    town_speed_kmh: float | None = None
    weight: str | None = None
    special_groups: Path | None = None
    special_groups_system: str = "gcj02"
    crs: str = "wgs84"  # the GeoPackage's coordinate system (--crs); the zone is each project's own


def _facility_sources(facilities: pd.DataFrame) -> str:
    """Where the facilities came from: OpenStreetMap and/or the ledger files by name."""
    if "source" not in facilities.columns or facilities.empty:
        return "OpenStreetMap"
    return "、".join(sorted({str(s) for s in facilities["source"].dropna()})) or "OpenStreetMap"


def _notes(project: Project, acc, job: Job, check: pd.DataFrame | None = None) -> pd.DataFrame:
    prof = acc.profile
    estimated = is_estimate(acc.demand)
    sources = _facility_sources(acc.facilities)
    rows = [
        ("项目", project.name),
        ("日期", dt.date.today().isoformat()),
        ("出行方式", f"{prof.label_zh} {prof.speed_kmh:g} km/h ({prof.source})"),
        ("功能步行时间阈值", f"{job.minutes:g} 分钟 ≈ {prof.metres_in(job.minutes):.0f} m"),
        (
            "设施类型时间阈值",
            "统一时间阈值" if job.single_budget else "按标准服务半径",
        ),
        ("标准", f"{acc.standard.code} {acc.standard.title_zh} ({acc.standard.source})"),
        (
            "生活圈检查标准",
            "、".join(sorted(set(check["standard"]))) if check is not None and len(check) else acc.standard.code,
        ),
        (
            "标准选择",
            "规划师指定 " + job.standard
            if job.standard != "auto"
            else f"按分区城乡类型；无类型的分区按项目类型「{'乡村' if project.area_type == 'rural' else '城镇'}」",
        ),
        ("待核实", "标有“待核实”的服务半径、出行时间或条文尚未与标准原文核对，仅供参考"),
        ("达标要求", f"半径内人口 ≥ {job.required_pct:g}%"),
        (
            "估算人口" if estimated else "人口",
            f"{len(acc.demand)} 个需求点, {acc.demand['residents'].sum():,.0f} 人",
        ),
        (
            "人口估算口径" if estimated else "人口口径",
            "; ".join(sorted({str(a) for a in acc.demand.get("assumption", pd.Series([])).dropna()})) or "见需求数据",
        ),
        (
            "未连通路网",
            f"{int((~acc.demand['snapped']).sum())} 个需求点距道路超过 {settings.MAX_SNAP_DIST_M:g} m",
        ),
        ("缺口网格", f"{job.cell_m:g} m 方格"),
        (
            "坐标系",
            f"计算 {project.network.crs.to_string()}; 输出图层 {_export_crs(job, project, acc).note_zh}; "
            "表中缺口中心经纬度为 WGS84",
        ),
        ("设施来源", sources if sources != "OpenStreetMap" else "© OpenStreetMap contributors (ODbL)"),
        *(("台账读取", note) for note in project.source_notes),
        ("路网与建筑来源", "© OpenStreetMap contributors (ODbL)"),
    ]
    if acc.weight is not None:
        rows.append(
            ("加权", f"各功能按需求点的「{BASIS_ZH.get(acc.weight, acc.weight)}」计 (weighted by {acc.weight})")
        )
    for group, note in acc.budget_note.items():
        rows.append((f"时间阈值 {group_zh(group)}", note))
    return pd.DataFrame(rows, columns=["项目", "说明"])


def run_job(job: Job) -> pd.DataFrame:
    """Run one project; returns its whole-area function summary."""
    steps = ["读取项目 load", "可达时间 times", "覆盖统计与缺口 tables, gaps", "地图 maps", "写出 write"]
    bar = tqdm(total=len(steps), disable=job.quiet, desc=f"覆盖 {job.project}", position=job.position, leave=True)

    def step(k: int) -> None:
        bar.set_postfix_str(steps[k])

    step(0)
    project = load_project(job.project, cache_dir=cache_dir())
    units = analysis_units(project, job.by, system=job.by_system)
    bar.update()
    step(1)
    analysis = load_analysis(
        project,
        minutes=job.minutes,
        units=units,
        elderly_share=job.elderly_share,
        children_share=job.children_share,
        single_budget=job.single_budget,
    )
    weighed = weigh_analysis(
        analysis,
        job.weight,
        special_groups=job.special_groups,
        system=job.special_groups_system,
        grids=units if units is not None and "code" in units.columns else None,
    )
    analysis = weighed.analysis
    acc = analysis.accessibility
    bar.update()
    step(2)
    result = analyse_coverage(
        analysis,
        level=job.level,
        required_pct=job.required_pct,
        cell_m=job.cell_m,
        standard=None if job.standard == "auto" else job.standard,
        rural_level=job.rural_level,
        speeds_kmh={"ebike": job.town_speed_kmh} if job.town_speed_kmh else None,
    )
    table, check, gaps = result.table, result.check, result.gaps
    bar.update()
    step(3)
    if job.maps:
        for function in acc.functions.groups:
            coverage_map(
                acc,
                function,
                job.out / "maps" / f"coverage_{function}.png",
                network=project.network,
                boundary=project.boundary,
                units=units,
                gaps=gaps[gaps["group"] == function],
            )
    bar.update()
    step(4)
    _write_outputs(job, project, acc, table, check, gaps, units, weighed.unmatched)
    bar.update()
    bar.close()
    whole = table[(table["unit"] == ALL_UNITS) & (table["kind"] == "function")].copy()
    whole.insert(0, "project", project.name)
    whole.insert(1, "project_file", job.project)
    return whole


def _export_crs(job: Job, project: Project, acc) -> ExportCRS:
    """The GeoPackage's coordinate system (``--crs``), its zone from the project's area."""
    area = acc.demand if project.boundary is None else gpd.GeoDataFrame(geometry=[project.boundary], crs=acc.demand.crs)
    return export_crs_for(job.crs, area)


def _write_outputs(job, project, acc, table, check, gaps, units, unmatched) -> None:
    estimated = is_estimate(acc.demand)
    demand = acc.demand.copy()
    for group in acc.groups:
        minutes = acc.times_s(group) / 60.0
        demand[f"time_min_{group}"] = np.where(np.isfinite(minutes), minutes.round(2), np.nan)
        if group in acc.functions.groups:
            demand[f"covered_{group}"] = acc.covered(group)
    layers = {"demand": demand, "facilities": acc.facilities, "gaps": gaps}
    if units is not None:
        wide = table[table["kind"] == "function"].pivot_table(index="unit", columns="group", values="covered_pct")
        wide.columns = [f"pct_{c}" for c in wide.columns]
        layers["units"] = units.merge(wide, left_on="code", right_index=True, how="left")
    # Chinese headers and values; the figures stay exact in the GeoPackage and the CSV.
    lang = job.lang
    frames = {k: chinese_frame(v, estimated=estimated, lang=lang) for k, v in layers.items()}
    write_styled_gpkg(layers_in(frames, lang), job.out / "coverage.gpkg", crs=_export_crs(job, project, acc))
    write_csv(chinese_frame(table, estimated=estimated, lang=lang), job.out / "coverage.csv")
    centre = gaps.geometry.centroid.to_crs(WGS84)
    gap_sheet = gaps.drop(columns="geometry").assign(x_wgs84=centre.x, y_wgs84=centre.y)

    def sheet(frame: pd.DataFrame) -> pd.DataFrame:
        return official_table(
            frame,
            COVERAGE_COLUMNS if lang == "zh" else ("group", *COVERAGE_COLUMNS),
            estimated=estimated,
            headers=COVERAGE_HEADERS_ZH
            | ({"population": "估算人口 (人)", "households": "估算户数 (户)"} if estimated else {}),
            lang=lang,
        )

    zh = lang == "zh"
    sheets = {
        "说明" if zh else "notes": _notes(project, acc, job, check),
        "汇总" if zh else "summary": sheet(table[(table["kind"] == "function")]),
        "达标检查" if zh else "check": official_table(
            check, tuple(CHECK_HEADERS) if zh else None, estimated=estimated, headers=CHECK_HEADERS, lang=lang
        ),
    }
    for function in acc.functions.groups:
        sheets[acc.standard.function_label(function) if zh else function] = sheet(table[table["function"] == function])
    sheets["缺口" if zh else "gaps"] = official_table(
        gap_sheet[gap_sheet["uncovered"] > 0], GAP_COLUMNS, estimated=estimated, headers=GAP_HEADERS, lang=lang
    )
    if len(unmatched):
        sheets["特殊群体未计入" if zh else "special_groups_not_counted"] = unmatched.rename(
            columns={"line": "行号", "why": "说明"} if zh else {}
        )
    write_xlsx(sheets, job.out / "coverage.xlsx")  # formula-safe cells, codes as text, atomic


def _summary(frames: list[pd.DataFrame]) -> str:
    lines = [f"{'项目':<16}{'功能':<10}{'人口口径':<8}{'时间阈值':>6}{'设施':>6}{'覆盖人口':>12}{'覆盖率':>9}"]
    for frame in frames:
        for _, row in frame.iterrows():
            lines.append(
                f"{row['project'][:14]:<16}{row['name_zh']:<10}{BASIS_ZH.get(row['basis'], row['basis']):<8}"
                f"{row['budget_min']:>6.0f}分{row['facilities']:>6d}{row['covered']:>12,.0f}"
                f"{row['covered_pct']:>8.1f}%"
            )
    return "\n".join(lines)


def job_task(jobs: dict[str, Job], project: str, out: str) -> pd.DataFrame:
    """Run the job of ``project`` (the many-areas engine's task; ``out`` is the job's own)."""
    return run_job(jobs[project])


def _on_workers(jobs: list[Job], workers: int, *, quiet: bool) -> list[pd.DataFrame]:
    """Several projects on ``workers`` processes, through the batch engine (Dask, the ``batch`` extra)."""
    from scripts.batch import run_tasks

    quiet_jobs = [replace(job, quiet=True) for job in jobs]
    outcomes, _ = run_tasks(
        functools.partial(job_task, {job.project: job for job in quiet_jobs}),
        [job.project for job in quiet_jobs],
        [job.out for job in quiet_jobs],
        name="coverage",
        desc="覆盖 coverage",
        workers=min(workers, len(jobs)),
        retries=0,
        quiet=quiet,
    )
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise InputDataError("; ".join(f"{Path(o.project).name}: {o.error}" for o in failed))
    return [o.result for o in outcomes]


def main(argv: list[str] | None = None) -> int:
    """Run the job; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if args.workers < 1:
        parser.error("--workers 至少为 1 (at least 1)")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out 应为文件夹 (output must be a folder): {args.out}")
    many = len(args.project) > 1
    try:
        with staged_folder(args.out) as stage:  # the files reach --out only when all are written
            frames = _run_jobs(args, stage, many)
            if many:
                write_csv(pd.concat(frames), stage / "coverage_summary.csv")
    except KeyboardInterrupt:
        return interrupted(args.out)
    except GeoError as exc:
        print(f"错误 (error): {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"错误: 无法写出结果 (cannot write output): {exc.strerror} {exc.filename or ''}", file=sys.stderr)
        return 2
    print(_summary(frames))
    print(f"结果 results -> {args.out}")
    return 0


def _run_jobs(args: argparse.Namespace, stage: Path, many: bool) -> list[pd.DataFrame]:
    """Every project's files written into ``stage``, one table per project."""
    jobs = []
    for k, project in enumerate(args.project):
        out = stage / Path(project).stem if many else stage
        jobs.append(
            Job(
                project=project,
                out=out,
                minutes=args.minutes,
                single_budget=args.single_budget,
                by=args.by,
                by_system=args.by_system,
                level=args.level,
                required_pct=args.required_pct,
                elderly_share=args.elderly_share,
                children_share=args.children_share,
                cell_m=args.cell_m,
                maps=not args.no_maps,
                quiet=args.quiet,
                position=k if args.workers > 1 else 0,
                lang=args.lang,
                standard=args.standard,
                rural_level=args.rural_level,
                town_speed_kmh=args.town_speed,
                weight=args.weight,
                special_groups=args.special_groups,
                special_groups_system=args.special_groups_system,
                crs=args.crs,
            )
        )
    if args.workers > 1 and many:
        return _on_workers(jobs, args.workers, quiet=args.quiet)
    return [run_job(job) for job in jobs]


if __name__ == "__main__":
    sys.exit(main())
