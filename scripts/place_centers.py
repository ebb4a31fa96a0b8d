"""Neighborhood-center placement (邻里中心选址), as a batch job.

    python -m scripts.place_centers --project demo --model mclp|pmedian|lscp --new 5 \
        [--minutes 15] [--capacity N] [--candidates FILE|facilities] [--spacing-m 200] \
        [--functions elderly,childcare] [--share 0.9] [--method exact|heuristic] \
        [--time-limit-s 60] [--weight oldest_old|empty_nest|hardship|COLUMN] \
        [--special-groups 名单.xlsx] --out FILE.gpkg

Candidates are the project's network nodes sampled every ``--spacing-m`` metres, the
sites of ``--candidates FILE`` (points or parcels; optional ``required``/``excluded``
columns), or with ``--candidates facilities`` the project's existing public
facilities from OpenStreetMap (clinics, schools, community centres, ...: a new center
sharing a building with one).  Writes a GeoPackage in WGS84 (``--crs``: CGCS2000 or its
Gauss-Kruger zone) with layers ``sites`` (chosen, ranked by
marginal residents), ``runner_ups``, ``demand`` (each point's assigned center and
walking time), ``coverage`` (per function before/after, no geometry) and ``summary``,
and prints a summary table.  Exit status: 0 done, 2 bad arguments or bad input data
(message on stderr), 3 the solver proved the problem infeasible.

``--weight COLUMN`` weighs each demand point by a column instead of its residents: the special
groups (``oldest_old`` 高龄老人, ``empty_nest`` 空巢老人, ``hardship`` 困难群众) from the compound
ledger's count columns or from ``--special-groups FILE`` (a list of individuals counted at their
compounds; names never read, only counts written), or any numeric demand column.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from geo import settings
from geo.errors import GeoError, InputDataError
from geo.io.export import export_crs_for
from geo.maps.qgis_layers import write_styled_gpkg
from geo.placement.centers import MODELS
from geo.workflows import (
    chinese_frame,
    is_estimate,
    load_analysis,
    placement_candidates,
    plan_centres,
    weigh_analysis,
)
from geo.workflows.outputs import column_zh, layers_in
from geo.workflows.programme import with_town_reach
from linli.config import cache_dir
from scripts.cli import MINUTES, add_crs, add_lang, count, interruptible, positive

logger = logging.getLogger("scripts.place_centers")

#: Most new centers one run may place: far above the 24 a county plans in a year.
MAX_NEW = 1000


def _functions(text: str) -> tuple[str, ...]:
    """Function keys (checked against the project's functions once it is loaded)."""
    keys = tuple(k.strip() for k in text.split(",") if k.strip())
    if not keys:
        raise argparse.ArgumentTypeError(
            f"功能 {text!r} 无效：请列出功能，以逗号分隔 (list functions, comma-separated)"
        )
    return keys


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m scripts.place_centers",
        description="邻里中心选址：最大覆盖 / 总步行时间最小 / 最少中心全覆盖 (neighborhood-center placement)",
    )
    parser.add_argument("--project", required=True, help="项目: demo, huian or a .toml file")
    parser.add_argument("--model", required=True, choices=sorted(MODELS), help="mclp | pmedian | lscp")
    parser.add_argument(
        "--new",
        type=count(1, MAX_NEW),
        default=None,
        help="number of new centers (mclp, pmedian)",
    )
    parser.add_argument(
        "--minutes",
        type=MINUTES,
        default=max(settings.DEFAULT_BUDGETS_MIN),
        help="walking budget in minutes (default 15)",
    )
    parser.add_argument(
        "--capacity",
        type=positive(1e9, "人"),
        default=None,
        help="residents one center serves at most (mclp, pmedian)",
    )
    parser.add_argument(
        "--candidates",
        default=None,
        help="candidate sites file (points or parcels), or 'facilities': the project's existing public facilities",
    )
    parser.add_argument("--candidates-system", default="wgs84", help="CSV/XLSX coordinates: wgs84|gcj02|bd09|EPSG")
    parser.add_argument(
        "--spacing-m",
        type=positive(5000, "米"),
        default=settings.PLACEMENT_CANDIDATE_SPACING_M,
        help="spacing of network-node candidates (m) when no --candidates file is given",
    )
    parser.add_argument("--functions", type=_functions, default=None, help="weight MCLP by these lacking functions")
    parser.add_argument("--share", type=positive(1, ""), default=1.0, help="LSCP target share")
    parser.add_argument("--method", choices=("exact", "heuristic"), default="exact")
    parser.add_argument(
        "--time-limit-s",
        type=positive(3600, "秒"),
        default=settings.PLACEMENT_TIME_LIMIT_S,
    )
    # h-prog (issue 21): centres of one or several sites from the programme ledger count as existing.
    parser.add_argument(
        "--centres",
        type=Path,
        default=None,
        help="中心建设台账: its open centres (or up to --centres-phase) count as existing, site by site",
    )
    parser.add_argument("--centres-phase", type=int, default=None, help="count the ledger's centres up to this phase")
    parser.add_argument("--centres-system", default="auto", help="coordinate system of --centres (auto|wgs84|gcj02...)")
    # h-rural2 (issue 21): a counted hub's town centre reaches in the town circle's mode (TD/T 1062, 待核实).
    parser.add_argument(
        "--town-speed",
        type=positive(60, "km/h"),
        default=None,
        help="speed (km/h) a counted hub's town centre is reached at (e-bike, default 20; 15 minutes)",
    )
    parser.add_argument("--weight", default=None, help="demand column to weigh by: oldest_old|empty_nest|hardship|…")
    parser.add_argument("--special-groups", type=Path, default=None, help="高龄/空巢/困难群众 list (CSV/XLSX)")
    parser.add_argument("--special-groups-system", default="gcj02", choices=("wgs84", "gcj02", "bd09"))
    parser.add_argument("--out", required=True, type=Path, help="output .gpkg (WGS84)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_lang(parser)
    add_crs(parser)
    return parser


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns GPKG can store: objects as text, booleans as integers."""
    out = frame.copy()
    for column in out.columns:
        if column == "geometry":
            continue
        if out[column].dtype == bool:
            out[column] = out[column].astype("int8")
        elif out[column].dtype == object or str(out[column].dtype).startswith("str"):
            out[column] = out[column].astype(str)
    return out


def summary_table(plan) -> str:
    """The terminal summary: figures, then the ranked sites."""
    s = plan.summary
    lines = [
        f"模型 model        {s['model_zh']}",
        f"求解 solve        {s['method']} · {s['status_zh']} · {s['solve_time_s']:.2f} s",
        f"目标 objective    {s['objective']:,.1f}  (证明界 bound {s['bound']:,.1f}, 差距 gap {s['gap_pct']:.3f}%)",
        f"新中心 new sites  {s['new_sites']}",
        f"覆盖 covered      {s['covered_before']:,.0f} → {s['covered_after']:,.0f} 人 / {s['residents']:,.0f} 人 "
        f"({s['covered_pct_after']:.1f}%, {s['budget_min']:g} 分钟内)",
        f"平均步行 mean     {s['mean_time_min']:.1f} 分钟 (assigned residents)",
    ]
    if s.get("served_within_capacity") is not None:
        lines.append(f"容量内服务 served {s['served_within_capacity']:,.0f} 人 (each center within its capacity)")
    lines.extend(f"说明 note         {note}" for note in s["notes"])
    lines.append("")
    lines.append(f"{'排名':>4} {'候选点':>8} {'边际人口':>10} {'独占人口':>10} {'服务人口':>10} {'平均分钟':>8}")
    for _, row in plan.sites.iterrows():
        lines.append(
            f"{row['rank']:>4d} {row['candidate']:>8d} {row['marginal_residents']:>10,.0f} "
            f"{row['sole_residents']:>10,.0f} {row['assigned_residents']:>10,.0f} {row['mean_time_min']:>8.1f}"
        )
    if len(plan.coverage):
        lines.append("")
        lines.append(f"{'功能':<8} {'之前 %':>8} {'之后 %':>8}")
        for _, row in plan.coverage.iterrows():
            lines.append(f"{row['function_zh']:<8} {row['covered_pct_before']:>8.1f} {row['covered_pct_after']:>8.1f}")
    return "\n".join(lines)


def _with_centres(project, ledger: Path, system: str, phase: int | None):
    """The project with the programme ledger's centres as facilities (h-prog, issue 21), what was
    counted, and the programme (h-rural2: its hubs' town centres then reach in the town circle's mode)."""
    from geo.workflows import study_area_wgs84
    from geo.workflows.programme import counted_centres, counted_centres_text, project_with_centres
    from geo.workflows.programme_ledger import read_programme_ledger

    read = read_programme_ledger(
        ledger, project.standard.functions, system=system, network=project.network, study_area=study_area_wgs84(project)
    )
    if read.programme is None or not read.complete:
        raise InputDataError(
            f"中心建设台账有无法读取的行，请改正 (the centres ledger has bad rows)\n{read.report.to_text()}"
        )
    # h-centreweb: which centres were counted, in the summary as on the web page's result and print.
    counted = counted_centres(read.programme, up_to_phase=phase).drop(columns="geometry").to_dict(orient="records")
    said = counted_centres_text(counted, mode="open" if phase is None else "phase", phase=phase)
    return project_with_centres(project, read.programme, up_to_phase=phase), said, read.programme


#: ``--candidates facilities``: the project's existing public facilities as candidate sites.
FACILITIES = "facilities"


@interruptible
def main(argv: list[str] | None = None) -> int:
    """Run the job; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if args.out.suffix.lower() != ".gpkg":
        parser.error(f"--out 必须以 .gpkg 结尾 (output must be .gpkg): {args.out.name}")
    if args.model != "lscp" and args.new is None:
        parser.error(f"--model {args.model} 需要 --new 新增中心数 (--new is required)")
    from_facilities = args.candidates == FACILITIES
    if args.candidates is not None and not from_facilities:
        args.candidates = Path(args.candidates)
        if not args.candidates.is_file():
            parser.error(f"--candidates 不是现有文件 (not an existing file): {args.candidates.name}")
        if args.candidates.resolve() == args.out.resolve():
            parser.error("--out 不能与输入文件相同 (output must not overwrite an input)")
    steps = ["读取项目 load", "候选点 candidates", "现状覆盖 coverage", "选址求解 solve", "写出 write"]
    bar = tqdm(total=len(steps), disable=args.quiet, desc=f"选址 {args.model}")
    try:
        bar.set_postfix_str(steps[0])
        analysis = load_analysis(args.project, times=False, cache_dir=cache_dir())
        project = analysis.project
        bar.update()
        bar.set_postfix_str(steps[1])
        if from_facilities:
            candidates = placement_candidates(analysis, "facilities")
        elif args.candidates is not None:
            candidates = placement_candidates(analysis, "file", path=args.candidates, system=args.candidates_system)
        else:
            candidates = placement_candidates(analysis, "network", spacing_m=args.spacing_m)
        bar.update()
        bar.set_postfix_str(steps[2])
        centres_said = ""
        programme = None
        if args.centres is not None:
            project, centres_said, programme = _with_centres(
                project, args.centres, args.centres_system, args.centres_phase
            )
        analysis = load_analysis(project, minutes=args.minutes)
        if programme is not None:
            town = with_town_reach(
                analysis.accessibility,
                analysis.graph,
                programme,
                up_to_phase=args.centres_phase,
                town_speed_kmh=args.town_speed,
            )
            if town.towns:
                analysis = dataclasses.replace(analysis, acc=town.acc)
                centres_said += f"；{town.text_zh}"
        if args.weight is not None or args.special_groups is not None:
            analysis = weigh_analysis(
                analysis, args.weight, special_groups=args.special_groups, system=args.special_groups_system
            ).analysis
        bar.update()
        bar.set_postfix_str(steps[3])
        plan = plan_centres(
            analysis,
            candidates,
            model=args.model,
            p=args.new,
            minutes=args.minutes,
            functions=args.functions,
            capacity=args.capacity,
            share=args.share,
            method=args.method,
            time_limit_s=args.time_limit_s,
            weight_column=args.weight,
        )
        bar.update()
    except GeoError as exc:
        bar.close()
        print(f"错误 (error): {exc}", file=sys.stderr)
        return 2
    if plan.solution.status == "infeasible":
        bar.close()
        print("错误 (error): 问题不可行 (the problem is infeasible)", file=sys.stderr)
        return 3
    bar.set_postfix_str(steps[4])
    s = plan.summary
    summary = pd.DataFrame(
        [
            {
                "project": project.name,
                "model": s["model"],
                "method": s["method"],
                "status": s["status"],
                "objective": s["objective"],
                "bound": s["bound"],
                "gap_pct": s["gap_pct"],
                "new_sites": s["new_sites"],
                "budget_min": s["budget_min"],
                "residents": s["residents"],
                "covered_before": s["covered_before"],
                "covered_after": s["covered_after"],
                "served_within_capacity": s.get("served_within_capacity"),
                "profile": f"{project.profile.label_zh} {project.profile.speed_kmh:g} km/h",
                "pmedian_penalty": f"超过 {settings.PMEDIAN_CUTOFF_FACTOR:g} 倍时间阈值视为未覆盖，"
                f"罚时为该截断时间的 {settings.PMEDIAN_PENALTY_FACTOR:g} 倍",
                "notes": " | ".join(s["notes"]),
                "centres_counted": centres_said,
            }
        ]
    )
    estimated = is_estimate(plan.assignment)
    demand = plan.assignment.drop(columns=[c for c in ("assumption",) if c in plan.assignment.columns])
    people = {"covered_before": "布点前覆盖人口 (人)", "covered_after": "布点后覆盖人口 (人)"}
    said = {**people, "centres_counted": "计入的邻里中心"}
    layers = {
        "sites": _plain(chinese_frame(plan.sites, estimated=estimated, lang=args.lang)),
        "runner_ups": _plain(chinese_frame(plan.runner_ups, estimated=estimated, lang=args.lang)),
        "demand": _plain(chinese_frame(demand, estimated=estimated, lang=args.lang)),
        "coverage": _plain(chinese_frame(plan.coverage, estimated=estimated, headers=people, lang=args.lang))
        if len(plan.coverage)
        else pd.DataFrame({column_zh("function"): []}),
        "summary": _plain(chinese_frame(summary, estimated=estimated, headers=said, lang=args.lang)),
    }
    try:
        crs = export_crs_for(args.crs, plan.sites, plan.assignment)
        write_styled_gpkg(layers_in(layers, args.lang), args.out, crs=crs)
    except GeoError as exc:
        bar.close()
        print(f"错误 (error): {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        bar.close()
        print(f"错误 (error): 无法写出 {args.out.name} (cannot write the output): {exc.strerror}", file=sys.stderr)
        return 2
    bar.update()
    bar.close()
    print(summary_table(plan))
    if centres_said:
        print(f"\n中心 centres     {centres_said}")
    print(f"\n已写出 written: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
