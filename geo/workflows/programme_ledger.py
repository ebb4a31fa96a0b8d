"""A programme ledger (建设台账) read row by row: centres, their sites, status, target date and phase.

One row per site (a single-site centre is one row; a linked or hub centre one row per
building or station, sharing the centre's name).  Columns, in Chinese or English:
中心名称, 站点名称, 类型 (单体集约/多点串联/中心辐射), 角色 (中心/服务站点), 服务功能,
状态 (规划/已批复/在建/已建成), 目标日期 (完成时限), 期次 (批次), and the coordinates as in
any ledger (经度/纬度, or one 坐标 column; the coordinate system declared or detected against
the streets, :func:`geo.network.systems.locate_ledger`).

A row that cannot be read — an unknown status, a date that is no date, a bad phase, a function
no one knows, a centre whose rows disagree — is left out and reported by its line
(:class:`geo.io.ledger.LedgerReport`); a date written to the month (``2026年12月``) or as an
Excel serial loads, with a note on its line.  The caller decides whether a report with rows
left out may still be printed (the script refuses by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geo.access.centres import kind_key, role_key
from geo.access.vocabulary import parse_functions
from geo.errors import InputDataError
from geo.io.ledger import LedgerReport, RowIssue, drop_rows, read_ledger
from geo.network.graph import WalkNetwork
from geo.network.systems import locate_ledger
from geo.workflows.programme import STATUSES, Programme, make_programme, parse_date, parse_phase, parse_status

__all__ = ["LEDGER_FIELDS", "ProgrammeLedger", "read_programme_ledger"]

#: Field -> the headers a programme ledger may give it.
LEDGER_FIELDS = {
    "centre": ("中心名称", "邻里中心", "邻里中心名称", "中心", "项目名称", "centre", "center"),
    "site": ("站点名称", "站点", "点位名称", "点位", "建设地点", "site"),
    "kind": ("类型", "中心类型", "建设模式", "模式", "kind"),
    "role": ("角色", "站点角色", "站点类型", "role"),
    "functions": ("服务功能", "功能", "功能配置", "functions"),
    "status": ("状态", "建设状态", "当前状态", "进度状态", "status"),
    "target_date": (
        "目标日期",
        "完成时限",
        "计划完成时间",
        "计划完成日期",
        "完成时间",
        "时限",
        "target_date",
        "target",
    ),
    "phase": ("期次", "批次", "分期", "phase"),
}
FIELD_ZH = {
    "centre": "中心名称",
    "site": "站点名称",
    "kind": "类型",
    "role": "角色",
    "functions": "服务功能",
    "status": "状态",
    "target_date": "目标日期",
    "phase": "期次",
}


@dataclass(frozen=True, eq=False)
class ProgrammeLedger:
    """What a programme ledger held.

    Attributes
    ----------
    programme
        The centres of the rows that could be read (``None`` when none could).
    report
        Lines read, loaded, and every line left out or noted, with why.
    """

    programme: Programme | None
    report: LedgerReport

    @property
    def complete(self) -> bool:
        """Every data row was loaded."""
        return not self.report.rows_not_loaded


def _column(report: LedgerReport, field: str) -> str:
    return report.columns.get(field, FIELD_ZH[field])


def read_programme_ledger(
    path: Path,
    functions: Mapping[str, str],
    *,
    original_name: str | None = None,
    system: str | None = "auto",
    network: WalkNetwork | None = None,
    study_area: shapely.Geometry | None = None,
    sheet: str | None = None,
) -> ProgrammeLedger:
    """Read a programme ledger (CSV/XLSX/XLS) into a :class:`Programme` and a report by line.

    Parameters
    ----------
    path
        The ledger.
    functions
        The functions analysed, key -> Chinese name (``Standard.functions``).
    original_name
        The planner's name of the file, for the report.
    system
        Coordinate system of the degrees (``wgs84``, ``gcj02``, ``bd09``, ``cgcs2000``, an EPSG
        code) or ``auto`` to detect it against ``network``.
    network, study_area
        The project's streets (detection) and boundary in WGS84 (rows far from it reported).
    sheet
        The worksheet (default: chosen by its content).

    Raises
    ------
    InputDataError
        The file cannot be read, has no 中心名称 or 状态 column, or no coordinate columns.
    """
    table = read_ledger(
        Path(path),
        fields=LEDGER_FIELDS,
        original_name=original_name,
        sheet=sheet,
        what_zh="中心建设台账",
    )
    report = table.report
    for required in ("centre", "status"):
        if required not in report.columns:
            raise InputDataError(
                f"中心建设台账 {report.file} 中找不到「{FIELD_ZH[required]}」列；现有列: "
                f"{'、'.join([*report.columns.values(), *report.attributes])} (column {required!r} not found)"
            )
    table, points = locate_ledger(table, system, network, study_area=study_area)
    rows = table.rows
    report = table.report
    n = len(rows)
    keep = np.ones(n, dtype=bool)
    issues: list[RowIssue] = []
    notes: list[tuple[int, RowIssue]] = []
    parsed: dict[str, list[object]] = {f: [""] * n for f in LEDGER_FIELDS}
    lines = rows["line"].astype(int).to_numpy()
    for i in range(n):  # the words of each row; no geometry, no routing
        line = int(lines[i])

        def bad(field: str, value: object, why: str, i: int = i, line: int = line) -> None:
            keep[i] = False
            issues.append(RowIssue(line, _column(report, field), str(value), why))

        cell = {f: str(rows[f].iloc[i]) if f in rows.columns else "" for f in LEDGER_FIELDS}
        parsed_row: dict[str, object] = dict(cell)
        if not cell["centre"].strip():
            bad("centre", "", "没有中心名称 (no centre name)")
        if cell["status"].strip() and parse_status(cell["status"]) is None:
            bad("status", cell["status"], f"状态无法识别，可选: {'、'.join(STATUSES.values())} (unknown status)")
        day, note, why = parse_date(cell["target_date"])
        if why:
            bad("target_date", cell["target_date"], why)
        elif note:
            notes.append((i, RowIssue(line, _column(report, "target_date"), cell["target_date"], note, loaded=True)))
        parsed_row["target_date"] = day.isoformat() if day else ""
        phase, why = parse_phase(cell["phase"])
        if why:
            bad("phase", cell["phase"], why)
        parsed_row["phase"] = phase if phase is not None else ""
        if kind_key(cell["kind"]) is None:
            bad("kind", cell["kind"], "类型无法识别，可选: 单体集约、多点串联、中心辐射 (unknown kind)")
        if role_key(cell["role"]) is None:
            bad("role", cell["role"], "角色无法识别，可选: 中心、服务站点 (unknown role)")
        try:
            parse_functions(cell["functions"], functions=functions)
        except InputDataError as exc:
            bad("functions", cell["functions"], str(exc))
        for field, value in parsed_row.items():
            parsed[field][i] = value
    frame = gpd.GeoDataFrame(
        {f: parsed[f] for f in LEDGER_FIELDS} | {"line": lines}, geometry=points.to_numpy(), crs=points.crs
    )
    # Each centre on its own (its rows agree, its kind fits its sites): a centre that does not
    # is left out whole, every one of its lines reported with the reason.
    centre_names = frame["centre"].str.strip().to_numpy(object)
    for name in dict.fromkeys(centre_names[keep]):
        mine = np.flatnonzero((centre_names == name) & keep)
        try:
            make_programme(frame.iloc[mine], functions)
        except InputDataError as exc:
            for k in mine.tolist():
                keep[k] = False
                issues.append(RowIssue(int(lines[k]), _column(report, "centre"), str(name), str(exc)))
    table = drop_rows(table, keep, issues)
    report = table.report
    report.issues.extend(issue for i, issue in notes if keep[i])  # notes of rows left out are moot
    report.issues.sort(key=lambda issue: (issue.line, issue.loaded))
    if not keep.any():
        return ProgrammeLedger(None, report)
    programme = make_programme(frame[keep].reset_index(drop=True), functions)
    return ProgrammeLedger(programme, report)
