"""Compound party coverage (小区党组织覆盖率) from the compound ledger, as a batch job.

    python -m scripts.party --project guixi --out out/党组织覆盖.xlsx [--compounds 小区台账.xlsx] \
        [--system auto|wgs84|gcj02|bd09] [--no-map]

The compound ledger (``--compounds``, or the project's demand when it is a compound ledger) gives
per compound whether a party branch covers it (是否成立党支部, or the covering branch's name),
its party members (党员数), property company (物业公司) and owners' committee (业委会).
Communities come from the ledger's 所属社区 or the project's ``[units] community`` polygons,
towns from ``[units] town``.  Writes, all or nothing:

* ``FILE.xlsx`` — 覆盖率 (per county/whole area, town, community: compounds, covered, rate,
  branches, members, property and committee rates), 无党支部小区 (with their line in the
  ledger), 未填写 (cells that say neither yes nor no);
* ``FILE_map.png`` and ``FILE_map.pdf`` — the map of compounds without a branch (named);
* ``FILE.gpkg`` — layer 小区党组织 (every compound with its answers), WGS84.

Only compounds appear: no person's name.  Exit status: 0 done, 2 bad arguments or bad input data.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd

from geo.access.compounds import residents_from_compounds
from geo.errors import GeoError, InputDataError
from geo.grids.party import PARTY_HEADERS, party_coverage
from geo.io.export import write_gpkg, write_xlsx
from geo.maps.party import party_map
from geo.workflows import chinese_frame, load_analysis, official_table, study_area_wgs84
from linli.config import cache_dir
from scripts.cli import failed, interrupted, staged_folder

COMPOUND_HEADERS = {
    "line": "台账行号",
    "name": "小区名称",
    "community": "所属社区",
    "town": "所属镇街",
    "has_branch": "有党支部覆盖",
    "branch_name": "党支部名称",
    "members": "党员数 (人)",
    "has_property": "有物业",
    "has_committee": "有业委会",
}


def build_parser() -> argparse.ArgumentParser:
    """The command-line options."""
    parser = argparse.ArgumentParser(prog="python -m scripts.party", description=__doc__.splitlines()[0])
    parser.add_argument("--project", required=True, help="项目: demo, guixi, huian or a .toml file")
    parser.add_argument("--out", required=True, type=Path, help="输出 .xlsx")
    parser.add_argument("--compounds", type=Path, default=None, help="小区台账 (default: the project's)")
    parser.add_argument("--system", default="auto", help="台账坐标系: auto|wgs84|gcj02|bd09")
    parser.add_argument("--no-map", action="store_true", help="不出图")
    return parser


def _yes(value: object) -> str:
    return "" if value is None or pd.isna(value) else ("是" if value else "否")


def main(argv: list[str] | None = None) -> int:
    """Run the job; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if args.out.suffix.lower() != ".xlsx":
        parser.error(f"--out 应为 .xlsx 文件 (output must be a .xlsx file): {args.out.name}")
    try:
        project = load_analysis(args.project, times=False, cache_dir=cache_dir()).project
        if args.compounds is not None:
            compounds = residents_from_compounds(
                args.compounds, system=args.system, network=project.network, study_area=study_area_wgs84(project)
            )
        elif (project.demand.get("source", pd.Series(dtype=str)).astype(str) == "compounds").all():
            compounds = project.demand
        else:
            raise InputDataError("项目的需求数据不是小区台账，请用 --compounds 给出小区台账 (give --compounds)")
        units = {k: project.units[k] for k in ("town", "community") if k in project.units}
        coverage = party_coverage(compounds, units=units, area_name=project.name)
        rates = official_table(coverage.rates, list(PARTY_HEADERS), headers=PARTY_HEADERS)
        plain = coverage.compounds.drop(columns="geometry")
        for column in ("has_branch", "has_property", "has_committee"):
            plain[column] = plain[column].map(_yes)
        listing = plain[[c for c in COMPOUND_HEADERS if c in plain.columns]].rename(columns=COMPOUND_HEADERS)
        missing = listing[plain["has_branch"] == "否"]
        unknown = coverage.unknown.rename(
            columns={"line": "台账行号", "name": "小区名称", "column": "列", "value": "内容"}
        )
        folder = args.out.parent
        with staged_folder(folder, scratch_in=folder) as stage:
            out = stage / args.out.name
            write_xlsx({"覆盖率": rates, "无党支部小区": missing, "未填写": unknown}, out)
            layer = coverage.compounds.assign(
                **{c: plain[c].to_numpy() for c in ("has_branch", "has_property", "has_committee")}
            )
            write_gpkg(
                {"小区党组织": chinese_frame(layer.to_crs(4326), headers=COMPOUND_HEADERS)}, out.with_suffix(".gpkg")
            )
            if not args.no_map:
                for suffix in (".png", ".pdf"):  # written atomically by the layout
                    party_map(
                        coverage,
                        Path(f"{out.with_suffix('')}_map{suffix}"),
                        crs=project.network.crs,
                        network=project.network,
                        boundary=project.boundary,
                        project_name=project.name,
                    )
    except KeyboardInterrupt:
        return interrupted(args.out)
    except (GeoError, OSError) as exc:
        return failed(exc)
    whole = coverage.rates.iloc[0]
    print(
        f"小区 {int(whole['compounds'])} 个，有党支部覆盖 {int(whole['covered'])} / {int(whole['known'])} "
        f"({whole['coverage_pct']:.1f}%)，无党支部 {len(missing)} 个，未填写 {len(coverage.unknown)} 处"
    )
    print(f"结果 results -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
