"""Tables as county offices keep them: CSV, XLSX and XLS, with the header row found by its names.

A ledger (台账) from a town office rarely starts with its header: a title row (``某某街道公共服务
设施台账``) and a line naming the office come first, the header may span two rows under merged
cells (``坐标`` over ``经度`` and ``纬度``), a community name is merged down over its compounds,
and sign-off rows (``填表人：`` ``审核人：``) and a total row (``合计``) close the sheet.
:func:`read_sheet` turns any of these into one header and its data rows, each with the line
number the planner sees in Excel or a text editor, and says which rows it set aside and why.

* CSV in UTF-8 (with or without BOM) or GBK/GB18030 (:func:`geo.io.textfiles.decode_text`);
* XLSX through openpyxl (merged cells filled from their top-left cell);
* XLS (Excel 97-2003) through xlrd (merged cells likewise).

The header row is the row, among the first :data:`HEADER_SEARCH_ROWS`, whose cells name the
most of the columns the caller knows (``known``); a two-row header counts the lower row's names
under the upper row's merged cells.  Without ``sheet``, the worksheet whose header names the most
known columns is read.
"""

from __future__ import annotations

import csv
import io
import re
import time
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from geo import settings
from geo.errors import InputDataError
from geo.io.tables import normalise_cell
from geo.io.textfiles import decode_text

__all__ = ["HEADER_SEARCH_ROWS", "SIGN_OFF_WORDS", "TOTAL_WORDS", "Sheet", "header_key", "read_sheet"]

#: The header is looked for among this many first non-blank rows.
HEADER_SEARCH_ROWS = 30
#: A row whose first filled cell starts with one of these ends the table: what follows is
#: sign-off and notes, not data.
SIGN_OFF_WORDS = (
    "填表人",
    "填报人",
    "制表人",
    "统计人",
    "审核人",
    "审核:",
    "负责人",
    "单位负责人",
    "分管领导",
    "联系人:",
    "联系电话",
    "填表日期",
    "填报日期",
    "制表日期",
    "备注:",
    "注:",
    "说明:",
)
#: A row with one of these in its first cells is a total, not a record (counting it would count twice).
TOTAL_WORDS = ("合计", "总计", "小计", "总数", "合 计", "总 计")
#: Most rows read from one table.
MAX_ROWS = 200_000

_BRACKETS = re.compile(r"[\(（\[【][^\)）\]】]*[\)）\]】]")


def header_key(text: object) -> str:
    """A header cell as a comparable key: NFKC, no spaces, no bracketed unit, no ``*``/``:``, lower case.

    ``户数（户）`` -> ``户数``; ``* 经度`` -> ``经度``; ``Lon`` -> ``lon``.
    """
    s = unicodedata.normalize("NFKC", normalise_cell(text))
    s = _BRACKETS.sub("", s)
    return re.sub(r"[\s*:：_\-]", "", s).lower()


@dataclass(frozen=True)
class Sheet:
    """One table read from a planner's file.

    Attributes
    ----------
    header
        Column names as written (a two-row header joins ``upper/lower`` where they differ).
    rows
        ``(line, cells)`` of each data row, ``cells`` as normalised text, as long as ``header``.
    sheet
        The worksheet read (``None`` for CSV).
    header_line
        Line (Excel row) of the header; for a two-row header, its lower row.
    skipped
        ``(line, why)`` of the rows set aside: title rows above the header, totals, repeated
        headers, sign-off and notes rows below the data.
    sheets
        Every worksheet of the workbook (for messages and the page's sheet picker).
    """

    header: list[str]
    rows: list[tuple[int, list[str]]]
    sheet: str | None = None
    header_line: int = 1
    skipped: list[tuple[int, str]] = field(default_factory=list)
    sheets: tuple[str, ...] = ()


Grid = list[tuple[int, list[str]]]


