"""County ledgers (台账) read row by row: what loads, and a report of every row that did not.

:func:`read_ledger` takes a facility or compound ledger as a county office keeps it (CSV, XLSX
or XLS, title rows, merged headers, numbers with units, coordinates in two columns, in one
``经度,纬度`` column or in degrees-minutes-seconds) and returns the rows it could read with
their coordinates *in the file's own system* (degrees, not yet converted) and every other
column kept as an attribute.  A row whose coordinates or numbers cannot be read is not
guessed at: it goes into the :class:`LedgerReport` (line, column, value, why) and the rest
loads.  Which coordinate system the degrees are in is decided afterwards, against the
street network (:mod:`geo.network.systems`).
"""

from __future__ import annotations

import stat
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from geo.errors import InputDataError
from geo.io import uploads
from geo.io.sheets import Sheet, header_key, read_sheet
from geo.io.tables import parse_coordinate, parse_count, parse_pair

__all__ = [
    "LAT_NAMES",
    "LEDGER_KINDS",
    "LON_NAMES",
    "MAX_LEDGER_BYTES",
    "PAIR_NAMES",
    "ColumnsNotFoundError",
    "LedgerReport",
    "LedgerTable",
    "RowIssue",
    "drop_rows",
    "read_ledger",
]

#: Largest ledger accepted (bytes).
MAX_LEDGER_BYTES = 64 * 1024 * 1024
#: Extension -> kind of a ledger file.
LEDGER_KINDS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls"}
LON_NAMES = (*uploads.LON_NAMES, "经度坐标", "x坐标")
LAT_NAMES = (*uploads.LAT_NAMES, "纬度坐标", "y坐标")
#: Columns holding ``经度,纬度`` in one cell.
PAIR_NAMES = (
    "坐标",
    "经纬度",
    "经纬度坐标",
    "坐标经度纬度",
    "坐标经度,纬度",
    "位置坐标",
    "中心点坐标",
    "lnglat",
    "location",
    "坐标点",
)
_MAGIC = {"xlsx": b"PK\x03\x04", "xls": b"\xd0\xcf\x11\xe0"}
#: Most issues kept in full (the count is always exact).
MAX_ISSUES_LISTED = 500


class ColumnsNotFoundError(InputDataError):
    """The ledger's coordinate (or required) columns were not recognised: the planner says which is which."""

    def __init__(self, message: str, headers: list[str]):
        super().__init__(message)
        self.headers = headers
        self.payload = {"ask": "columns", "headers": headers}


@dataclass(frozen=True)
class RowIssue:
    """One cell that could not be read: its line, column, value and why."""

    line: int
    column: str
    value: str
    why: str
    loaded: bool = False

    def text(self) -> str:
        """The issue as one Chinese sentence."""
        fate = "该行仍已读入" if self.loaded else "该行未读入"
        value = f"「{self.value[:40]}」" if self.value else "（空）"
        return f"第 {self.line} 行，列「{self.column}」{value}：{self.why}；{fate}"


