"""A one-page summary report (PDF or PNG, A4 portrait) of a coverage analysis or a scenario.

The page holds what a meeting asks first: key figures per function (facilities,
residents, covered, coverage %), the map of one function, the life-circle check table
(each line with its standard, mode and clause; 待核实 where a figure is not confirmed),
the before/after of a scenario (candidate sites) when one is given, and the assumptions
and sources, with the author/unit/date fields of a print layout.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from geo.errors import InputDataError
from geo.io.export import atomic_write
from geo.maps.layout import (
    FORMATS,
    PAPER_MM,
    LayoutText,
    MapContent,
    axes_mm,
    check_content,
    draw_footer,
    draw_map,
    page_figure,
    wrap,
)
from geo.maps.style import cjk_font

logger = logging.getLogger(__name__)

__all__ = ["MAX_CHECK_ROWS", "summary_report"]

#: Rows of the standard check shown on the page (the rest are in the XLSX export).
MAX_CHECK_ROWS = 8
#: Height of a table row and the space kept for notes and the footer (millimetres).
ROW_MM = 4.4
NOTES_MM = 34.0
VERDICT_COLOURS = {"pass": "#d9f0d3", "fail": "#fddbc7", "missing": "#f4a582"}


def _table(ax, frame: pd.DataFrame, *, font: str, size: float, colours: list[str] | None = None) -> None:
    ax.set_axis_off()
    if frame.empty:
        ax.text(0, 0.5, "(无数据)", fontsize=size, family=font, transform=ax.transAxes)
        return
    cells = [[str(v) for v in row] for row in frame.itertuples(index=False)]
    table = ax.table(cellText=cells, colLabels=[str(c) for c in frame.columns], loc="upper left", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(size)
    widths = [max(len(str(c)), *(len(str(v)) for v in frame[c])) for c in frame.columns]
    total = sum(widths)
    n_rows = len(frame) + 1
    for (r, c), cell in table.get_celld().items():
        cell.set_width(widths[c] / total)
        cell.set_height(1.0 / n_rows)
        cell.get_text().set_fontfamily(font)
        cell.get_text().set_parse_math(False)  # names and figures as written, never mathtext
        cell.set_edgecolor("#bbbbbb")
        if r == 0:
            cell.set_facecolor("#eeeeee")
            cell.get_text().set_weight("bold")
        elif colours is not None:
            cell.set_facecolor(colours[r - 1])


def _heading(fig, page, x_mm: float, y_mm: float, text: str, *, font: str) -> None:
    fig.text(x_mm / page[0], y_mm / page[1], text, fontsize=11, weight="bold", family=font, va="bottom")


def _map(fig, page, box_mm, content: MapContent, *, font: str) -> None:
    ax = axes_mm(fig, box_mm, page)
    handles, _ = draw_map(ax, content, frame_mm=box_mm[2:], font=font, k=0.85)
    ax.legend(
        handles=handles,
        loc="lower right",
        prop={"family": font, "size": 6},
        title=content.legend_title,
        title_fontproperties={"family": font, "size": 6.5},
        framealpha=0.9,
    )


def _clause(row) -> str:
    """A line's clause, with 待核实 when its figure is not yet confirmed against the text."""
    clause = str(row.get("clause", "") or "")
    if str(row.get("status", "") or "") and "待核实" not in clause:
        clause += "（待核实）"
    return clause


def _check_rows(check: pd.DataFrame, limit: int) -> tuple[pd.DataFrame, list[str]]:
    rows = check
    several = "unit" in rows.columns and rows["unit"].nunique() > 1
    if "unit" in rows.columns and len(rows) and not several:
        rows = rows[rows["unit"] == rows["unit"].iloc[0]]
    order = rows["verdict"].map({"missing": 0, "fail": 1}).fillna(2)
    rows = rows.assign(_o=order).sort_values("_o", kind="stable").head(limit)
    names = rows["name_zh"].astype(str)
    if several:  # checked per unit: each line names its unit
        names = rows["unit_name"].astype(str).where(rows["unit_name"].astype(str) != "", rows["unit"]) + " " + names
    columns = {
        "检查项": names,
        "结论": rows["verdict_zh"],
        "实测": rows["measured"].map(lambda v: f"{v:,.1f}" if isinstance(v, int | float) else str(v)),
        "要求": rows["required"].astype(str),
        "单位": rows["unit_of_measure"].astype(str),
    }
    if "reach" in rows.columns:
        columns["出行方式"] = rows["reach"].astype(str).map(lambda r: r.split("，")[0])
    if "clause" in rows.columns:
        columns["条文"] = [_clause(r) for r in rows.to_dict("records")]
    return pd.DataFrame(columns), [VERDICT_COLOURS.get(v, "white") for v in rows["verdict"]]


def _check_heading(check: pd.DataFrame, shown: int) -> str:
    codes = sorted(set(check["standard"])) if "standard" in check.columns and len(check) else ["GB 50180-2018"]
    return f"三、生活圈标准检查 {' / '.join(codes)} (共 {len(check)} 项, 显示 {shown} 项)"


def _delta_rows(scenario: pd.DataFrame) -> pd.DataFrame:
    together = scenario[scenario["candidate"] == -1] if "candidate" in scenario else scenario
    return pd.DataFrame(
        {
            "功能": together["function_zh"],
            "布点前覆盖率 (%)": together["covered_pct_before"].map(lambda v: f"{v:.1f}"),
            "布点后覆盖率 (%)": together["covered_pct_after"].map(lambda v: f"{v:.1f}"),
            "新增覆盖 (人)": together["newly_covered"].map(lambda v: f"{v:,.0f}"),
        }
    )