class _ReadBudget:
    """Rows, cells and seconds one table may cost, counted while it is read (issue 19)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cells = 0
        self.deadline = time.monotonic() + settings.MAX_TABLE_READ_S

    def row(self, line: int, width: int, sheet: str = "") -> None:
        """Count one row (``line`` 1-based); InputDataError as soon as a cap is passed."""
        where = f" 的工作表 {sheet} " if sheet else " "
        if line > MAX_ROWS:
            raise InputDataError(f"{self.name}{where}超过 {MAX_ROWS} 行 (more than {MAX_ROWS} rows)")
        self.cells += width
        if self.cells > settings.MAX_TABLE_CELLS:
            raise InputDataError(
                f"{self.name}{where}超过 {settings.MAX_TABLE_CELLS:,} 个单元格，请删去无用的列或分成几个文件 "
                f"(more than {settings.MAX_TABLE_CELLS:,} cells: drop unused columns or split the file)"
            )
        if line % 1000 == 0 and time.monotonic() > self.deadline:
            raise InputDataError(
                f"{self.name} 读取超过 {settings.MAX_TABLE_READ_S:g} 秒，请分成几个较小的文件 "
                f"(reading took over {settings.MAX_TABLE_READ_S:g} s: split the file)"
            )


def _csv_grid(path: Path, name: str) -> Grid:
    budget = _ReadBudget(name)
    reader = csv.reader(io.StringIO(decode_text(path.read_bytes(), name)))
    grid: Grid = []
    line = 1
    for cells in reader:
        budget.row(len(grid) + 1, len(cells))
        grid.append((line, [normalise_cell(c) for c in cells]))
        line = reader.line_num + 1
    return grid


def _check_xlsx_size(path: Path, name: str) -> None:
    """Stream the workbook once (openpyxl read-only: one row in memory) counting rows and cells.

    A workbook past a cap is refused at the cap, before the whole-book load that merged cells need.
    """
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise InputDataError(f"无法读取 Excel 文件 {name} (cannot read the workbook: {type(exc).__name__})") from exc
    budget = _ReadBudget(name)
    try:
        for ws in book.worksheets:
            declared = ws.max_row or 0  # the sheet's own <dimension>: a cheap first answer, may lie
            if declared > MAX_ROWS:
                raise InputDataError(f"{name} 的工作表 {ws.title} 超过 {MAX_ROWS} 行 (more than {MAX_ROWS} rows)")
            for k, row in enumerate(ws.iter_rows(values_only=True)):
                budget.row(k + 1, len(row), ws.title)
    except InputDataError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise InputDataError(f"无法读取 Excel 文件 {name} (cannot read the workbook: {type(exc).__name__})") from exc
    finally:
        book.close()


def _fill_merged(rows: list[list[str]], ranges: Iterable[tuple[int, int, int, int]]) -> None:
    """Copy each merged range's top-left value into its other cells (0-based, end-exclusive bounds)."""
    for r0, r1, c0, c1 in ranges:
        if r0 >= len(rows):
            continue
        value = rows[r0][c0] if c0 < len(rows[r0]) else ""
        for r in range(r0, min(r1, len(rows))):
            row = rows[r]
            if len(row) < c1:
                row.extend([""] * (c1 - len(row)))
            for c in range(c0, c1):
                row[c] = value