@dataclass
class LedgerReport:
    """What reading a ledger did: the columns it recognised, what it set aside and why.

    Attributes
    ----------
    file, sheet, header_line
        The file as the planner named it, the worksheet read, the header's line.
    columns
        Field -> column as written in the file (``name`` -> ``设施名称``).
    attributes
        The other columns, kept as they are.
    rows_read, rows_loaded
        Data rows found below the header, and rows loaded.
    issues
        Cells that could not be read (rows not loaded, or loaded without that value).
    skipped
        ``(line, why)`` of title, total, sign-off and notes rows.
    unknown_categories
        Category text -> number of rows (facility ledgers), not loaded until mapped.
    system, system_note
        The coordinate system used and why (declared, or detected with its evidence).
    warnings
        Things the planner should check (a declared system the streets contradict ...).
    """

    file: str
    sheet: str | None = None
    sheets: tuple[str, ...] = ()
    header_line: int = 1
    columns: dict[str, str] = field(default_factory=dict)
    attributes: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_loaded: int = 0
    issues: list[RowIssue] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    unknown_categories: dict[str, int] = field(default_factory=dict)
    system: str = ""
    system_note: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def rows_not_loaded(self) -> list[int]:
        """Lines of the rows left out."""
        return sorted({i.line for i in self.issues if not i.loaded})

    def summary(self) -> str:
        """One line: rows loaded of rows read, rows not loaded, the coordinate system."""
        where = f"工作表「{self.sheet}」" if self.sheet else ""
        parts = [f"{self.file}{where}：读入 {self.rows_loaded} 行，共 {self.rows_read} 行数据"]
        if self.rows_not_loaded:
            parts.append(f"{len(self.rows_not_loaded)} 行未读入")
        if self.unknown_categories:
            parts.append(f"{sum(self.unknown_categories.values())} 行类别未识别")
        if self.system_note:
            parts.append(self.system_note)
        return "；".join(parts)

    def to_text(self) -> str:
        """The whole report as Chinese text, for the console, a file or the page."""
        lines = [f"台账读取报告：{self.summary()}"]
        if self.columns:
            found = "，".join(f"{FIELD_ZH.get(k, k)}←「{v}」" for k, v in self.columns.items())
            lines.append(f"识别的列（表头在第 {self.header_line} 行）：{found}")
        if self.attributes:
            lines.append(f"原样保留的其他列：{'、'.join(self.attributes)}")
        for text in self.warnings:
            lines.append(f"注意：{text}")
        if self.unknown_categories:
            counts = "，".join(
                f"「{k}」{n} 行" for k, n in sorted(self.unknown_categories.items(), key=lambda kv: -kv[1])
            )
            lines.append(f"未识别的设施类别（这些行未读入；请在类别对照表中写明其服务功能后重新读入）：{counts}")
        if self.issues:
            lines.append(f"无法读取的内容（{len(self.issues)} 处）：")
            lines.extend(f"  {i.text()}" for i in self.issues[:MAX_ISSUES_LISTED])
            if len(self.issues) > MAX_ISSUES_LISTED:
                lines.append(f"  …… 另有 {len(self.issues) - MAX_ISSUES_LISTED} 处")
        if self.skipped:
            lines.append(
                "跳过的非数据行：" + "；".join(f"第 {n} 行 {why.split(' (')[0]}" for n, why in self.skipped[:20])
            )
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """The issues as a table (行号, 列, 内容, 原因, 处理) for an XLSX sheet."""
        rows: list[dict[str, object]] = [
            {"行号": i.line, "列": i.column, "内容": i.value, "原因": i.why, "处理": "仍读入" if i.loaded else "未读入"}
            for i in self.issues
        ]
        rows += [
            {"行号": None, "列": "类别", "内容": k, "原因": f"未识别的设施类别（{n} 行）", "处理": "未读入"}
            for k, n in self.unknown_categories.items()
        ]
        return pd.DataFrame(rows, columns=["行号", "列", "内容", "原因", "处理"])

    def as_dict(self) -> dict:
        """JSON-ready (for the web page's preview)."""
        return {
            "file": self.file,
            "sheet": self.sheet,
            "sheets": list(self.sheets),
            "header_line": self.header_line,
            "columns": dict(self.columns),
            "attributes": list(self.attributes),
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "issues": [
                {"line": i.line, "column": i.column, "value": i.value, "why": i.why, "loaded": i.loaded}
                for i in self.issues[:MAX_ISSUES_LISTED]
            ],
            "issue_count": len(self.issues),
            "skipped": [{"line": n, "why": why} for n, why in self.skipped],
            "unknown_categories": dict(self.unknown_categories),
            "system": self.system,
            "system_note": self.system_note,
            "warnings": list(self.warnings),
            "summary": self.summary(),
        }


#: Chinese names of the fields callers ask for, for the report.
FIELD_ZH = {
    "lon": "经度",
    "lat": "纬度",
    "pair": "坐标",
    "id": "编号",
    "name": "名称",
    "category": "类别",
    "functions": "服务功能",
    "households": "户数",
    "residents": "人口",
    "elderly": "60岁以上人口",
    "children": "0-6岁人口",
    "community": "所属社区",
    "address": "地址",
    # the programme ledger (geo.workflows.programme_ledger)
    "centre": "中心名称",
    "site": "站点名称",
    "kind": "类型",
    "role": "角色",
    "status": "状态",
    "target_date": "目标日期",
    "phase": "期次",
}


@dataclass(frozen=True)
class LedgerTable:
    """The rows of a ledger that could be read.

    Attributes
    ----------
    rows
        One row per loaded ledger row: ``line``, ``lon``, ``lat`` (degrees in the file's
        system, or metres for a projected ``system``), one column per recognised field
        (numbers as floats), then the file's other columns as written.
    report
        :class:`LedgerReport`.
    """

    rows: pd.DataFrame
    report: LedgerReport


def _display_name(path: Path, original_name: str | None) -> str:
    name = original_name or path.name
    return name.replace("\\", "/").rsplit("/", 1)[-1] or "ledger"