def _key_figures(table: pd.DataFrame, estimated: bool) -> pd.DataFrame:
    """The whole-area function rows of :func:`geo.access.coverage_tables.coverage_table`, with Chinese headers."""
    rows = table[(table["kind"] == "function") & (table["unit"] == table["unit"].iloc[0])]
    return pd.DataFrame(
        {
            "功能": rows["name_zh"],
            "设施 (处)": rows["facilities"].astype(int),
            ("估算人口 (人)" if estimated else "人口 (人)"): rows["population"].map(lambda v: f"{v:,.0f}"),
            "覆盖 (人)": rows["covered"].map(lambda v: f"{v:,.0f}"),
            "覆盖率 (%)": rows["covered_pct"].map(lambda v: f"{v:.1f}"),
            "步行时间阈值 (分钟)": rows["budget_min"].map(lambda v: f"{v:g}"),
        }
    )


def summary_report(
    table: pd.DataFrame,
    check: pd.DataFrame,
    path: str | Path,
    *,
    text: LayoutText,
    content: MapContent | None = None,
    scenario: pd.DataFrame | None = None,
    estimated: bool = False,
    dpi: int = 150,
) -> Path:
    """Write the one-page summary (A4 portrait), atomically.

    Parameters
    ----------
    table
        :func:`geo.access.coverage_tables.coverage_table` (its whole-area function rows are used).
    check
        :func:`geo.access.coverage_tables.standard_check`; the first :data:`MAX_CHECK_ROWS` rows of
        the first unit are shown, failures first.
    path
        Output ``.pdf`` or ``.png``.
    text
        Title, subtitle, assumptions, sources, author fields.
    content
        The map drawn in the middle (optional).
    scenario
        :func:`geo.access.coverage_tables.scenario_delta` of candidate sites; the rows of all
        candidates together (``candidate == -1``) are shown as before/after.
    estimated
        The residents are estimates (from buildings or a population grid): headed 估算人口.
    dpi
        PNG resolution.

    Raises
    ------
    InputDataError
        Unknown output type or a table without the expected columns.
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InputDataError(f"输出格式 {path.suffix!r} 无效，可选: .pdf, .png (unknown output format)")
    for frame, needed, what in (
        (table, {"kind", "unit", "name_zh", "facilities", "population", "covered", "covered_pct"}, "table"),
        (check, {"name_zh", "verdict", "verdict_zh", "measured", "required", "unit_of_measure"}, "check"),
    ):
        missing = needed - set(frame.columns)
        if missing:
            raise InputDataError(f"{what} 缺少列 {sorted(missing)} (not a coverage {what})")
    if content is not None:
        check_content(content)
    text = text.filled()
    font = cjk_font()
    page = PAPER_MM["A4"]
    m = 12.0
    fig = page_figure(page, dpi=dpi)
    figures = _key_figures(table, estimated)
    shown, colours = _check_rows(check, MAX_CHECK_ROWS if scenario is None else MAX_CHECK_ROWS - 2)
    delta = _delta_rows(scenario) if scenario is not None and len(scenario) else None
    heights = [ROW_MM * (len(f) + 1) + 2 for f in (figures, shown, delta) if f is not None]
    used = 2 * m + 20 + sum(heights) + 8 * (len(heights) + 1) + NOTES_MM
    map_h = page[1] - used - 1
    y = page[1] - m
    fig.text(0.5, (y - 7) / page[1], text.title, ha="center", fontsize=16, weight="bold", family=font)
    if text.subtitle:
        fig.text(0.5, (y - 14) / page[1], text.subtitle, ha="center", fontsize=9.5, family=font)
    y -= 20
    width = page[0] - 2 * m
    h = heights[0]
    _heading(fig, page, m, y - 6, "一、主要指标", font=font)
    _table(axes_mm(fig, (m, y - 6 - h, width, h - 1), page), figures, font=font, size=8)
    y -= 8 + h
    if content is not None and map_h >= 40:
        _heading(fig, page, m, y - 6, "二、地图", font=font)
        _map(fig, page, (m, y - 7 - map_h, width, map_h), content, font=font)
        y -= 8 + map_h
    h = ROW_MM * (len(shown) + 1) + 2
    _heading(fig, page, m, y - 6, _check_heading(check, len(shown)), font=font)
    _table(axes_mm(fig, (m, y - 6 - h, width, h - 1), page), shown, font=font, size=7, colours=colours)
    y -= 8 + h
    if delta is not None and scenario is not None:
        h = ROW_MM * (len(delta) + 1) + 2
        n_sites = int(scenario["candidate"].max()) + 1 if "candidate" in scenario else 1
        _heading(fig, page, m, y - 6, f"四、方案前后对比 ({n_sites} 处候选点)", font=font)
        _table(axes_mm(fig, (m, y - 6 - h, width, h - 1), page), delta, font=font, size=7)
        y -= 8 + h
    notes = [*(f"· {s}" for s in text.sources), *(f"· {a}" for a in text.assumptions)]
    lines = [part for note in notes for part in wrap(note, 118)]
    line_h = 3.4
    bottom = m + 10
    for line in lines:
        if y - 4 < bottom:
            break
        fig.text(m / page[0], (y - 4) / page[1], line, fontsize=6.5, va="top", color="#333333", family=font)
        y -= line_h
    draw_footer(fig, (m, m, page[0] - 2 * m, 8.0), page, text=text, font=font, k=0.9)
    metadata = text.metadata()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=dpi, metadata=metadata))
    logger.info("summary report -> %s", path.name)
    return path