def _xlsx_grids(path: Path, name: str) -> dict[str, Grid]:
    import openpyxl

    _check_xlsx_size(path, name)
    try:
        book = openpyxl.load_workbook(path, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise InputDataError(f"无法读取 Excel 文件 {name} (cannot read the workbook: {type(exc).__name__})") from exc
    grids = {}
    for ws in book.worksheets:
        if ws.max_row > MAX_ROWS:
            raise InputDataError(f"{name} 的工作表 {ws.title} 超过 {MAX_ROWS} 行 (more than {MAX_ROWS} rows)")
        rows = [[normalise_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
        merged = [(m.min_row - 1, m.max_row, m.min_col - 1, m.max_col) for m in ws.merged_cells.ranges]
        _fill_merged(rows, merged)
        grids[ws.title] = [(i + 1, row) for i, row in enumerate(rows)]
    return grids


def _xls_grids(path: Path, name: str) -> dict[str, Grid]:
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), formatting_info=True, on_demand=True)
    except Exception as exc:  # xlrd raises its own XLRDError, struct.error, AssertionError ... on bad files
        raise InputDataError(
            f"无法读取 Excel 97-2003 文件 {name} (cannot read the .xls workbook: {type(exc).__name__})"
        ) from exc
    grids = {}
    try:
        budget = _ReadBudget(name)
        for ws in book.sheets():
            if ws.nrows > MAX_ROWS:
                raise InputDataError(f"{name} 的工作表 {ws.name} 超过 {MAX_ROWS} 行 (more than {MAX_ROWS} rows)")
            rows = []
            for r in range(ws.nrows):
                budget.row(r + 1, ws.ncols, ws.name)
                cells = []
                for c in range(ws.ncols):
                    cell = ws.cell(r, c)
                    value = cell.value
                    if cell.ctype == xlrd.XL_CELL_DATE:
                        value = xlrd.xldate.xldate_as_datetime(value, book.datemode).date().isoformat()
                    elif cell.ctype in (xlrd.XL_CELL_ERROR, xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                        value = ""
                    cells.append(normalise_cell(value))
                rows.append(cells)
            _fill_merged(rows, ws.merged_cells)
            grids[ws.name] = [(i + 1, row) for i, row in enumerate(rows)]
    finally:
        book.release_resources()
    return grids


def _score(cells: list[str], known: frozenset[str]) -> int:
    return len({k for k in map(header_key, cells) if k and k in known})


def _combined(upper: list[str], lower: list[str]) -> list[str]:
    """A two-row header: the lower row's name where it has one, else the upper row's (merged down)."""
    width = max(len(upper), len(lower))
    upper = upper + [""] * (width - len(upper))
    lower = lower + [""] * (width - len(lower))
    return [lo if lo else up for up, lo in zip(upper, lower, strict=True)]


def _find_header(grid: Grid, known: frozenset[str]) -> tuple[int, int, list[str], int]:
    """(index of the header's first row in ``grid``, number of header rows, header cells, their score)."""
    filled = [i for i, (_, cells) in enumerate(grid) if any(cells)][:HEADER_SEARCH_ROWS]
    if not filled:
        return -1, 0, [], 0
    best = (filled[0], 1, grid[filled[0]][1], _score(grid[filled[0]][1], known))
    for n, i in enumerate(filled):
        cells = grid[i][1]
        score = _score(cells, known)
        if score > best[3]:
            best = (i, 1, cells, score)
        if n + 1 < len(filled):
            lower = grid[filled[n + 1]][1]
            both = _combined(cells, lower)
            both_score = _score(both, known)
            if both_score > max(best[3], score, _score(lower, known)):
                best = (i, filled[n + 1] - i + 1, both, both_score)
    return best


def _is_sign_off(cells: list[str]) -> bool:
    first = next((c for c in cells if c), "")
    key = re.sub(r"\s", "", first).replace("：", ":")
    return any(key.startswith(word.replace(" ", "")) for word in SIGN_OFF_WORDS)


def _is_total(cells: list[str]) -> bool:
    return any(re.sub(r"\s", "", c) in TOTAL_WORDS for c in cells[:3] if c)


def _table(grid: Grid, known: frozenset[str]) -> tuple[list[str], Grid, int, list[tuple[int, str]], int]:
    start, height, header, score = _find_header(grid, known)
    if start < 0:
        return [], [], 1, [], 0
    skipped = [(line, "表头上方的标题行 (title row above the header)") for line, cells in grid[:start] if any(cells)]
    width = max(len(header), max((len(c) for _, c in grid), default=0))
    # Trailing header cells that are empty and have no data under them are dropped below.
    header = [h if h else f"列{k + 1}" for k, h in enumerate(header + [""] * (width - len(header)))]
    keys = [header_key(h) for h in header]
    rows: Grid = []
    footer = False
    for line, cells in grid[start + height :]:
        if not any(cells):
            continue
        cells = cells + [""] * (width - len(cells))
        if footer:
            skipped.append((line, "表尾的签字、备注行 (sign-off / notes below the table)"))
        elif _is_sign_off(cells):
            footer = True
            skipped.append((line, "表尾的签字、备注行 (sign-off / notes below the table)"))
        elif _is_total(cells):
            skipped.append((line, "合计行，不计入 (total row, not a record)"))
        elif [header_key(c) for c in cells] == keys:
            skipped.append((line, "重复的表头 (repeated header)"))
        else:
            rows.append((line, cells))
    used = [k for k in range(width) if not header[k].startswith("列") or any(cells[k] for _, cells in rows)]
    header = [header[k] for k in used]
    rows = [(line, [cells[k] for k in used]) for line, cells in rows]
    header_line = grid[start + height - 1][0]
    return header, rows, header_line, skipped, score


def read_sheet(
    path: Path,
    name: str,
    kind: str,
    *,
    known: Iterable[str] = (),
    sheet: str | None = None,
) -> Sheet:
    """The table of a CSV / XLSX / XLS file: its header found by the names it holds.

    Parameters
    ----------
    path
        The file (already checked: size, magic bytes).
    name
        The planner's name of the file, for messages.
    kind
        ``"csv"``, ``"xlsx"`` or ``"xls"``.
    known
        Column names the caller recognises (any spelling; compared by :func:`header_key`).
    sheet
        The worksheet to read; ``None``: the one whose header names the most ``known`` columns.

    Raises
    ------
    InputDataError
        An unreadable file, a named sheet that does not exist, or no rows at all.
    """
    keys = frozenset(header_key(k) for k in known)
    grids: dict[str | None, Grid] = {}
    if kind == "csv":
        grids[None] = _csv_grid(path, name)
    else:
        grids.update(_xls_grids(path, name) if kind == "xls" else _xlsx_grids(path, name))
    names = tuple(str(s) for s in grids if s is not None)
    if sheet is not None:
        if sheet not in grids:
            raise InputDataError(
                f"{name} 中没有工作表 {sheet!r}；现有工作表: {'、'.join(names)} "
                f"(no such sheet; sheets: {', '.join(names)})"
            )
        candidates: dict[str | None, Grid] = {sheet: grids[sheet]}
    else:
        candidates = grids
    best = None
    for sheet_name, grid in candidates.items():
        header, rows, header_line, skipped, score = _table(grid, keys)
        if best is None or score > best[0] or (score == best[0] and not best[1].rows and rows):
            best = (score, Sheet(header, rows, sheet_name, header_line, skipped, names))
    if best is None or not best[1].header:
        raise InputDataError(f"{name} 为空 (empty file)")
    return best[1]