def _check_file(path: Path, name: str, max_bytes: int) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in LEDGER_KINDS:
        allowed = "、".join(LEDGER_KINDS)
        raise InputDataError(f"台账 {name} 的类型不支持；台账可为 {allowed} (ledger must be CSV, XLSX or XLS)")
    kind = LEDGER_KINDS[suffix]
    try:
        st = path.stat()
    except OSError as exc:
        raise InputDataError(f"台账 {name} 不存在 (ledger file not found)") from exc
    if not stat.S_ISREG(st.st_mode):
        raise InputDataError(f"{name} 不是普通文件 (not a regular file)")
    if st.st_size == 0:
        raise InputDataError(f"台账 {name} 为空 (empty file)")
    if st.st_size > max_bytes:
        raise InputDataError(
            f"台账 {name} 为 {st.st_size / 1e6:.1f} MB，超过上限 {max_bytes / 1e6:.0f} MB (file too large)"
        )
    with open(path, "rb") as fh:
        head = fh.read(8)
    if kind in _MAGIC and not head.startswith(_MAGIC[kind]):
        other = next((k for k, m in _MAGIC.items() if head.startswith(m)), None)
        hint = f"（内容是 .{other} 工作簿，请改扩展名）" if other else ""
        raise InputDataError(f"{name} 不是有效的 .{kind} 文件{hint} (file content does not match its extension)")
    return kind


def _column_map(
    sheet: Sheet, fields: Mapping[str, Sequence[str]], columns: Mapping[str, str] | None, name: str
) -> dict[str, int]:
    """Field -> column index: the planner's own choice first, then the first header among the aliases."""
    keys = [header_key(h) for h in sheet.header]
    found: dict[str, int] = {}
    for fld, column in (columns or {}).items():
        if not column:
            continue
        if column not in sheet.header and header_key(column) not in keys:
            raise InputDataError(
                f"台账 {name} 中没有列「{column}」（指定为{FIELD_ZH.get(fld, fld)}）；"
                f"现有列: {'、'.join(sheet.header)} "
                f"(no such column)"
            )
        found[fld] = sheet.header.index(column) if column in sheet.header else keys.index(header_key(column))
    taken = set(found.values())
    for fld, aliases in fields.items():
        if fld in found:
            continue
        for alias in aliases:
            k = header_key(alias)
            hit = next((i for i, key in enumerate(keys) if key == k and i not in taken), None)
            if hit is not None:
                found[fld] = hit
                taken.add(hit)
                break
    return found


