"""The building programme of neighbourhood centres: coverage by phase and the wall map.

    python -m scripts.programme --project huian --ledger 建设台账.xlsx --out out/programme \
        [--target 24@2026-12-31] [--today 2026-12-06] [--system auto] [--minutes 15] \
        [--paper A3] [--orientation landscape] [--skip-bad-rows]

Reads the programme ledger (one row per site: 中心名称, 站点名称, 类型, 角色, 服务功能, 状态,
目标日期, 期次, 经度/纬度; see :mod:`geo.workflows.programme_ledger`) and writes into ``--out``:

* ``programme.xlsx`` — 说明, 中心进度 (status, target date, lateness per centre), 站点,
  目标进度 (progress against each ``--target``), 分期覆盖 (coverage per function for the
  existing facilities, the centres open today and after each phase, cumulative), 读取报告;
* ``programme_map.png`` and ``programme_map.pdf`` — the wall map for the weekly meeting.

A ledger with rows that cannot be read is refused (exit 2, each row named by its line,
nothing written) unless ``--skip-bad-rows``, which writes the rest with the report.
Exit status: 0 done, 2 bad arguments or bad input data, 130 interrupted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from pathlib import Path

from tqdm import tqdm

from geo import settings
from geo.errors import GeoError
from geo.io.export import write_xlsx
from geo.maps.layout import ORIENTATIONS, PAPER_MM, render_layout
from geo.maps.programme import programme_wall_map
from geo.workflows import load_analysis, study_area_wgs84
from geo.workflows.programme import (
    lateness,
    parse_date,
    parse_target,
    programme_coverage,
    progress,
)
from geo.workflows.programme_ledger import read_programme_ledger
from geo.workflows.programme_outputs import programme_sheets
from linli.config import cache_dir
from scripts.cli import MINUTES, failed, interrupted, positive, staged_folder

logger = logging.getLogger("scripts.programme")


def _date(text: str) -> dt.date:
    day, _, why = parse_date(text)
    if day is None:
        raise argparse.ArgumentTypeError(f"日期 {text!r} 无法识别：{why or '为空'} (unreadable date)")
    return day


def _target(text: str):
    try:
        return parse_target(text)
    except GeoError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m scripts.programme",
        description="邻里中心建设进度：分期覆盖与挂图作战进度图 (programme: coverage by phase and the wall map)",
    )
    parser.add_argument("--project", required=True, help="项目: demo, huian or a .toml file")
    parser.add_argument("--ledger", required=True, type=Path, help="中心建设台账 CSV/XLSX/XLS（每个站点一行）")
    parser.add_argument("--out", required=True, type=Path, help="输出文件夹 (output folder)")
    parser.add_argument(
        "--target", type=_target, action="append", default=[], help="目标：个数@日期，如 24@2026-12-31（可多次）"
    )
    parser.add_argument("--today", type=_date, default=None, help="进度判断日期（默认今天），如 2026-12-06")
    parser.add_argument("--system", default="auto", help="台账坐标系: auto, wgs84, gcj02, bd09, cgcs2000 或 EPSG 代码")
    parser.add_argument("--minutes", type=MINUTES, default=max(settings.DEFAULT_BUDGETS_MIN), help="时间阈值（分钟）")
    parser.add_argument("--paper", choices=tuple(PAPER_MM), default="A3", help="纸张 (default A3)")
    parser.add_argument("--orientation", choices=ORIENTATIONS, default="landscape", help="方向")
    parser.add_argument("--author", default="", help="编制人")
    parser.add_argument("--organisation", default="", help="编制单位")
    parser.add_argument("--skip-bad-rows", action="store_true", help="台账有无法读取的行时仍输出其余各行（附读取报告）")
    parser.add_argument(
        "--town-speed",
        type=positive(60, "km/h"),
        default=None,
        help="中心辐射的镇级中心按乡集镇层级电动自行车可达，此为其速度 km/h（默认 20，TD/T 1062 待核实）",
    )  # h-rural (issue 21)
    parser.add_argument("-q", "--quiet", action="store_true", help="不显示进度条")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the job; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    today = args.today or dt.date.today()
    steps = ["项目 project", "台账 ledger", "覆盖 coverage", "写出 write"]
    bar = tqdm(total=len(steps), disable=args.quiet, desc="建设进度 programme")
    try:
        bar.set_postfix_str(steps[0])
        analysis = load_analysis(args.project, minutes=args.minutes, cache_dir=cache_dir())
        project, acc = analysis.project, analysis.accessibility
        bar.update()
        bar.set_postfix_str(steps[1])
        ledger = read_programme_ledger(
            args.ledger,
            acc.standard.functions,
            system=args.system,
            network=project.network,
            study_area=study_area_wgs84(project),
        )
        report = ledger.report
        if ledger.programme is None or (not ledger.complete and not args.skip_bad_rows):
            bar.close()
            print(report.to_text(), file=sys.stderr)
            why = (
                "没有可读入的中心"
                if ledger.programme is None
                else "台账有无法读取的行；改正后重新运行，或加 --skip-bad-rows"
            )
            print(f"错误 (error): {why}，未写出任何文件 (nothing written)", file=sys.stderr)
            return 2
        programme = ledger.programme
        bar.update()
        bar.set_postfix_str(steps[2])
        late = lateness(programme, today)
        goals = progress(programme, args.target, today)
        coverage = programme_coverage(acc, analysis.graph, programme, town_speed_kmh=args.town_speed)
        bar.update()
        bar.set_postfix_str(steps[3])
        prof = acc.profile
        assumption = (
            f"{prof.label_zh} {prof.speed_kmh:g} km/h，{args.minutes:g} 分钟 ≈ {prof.metres_in(args.minutes):.0f} m"
        )
        notes = [
            ("项目", project.name),
            ("进度判断日期", today.isoformat()),
            ("台账", report.summary()),
            ("覆盖口径", f"{assumption}；站点只对其承担的功能计覆盖；现状设施为基数；各期累计"),
            ("临近期限", "目标日期前 30 天内且未建成"),
            *(("注意", n) for n in programme.centres.notes),
        ]
        sheets = programme_sheets(programme, late, goals, coverage, notes=notes)
        if report.issues:
            sheets["读取报告"] = report.to_frame()
        content, text = programme_wall_map(
            project,
            programme,
            late,
            goals,
            coverage,
            today=today,
            assumption=assumption,
            sources=(f"中心建设台账: {report.file}",),
            author=args.author,
            organisation=args.organisation,
        )
        with staged_folder(args.out) as stage:
            write_xlsx(sheets, stage / "programme.xlsx")
            for fmt in ("png", "pdf"):
                render_layout(
                    content, stage / f"programme_map.{fmt}", text=text, paper=args.paper, orientation=args.orientation
                )
        bar.update()
    except KeyboardInterrupt:
        bar.close()
        return interrupted(args.out)
    except (GeoError, OSError) as exc:
        return failed(exc, bar)
    bar.close()
    if report.issues:
        print(report.to_text(), file=sys.stderr)
    counts = late["lateness_zh"].value_counts()
    print(f"{len(late)} 个中心：" + "，".join(f"{k} {v}" for k, v in counts.items()))
    for r in goals.itertuples():
        print(f"目标「{r.target}」：已建成 {r.open}，尚差 {r.gap}，{r.verdict_zh}")
    print(f"结果 results -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