def read_ledger(
    path: Path,
    *,
    fields: Mapping[str, Sequence[str]],
    numbers: Sequence[str] = (),
    original_name: str | None = None,
    columns: Mapping[str, str] | None = None,
    sheet: str | None = None,
    what_zh: str = "台账",
    max_bytes: int = MAX_LEDGER_BYTES,
) -> LedgerTable:
    """Read a ledger's rows, their coordinates (in the file's system) and their fields.

    Parameters
    ----------
    path
        The file (CSV in UTF-8/BOM/GBK, XLSX, XLS).
    fields
        Field -> header names it may have (``{"name": ("名称", "小区名称"), ...}``); matched
        by :func:`geo.io.sheets.header_key` (no spaces, brackets, case).
    numbers
        Fields read as counts (``120户``, ``１２０``, ``1.2万``); a cell that is not a number
        is reported and left blank.
    original_name
        The planner's name of the file (messages, report).
    columns
        The planner's own choice of column per field (``{"name": "单位名称"}``), over the aliases;
        also ``lon``, ``lat`` or ``pair``.
    sheet
        The worksheet; ``None``: chosen by its content.
    what_zh
        What the ledger is, for messages (``小区台账``).

    Returns
    -------
    LedgerTable

    Raises
    ------
    InputDataError
        A file that cannot be read at all, no coordinate columns, or no row that could be read
        (the message carries the report).
    """
    path = Path(path)
    name = _display_name(path, original_name)
    kind = _check_file(path, name, max_bytes)
    coordinate_fields = {"lon": LON_NAMES, "lat": LAT_NAMES, "pair": PAIR_NAMES}
    known = [a for aliases in (*fields.values(), *coordinate_fields.values()) for a in aliases]
    with tempfile.TemporaryDirectory(prefix="linli-ledger-") as tmp:
        # Read from a private copy: the planner's file is never opened for writing or left locked.
        copy = Path(tmp) / f"ledger.{kind}"
        copy.write_bytes(path.read_bytes())
        table = read_sheet(copy, name, kind, known=known, sheet=sheet)
    mapping = _column_map(table, {**coordinate_fields, **fields}, columns, name)
    report = LedgerReport(
        file=name,
        sheet=table.sheet,
        sheets=table.sheets,
        header_line=table.header_line,
        columns={f: table.header[i] for f, i in mapping.items()},
        rows_read=len(table.rows),
        skipped=list(table.skipped),
    )
    by_pair = "pair" in mapping and not ("lon" in mapping and "lat" in mapping)
    if not by_pair and not ("lon" in mapping and "lat" in mapping):
        raise ColumnsNotFoundError(
            f"{what_zh} {name} 中找不到坐标列（可用列名: 经度/纬度、lon/lat、x/y，或一列「坐标」写作 118.80,25.03）；"
            f"表头在第 {table.header_line} 行，现有列: {'、'.join(table.header)}；可在页面上指定哪一列是经度/纬度 "
            f"(longitude/latitude columns not found)",
            [h for h in table.header if not h.startswith("列")],
        )
    if by_pair:
        mapping.pop("lon", None)
        mapping.pop("lat", None)
    else:
        mapping.pop("pair", None)
    report.columns = {f: table.header[i] for f, i in mapping.items()}
    used = set(mapping.values())
    report.attributes = [h for i, h in enumerate(table.header) if i not in used and not h.startswith("列")]
    records = []
    for line, cells in table.rows:
        issues: list[RowIssue] = []
        if by_pair:
            pair, why = parse_pair(cells[mapping["pair"]])
            if pair is None:
                issues.append(RowIssue(line, table.header[mapping["pair"]], cells[mapping["pair"]], why or ""))
                lon = lat = np.nan
            else:
                lon, lat = pair
        else:
            x, why_x = parse_coordinate(cells[mapping["lon"]])
            y, why_y = parse_coordinate(cells[mapping["lat"]])
            for fld, why in (("lon", why_x), ("lat", why_y)):
                if why:
                    issues.append(RowIssue(line, table.header[mapping[fld]], cells[mapping[fld]], why))
            lon = np.nan if x is None else x
            lat = np.nan if y is None else y
        if lon == 0 and lat == 0:  # a blank position filled with zeros, not a place (0 N 0 E)
            column = table.header[mapping["pair"] if by_pair else mapping["lon"]]
            issues.append(RowIssue(line, column, "0, 0", "坐标为 0,0，应是未填写 (0,0 is a blank position)"))
        record: dict[str, object] = {"line": line, "lon": lon, "lat": lat}
        for fld, i in mapping.items():
            if fld in coordinate_fields:
                continue
            if fld in numbers:
                value, why = parse_count(cells[i])
                if why:
                    issues.append(RowIssue(line, table.header[i], cells[i], why, loaded=True))
                record[fld] = np.nan if value is None else value
            else:
                record[fld] = cells[i]
        for i, h in enumerate(table.header):
            if i not in used and not h.startswith("列"):
                record[h] = cells[i]
        if any(not i.loaded for i in issues):
            # The row's position cannot be read: the number issues of the row are moot.
            issues = [RowIssue(i.line, i.column, i.value, i.why, loaded=False) for i in issues]
            report.issues.extend(issues)
            continue
        report.issues.extend(issues)
        records.append(record)
    fixed = ["line", "lon", "lat", *(f for f in mapping if f not in coordinate_fields)]
    rows = pd.DataFrame(records, columns=[*fixed, *report.attributes])
    report.rows_loaded = len(rows)
    if rows.empty:
        raise InputDataError(f"{what_zh} {name} 没有可读入的数据行 (no row could be read)\n{report.to_text()}")
    return LedgerTable(rows, report)


def drop_rows(ledger: LedgerTable, keep: np.ndarray, issues: list[RowIssue]) -> LedgerTable:
    """The ledger without the rows not in ``keep``, whose reasons are ``issues`` (added to the report)."""
    report = ledger.report
    keep = np.asarray(keep, dtype=bool)
    loaded_lines = {int(n) for n in ledger.rows["line"].to_numpy()[~keep]}
    report.issues = [
        RowIssue(i.line, i.column, i.value, i.why, loaded=False) if i.line in loaded_lines else i for i in report.issues
    ]
    report.issues.extend(issues)
    report.issues.sort(key=lambda i: i.line)
    rows = ledger.rows[keep].reset_index(drop=True)
    report.rows_loaded = len(rows)
    return LedgerTable(rows, report)
