"""Print layouts for meetings: one map on an A4/A3 page, PNG or PDF.

A layout is a page of a fixed paper size with a Chinese title and subtitle, the
map, a legend, a scale bar and a printed scale (``1:N``) that are true for the
map's projected CRS, a north arrow turned to true north, the data sources and
attribution, the assumptions, and the author / organisation / date fields with an
optional 审图号 (map approval number) placeholder.

The map scale is a round number (1:5,000, 1:7,500, 1:10,000 ...) chosen so the
content fits; the map frame is then filled at exactly that scale, so a ruler on the
printed page (at 100 %) measures true distances.  PDFs embed subsets of their fonts
(matplotlib's default Type 3 subsets, which keep the text searchable and copyable) so
the Chinese text prints on any machine.

Pages are drawn on a :class:`matplotlib.figure.Figure` with its own canvas, never
through pyplot or a change of matplotlib's global settings: the web app renders
several pages at once in its threads without a lock.

What the map shows is a :class:`MapContent` (see :mod:`geo.maps.content` for the
coverage, service-area, grid and placement contents); this module only lays it out.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyproj
import shapely
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle

from geo.errors import CRSError, InputDataError
from geo.io.export import atomic_write
from geo.maps.artists import add_lines, add_polygons
from geo.maps.style import cjk_font

logger = logging.getLogger(__name__)

__all__ = [
    "FORMATS",
    "ORIENTATIONS",
    "OSM_ATTRIBUTION",
    "OSM_CREDIT",
    "PAPER_MM",
    "PRINT_FIELDS_ZH",
    "LayoutText",
    "MapContent",
    "axes_mm",
    "check_content",
    "draw_footer",
    "draw_map",
    "map_scale",
    "north_angle_deg",
    "page_figure",
    "print_fields",
    "render_layout",
    "wrap",
]

#: Paper sizes (width, height in millimetres, portrait), ISO 216.
PAPER_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
ORIENTATIONS = ("landscape", "portrait")
ORIENTATION_ZH = {"landscape": "横向", "portrait": "纵向"}
FORMATS = ("png", "pdf")
#: The OpenStreetMap credit; streets always come from OSM, facilities from OSM or a ledger.
OSM_CREDIT = "© OpenStreetMap contributors (ODbL 1.0)"
OSM_ATTRIBUTION = f"步行路网: {OSM_CREDIT}"
#: Page margin (mm) and the title band height (mm) on A4; A3 scales by sqrt(2).
MARGIN_MM = 10.0
TITLE_BAND_MM = 20.0
FOOTER_MM = 9.0
#: Share of the page width (landscape) or height (portrait) given to the side panel.
PANEL_SHARE = 0.28
#: Mantissas of the "round" scale denominators (1:1,000, 1:1,250 ... 1:7,500, 1:10,000).
NICE_SCALES = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.5)
DEFAULT_DPI = 150
MM_PER_INCH = 25.4


@dataclass(frozen=True)
class LayoutText:
    """The words on the page around the map.

    Attributes
    ----------
    title, subtitle
        Chinese title (e.g. "病有所医 步行15分钟覆盖") and subtitle (area, scenario).
    author, organisation
        编制人 and 编制单位; empty fields print as blanks to fill in by hand.
    date
        ISO date; default today.
    sources
        Data sources and attribution lines (OpenStreetMap's is added when missing).
    assumptions
        Walking speed, budget, standard ... one line each.
    approval_no
        审图号: ``None`` prints nothing, ``""`` prints a placeholder to fill in.
    reviewer
        审核人; empty prints as a blank to fill in by hand (never invented).
    """

    title: str
    subtitle: str = ""
    author: str = ""
    organisation: str = ""
    date: str = ""
    sources: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()
    approval_no: str | None = None
    reviewer: str = ""

    def filled(self) -> LayoutText:
        """A copy with the date and the OpenStreetMap attribution filled in, every ``$`` printed as itself.

        matplotlib typesets text between two ``$`` as mathematics (an author "$张$" would
        fail the render, "收费 $5-$10" would lose its signs); the fields are the planners'
        words, so each ``$`` is escaped (:func:`literal`).
        """
        sources = tuple(self.sources)
        if not any("OpenStreetMap" in s for s in sources):
            sources = (*sources, OSM_ATTRIBUTION)
        return replace(
            self,
            title=literal(self.title),
            subtitle=literal(self.subtitle),
            author=literal(self.author),
            organisation=literal(self.organisation),
            date=literal(self.date or dt.date.today().isoformat()),
            sources=tuple(literal(s) for s in sources),
            assumptions=tuple(literal(a) for a in self.assumptions),
            approval_no=None if self.approval_no is None else literal(self.approval_no),
            reviewer=literal(self.reviewer),
        )

    def metadata(self) -> dict[str, str]:
        """The file's Title and Author (of a :meth:`filled` copy), as the planner wrote them."""
        return {"Title": unliteral(self.title), "Author": unliteral(self.author or self.organisation) or "Linli"}


#: The title-block fields a project sets in its ``[print]`` section, with their Chinese names.
PRINT_FIELDS_ZH = {
    "organisation": "编制单位",
    "author": "编制人",
    "reviewer": "审核人",
    "approval_no": "审图号",
    "date": "日期",
}
MAX_PRINT_FIELD_CHARS = 100


def print_fields(defaults: Mapping[str, object] | None = None, overrides: Mapping[str, object] | None = None) -> dict:
    """The title-block fields of a page: the project's ``[print]`` values, overridden per export.

    Parameters
    ----------
    defaults
        The project's fields (:data:`PRINT_FIELDS_ZH` keys, or their Chinese names).
    overrides
        The export request's or the script's values; ``None`` values keep the default
        (an empty string clears it: a blank line).

    Returns
    -------
    dict
        ``organisation``, ``author``, ``reviewer``, ``date`` as text and ``approval_no``
        (``None`` when neither gives one: no 审图号 line), for :class:`LayoutText`.

    Raises
    ------
    InputDataError
        An unknown field, a value that is not text, over 100 characters, or with control characters.
    """
    by_zh = {zh: key for key, zh in PRINT_FIELDS_ZH.items()}
    out: dict = dict.fromkeys(PRINT_FIELDS_ZH, "")
    out["approval_no"] = None
    for source in (defaults or {}, overrides or {}):
        for raw_key, value in source.items():
            key = by_zh.get(str(raw_key), str(raw_key))
            if key not in PRINT_FIELDS_ZH:
                allowed = ", ".join(f"{k} ({z})" for k, z in PRINT_FIELDS_ZH.items())
                raise InputDataError(f"打印字段 {str(raw_key)[:30]!r} 无效，可选: {allowed} (unknown print field)")
            if value is None:
                continue
            if not isinstance(value, str) or len(value) > MAX_PRINT_FIELD_CHARS or any(ord(c) < 32 for c in value):
                raise InputDataError(
                    f"打印字段 {PRINT_FIELDS_ZH[key]} 应为不超过 {MAX_PRINT_FIELD_CHARS} 个字符的文字，不含控制字符 "
                    f"(print field {key} must be text of at most {MAX_PRINT_FIELD_CHARS} printable characters)"
                )
            out[key] = value
    return out


def literal(text: str) -> str:
    """``text`` as matplotlib prints it letter for letter: every ``$`` escaped (no mathtext)."""
    return text.replace("$", r"\$")


def unliteral(text: str) -> str:
    """The inverse of :func:`literal`."""
    return text.replace(r"\$", "$")


@dataclass(frozen=True)
class MapContent:
    """What a map shows, drawn into metric axes.

    Attributes
    ----------
    crs
        Projected CRS in metres of everything ``draw`` puts on the axes.
    bounds_m
        ``(xmin, ymin, xmax, ymax)`` to show, in ``crs`` (metres).
    draw
        ``draw(ax, font, focus)`` draws the layers and returns the legend handles; counts
        in the legend are of the ``focus`` area when there is one.
    legend_title
        Title of the legend.
    focus
        Optional polygon (in ``crs``) of the area the page is about: outlined, the
        rest of the map is dimmed.
    items_title, items
        An optional list printed first in the side panel under its bold title (a plan's
        candidates with what each adds), one entry per item; ``$`` printed as itself.
    """

    crs: pyproj.CRS
    bounds_m: tuple[float, float, float, float]
    draw: Callable[[Axes, str, shapely.Geometry | None], list]
    legend_title: str = "图例"
    focus: shapely.Geometry | None = None
    notes: tuple[str, ...] = field(default=())
    items_title: str = ""
    items: tuple[str, ...] = ()

    def around(self, area: shapely.Geometry, *, pad_share: float = 0.06) -> MapContent:
        """The same content, framed on ``area`` (a polygon in ``crs``)."""
        x0, y0, x1, y1 = area.bounds
        pad = pad_share * max(x1 - x0, y1 - y0, 1.0)
        return replace(self, bounds_m=(x0 - pad, y0 - pad, x1 + pad, y1 + pad), focus=area)


def check_content(content: MapContent) -> None:
    """Raise :class:`CRSError` or :class:`InputDataError` unless ``content`` can be printed to scale."""
    crs = pyproj.CRS.from_user_input(content.crs)
    if not crs.is_projected or crs.axis_info[0].unit_name not in ("metre", "meter"):
        raise CRSError(
            f"打印图需要以米为单位的投影坐标系，收到 {crs.name} "
            "(a print layout needs a projected CRS in metres so that the scale bar is true)"
        )
    x0, y0, x1, y1 = content.bounds_m
    if not all(math.isfinite(v) for v in content.bounds_m) or x1 <= x0 or y1 <= y0:
        raise InputDataError(f"地图范围无效: {content.bounds_m} (map extent must be a non-empty box in metres)")


def map_scale(span_m: tuple[float, float], frame_mm: tuple[float, float]) -> int:
    """The smallest round scale denominator N at which ``span_m`` fits in ``frame_mm``.

    Parameters
    ----------
    span_m
        Width and height of the content (metres on the ground).
    frame_mm
        Width and height of the map frame on paper (millimetres).
    """
    need = max(span_m[0] / (frame_mm[0] / 1000.0), span_m[1] / (frame_mm[1] / 1000.0), 1.0)
    exponent = 10 ** math.floor(math.log10(need))
    for mantissa in (*NICE_SCALES, 10.0):
        if mantissa * exponent >= need * (1 - 1e-9):
            return round(mantissa * exponent)
    return int(10 * exponent)


def north_angle_deg(crs: pyproj.CRS, x_m: float, y_m: float) -> float:
    """Angle of true north from the map's up direction (degrees, counter-clockwise) at (x, y) in ``crs``."""
    to_geo = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
    to_map = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    lon, lat = to_geo.transform(x_m, y_m)
    x2, y2 = to_map.transform(lon, min(lat + 0.01, 89.99))
    return math.degrees(math.atan2(-(x2 - x_m), y2 - y_m))


def _nice_bar_m(max_m: float) -> float:
    """Round scale-bar length not longer than ``max_m``."""
    exponent = 10 ** math.floor(math.log10(max_m))
    for step in (5, 2, 1):
        if step * exponent <= max_m:
            return float(step * exponent)
    return float(exponent)


def _text_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def wrap(text: str, width: int) -> list[str]:
    """Wrap mixed Chinese/Latin text at ``width`` half-width columns (a CJK character counts 2)."""
    lines, line, used = [], "", 0
    for char in text:
        w = 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if used + w > width and line:
            cut = line.rfind(" ")
            if cut > 0 and used - _text_width(line[:cut]) < width // 3:
                lines.append(line[:cut])
                line = line[cut + 1 :]
                used = _text_width(line)
            else:
                lines.append(line)
                line, used = "", 0
        line += char
        used += w
    if line:
        lines.append(line)
    return lines


@dataclass(frozen=True)
class _Frame:
    """Boxes of the page in millimetres from the lower left: (x, y, w, h)."""

    page: tuple[float, float]
    title: tuple[float, float, float, float]
    map: tuple[float, float, float, float]
    panel: tuple[float, float, float, float]
    footer: tuple[float, float, float, float]
    k: float  # font scale of the paper (A4 = 1)


def _frames(paper: str, orientation: str) -> _Frame:
    w, h = PAPER_MM[paper]
    if orientation == "landscape":
        w, h = h, w
    k = PAPER_MM[paper][0] / PAPER_MM["A4"][0]
    m, title_h, foot_h = MARGIN_MM * k, TITLE_BAND_MM * k, FOOTER_MM * k
    inner_w, inner_h = w - 2 * m, h - 2 * m
    body_y, body_h = m + foot_h, inner_h - title_h - foot_h
    gap = 4.0 * k
    if orientation == "landscape":
        panel_w = inner_w * PANEL_SHARE
        map_box = (m, body_y, inner_w - panel_w - gap, body_h)
        panel = (m + inner_w - panel_w, body_y, panel_w, body_h)
    else:
        panel_h = inner_h * PANEL_SHARE * 0.85
        map_box = (m, body_y + panel_h + gap, inner_w, body_h - panel_h - gap)
        panel = (m, body_y, inner_w, panel_h)
    return _Frame(
        page=(w, h),
        title=(m, h - m - title_h, inner_w, title_h),
        map=map_box,
        panel=panel,
        footer=(m, m, inner_w, foot_h),
        k=k,
    )


def page_figure(page_mm: tuple[float, float], *, dpi: int) -> Figure:
    """A figure of the page's size on its own Agg canvas: no pyplot, no global state, safe in threads."""
    fig = Figure(figsize=(page_mm[0] / MM_PER_INCH, page_mm[1] / MM_PER_INCH), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def axes_mm(fig: Figure, box_mm: tuple[float, float, float, float], page_mm: tuple[float, float]) -> Axes:
    """Axes over the box ``(x, y, w, h)`` of the page (millimetres from the lower left)."""
    x, y, w, h = box_mm
    pw, ph = page_mm
    return fig.add_axes((x / pw, y / ph, w / pw, h / ph))


def _draw_scale_bar(ax: Axes, *, scale: int, frame_mm: tuple[float, float], font: str, k: float) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_bar_m(0.25 * (x1 - x0))
    x = x0 + 0.03 * (x1 - x0)
    y = y0 + 0.04 * (y1 - y0)
    h = 1.6 * k * scale / 1000.0  # 1.6 mm on paper, in metres on the ground
    ax.add_patch(
        Rectangle(
            (x - 0.01 * (x1 - x0), y - 0.015 * (y1 - y0)),
            length + 0.05 * (x1 - x0),
            7.5 * k * scale / 1000.0,
            facecolor="white",
            edgecolor="none",
            alpha=0.85,
            zorder=19,
        )
    )
    parts = 4
    for i in range(parts):
        ax.add_patch(
            Rectangle(
                (x + i * length / parts, y),
                length / parts,
                h,
                facecolor="black" if i % 2 == 0 else "white",
                edgecolor="black",
                linewidth=0.6,
                zorder=20,
            )
        )
    label = f"{length / 1000:g} 千米" if length >= 1000 else f"{length:g} 米"
    size = 7 * k
    ax.text(x, y + 1.6 * h, "0", fontsize=size, family=font, ha="center", va="bottom", zorder=21)
    ax.text(x + length, y + 1.6 * h, label, fontsize=size, family=font, ha="center", va="bottom", zorder=21)
    ax.text(
        x + length / 2, y - 0.4 * h, f"比例尺 1:{scale:,}", fontsize=size, family=font, ha="center", va="top", zorder=21
    )


def _draw_north_arrow(ax: Axes, *, angle_deg: float, font: str, k: float) -> None:
    cx, cy, r = 0.93, 0.88, 0.05
    a = math.radians(angle_deg)
    dx, dy = -math.sin(a), math.cos(a)
    bbox = ax.get_window_extent()
    aspect = bbox.width / bbox.height
    tip = (cx + r * dx / aspect, cy + r * dy)
    tail = (cx - r * dx / aspect, cy - r * dy)
    side = (-dy * 0.45 * r / aspect, dx * 0.45 * r)
    ax.add_patch(
        Polygon(
            [tip, (tail[0] + side[0], tail[1] + side[1]), (cx, cy), tip],
            closed=True,
            transform=ax.transAxes,
            facecolor="black",
            edgecolor="black",
            zorder=20,
        )
    )
    ax.add_patch(
        Polygon(
            [tip, (cx, cy), (tail[0] - side[0], tail[1] - side[1]), tip],
            closed=True,
            transform=ax.transAxes,
            facecolor="white",
            edgecolor="black",
            zorder=20,
        )
    )
    ax.text(
        tip[0] + 0.012 * dx / aspect,
        tip[1] + 0.012 * dy,
        "北\nN",
        transform=ax.transAxes,
        ha="center",
        va="bottom",
        fontsize=8 * k,
        family=font,
        linespacing=0.9,
        zorder=21,
    )


def _set_extent(ax: Axes, content: MapContent, frame_mm: tuple[float, float]) -> int:
    x0, y0, x1, y1 = content.bounds_m
    scale = map_scale((x1 - x0, y1 - y0), frame_mm)
    half_w = frame_mm[0] / 1000.0 * scale / 2
    half_h = frame_mm[1] / 1000.0 * scale / 2
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    ax.set_xlim(cx - half_w, cx + half_w)
    ax.set_ylim(cy - half_h, cy + half_h)
    ax.set_aspect("equal", adjustable="box")
    return scale


def _dim_outside(ax: Axes, focus: shapely.Geometry) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    outside = shapely.box(x0, y0, x1, y1).difference(focus)
    if not outside.is_empty:
        add_polygons(ax, [outside], color="white", alpha=0.55, zorder=8)
    add_lines(ax, [focus], color="#08306b", linewidth=1.8, zorder=9)


def draw_map(
    ax: Axes, content: MapContent, *, frame_mm: tuple[float, float], font: str, k: float = 1.0
) -> tuple[list, int]:
    """Draw ``content`` into ``ax`` at a round scale, with its scale bar and north arrow.

    Parameters
    ----------
    ax
        Axes of the map frame on the page.
    content
        The map (metric CRS); its ``focus`` area, if any, is outlined and the rest dimmed.
    frame_mm
        Width and height of the map frame on paper (millimetres).
    font
        Font family of the labels (:func:`geo.maps.style.cjk_font`).
    k
        Size of the furniture relative to an A4 layout.

    Returns
    -------
    tuple
        The legend handles of the content and the scale denominator N of ``1:N``.
    """
    ax.set_facecolor("#f7f7f4")
    _set_extent(ax, content, frame_mm)
    handles = content.draw(ax, font, content.focus)
    if content.focus is not None:
        _dim_outside(ax, content.focus)
    scale = _set_extent(ax, content, frame_mm)  # drawing (GeoPandas) may have moved the limits
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    for spine in ax.spines.values():
        spine.set_linewidth(1.0)
    cx, cy = float(np.mean(ax.get_xlim())), float(np.mean(ax.get_ylim()))
    _draw_scale_bar(ax, scale=scale, frame_mm=frame_mm, font=font, k=k)
    _draw_north_arrow(ax, angle_deg=north_angle_deg(content.crs, cx, cy), font=font, k=k)
    return handles, scale


def _panel(fig, box_mm, page_mm, *, content, handles, text: LayoutText, font: str, k: float, landscape: bool) -> Axes:
    ax = axes_mm(fig, box_mm, page_mm)
    ax.set_axis_off()
    size = 7.5 * k
    if landscape:
        legend_anchor, notes_x, notes_top, notes_w_mm = (0.0, 1.0), 0.0, None, box_mm[2]
    else:
        legend_anchor, notes_x, notes_top, notes_w_mm = (0.0, 1.0), 0.5, 1.0, box_mm[2] / 2
    legend = ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=legend_anchor,
        prop={"family": font, "size": size},
        title=content.legend_title,
        title_fontproperties={"family": font, "size": size * 1.15, "weight": "bold"},
        frameon=True,
        framealpha=1.0,
        edgecolor="#999999",
        alignment="left",
        borderaxespad=0.0,
    )
    ax.add_artist(legend)
    if notes_top is None:
        # The legend measures itself; no need to draw the whole page (a county's streets) first.
        renderer = fig.canvas.get_renderer()
        bb = legend.get_window_extent(renderer).transformed(ax.transAxes.inverted())
        notes_top = bb.y0 - 0.03
    columns = max(int(notes_w_mm / (size * 0.3528 * 0.55)), 20)
    lines: list[tuple[str, bool]] = []
    if content.items:
        lines.append((literal(content.items_title or "清单"), True))
        for item in map(literal, content.items):
            lines.extend((f"{'' if i == 0 else '  '}{part}", False) for i, part in enumerate(wrap(item, columns - 2)))
    if text.assumptions:
        lines.append(("假设与口径", True))
        for item in (*text.assumptions, *content.notes):
            lines.extend((f"{'· ' if i == 0 else '  '}{part}", False) for i, part in enumerate(wrap(item, columns - 2)))
    lines.append(("数据来源", True))
    for item in text.sources:
        lines.extend((f"{'· ' if i == 0 else '  '}{part}", False) for i, part in enumerate(wrap(item, columns - 2)))
    crs = pyproj.CRS.from_user_input(content.crs)
    epsg = crs.to_epsg()
    lines.append((f"坐标系: {crs.name}{f' (EPSG:{epsg})' if epsg else ''}", False))
    line_h = size * 1.45 / 72 * MM_PER_INCH / box_mm[3]
    y = notes_top
    for line, bold in lines:
        if y < line_h * 0.5:
            break  # the panel is full: the rest would print over the footer
        ax.text(
            notes_x,
            y,
            line,
            transform=ax.transAxes,
            va="top",
            ha="left",
            fontsize=size * (1.1 if bold else 1.0),
            weight="bold" if bold else "normal",
            family=font,
            color="#222222",
        )
        y -= line_h * (1.15 if bold else 1.0)
    return ax


def draw_footer(
    fig: Figure,
    box_mm: tuple[float, float, float, float],
    page_mm: tuple[float, float],
    *,
    text: LayoutText,
    font: str,
    k: float,
) -> None:
    """The title block at the foot of a page: 编制单位, 编制人, 审核人 on the first row; 日期 (and
    审图号) on the second.  A field not given prints as a blank line to fill in by hand."""
    ax = axes_mm(fig, box_mm, page_mm)
    ax.set_axis_off()
    blank = "__________"
    rows = [
        [
            f"{PRINT_FIELDS_ZH['organisation']}: {text.organisation or blank}",
            f"{PRINT_FIELDS_ZH['author']}: {text.author or blank}",
            f"{PRINT_FIELDS_ZH['reviewer']}: {text.reviewer or blank}",
        ],
        [f"{PRINT_FIELDS_ZH['date']}: {text.date or blank}"],
    ]
    if text.approval_no is not None:
        rows[1].insert(0, f"{PRINT_FIELDS_ZH['approval_no']}: {text.approval_no or '________________'}")
    ax.axhline(0.97, color="#444444", linewidth=0.8)
    for y, row in zip((0.62, 0.18), rows, strict=True):
        for i, item in enumerate(row):
            ax.text(
                i / 3,
                y,
                item,
                transform=ax.transAxes,
                ha="left",
                va="center",
                fontsize=7.5 * k,
                family=font,
            )


def render_layout(
    content: MapContent,
    path: str | Path,
    *,
    text: LayoutText,
    paper: str = "A4",
    orientation: str = "landscape",
    dpi: int = DEFAULT_DPI,
) -> Path:
    """Lay out one map on a page and write it (PNG or PDF by the suffix), atomically.

    Parameters
    ----------
    content
        The map (:class:`MapContent`, metric CRS).
    path
        Output ``.png`` or ``.pdf``; Chinese names and spaces are fine.
    text
        Title, subtitle, sources, assumptions, author fields.
    paper, orientation
        ``A4``/``A3`` and ``landscape``/``portrait``.
    dpi
        PNG resolution (the PDF is vector).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    InputDataError
        Unknown paper, orientation or file type, or an empty extent.
    CRSError
        The content is not in a projected CRS in metres.
    geo.maps.style.MissingFontError
        No Chinese font installed.
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InputDataError(f"输出格式 {path.suffix!r} 无效，可选: .png, .pdf (unknown output format)")
    if paper not in PAPER_MM:
        raise InputDataError(f"纸张 {paper!r} 无效，可选: {', '.join(PAPER_MM)} (unknown paper size)")
    if orientation not in ORIENTATIONS:
        raise InputDataError(f"方向 {orientation!r} 无效，可选: {', '.join(ORIENTATIONS)} (unknown orientation)")
    if not (50 <= dpi <= 600):
        raise InputDataError(f"分辨率 dpi={dpi} 超出范围 [50, 600] (dpi out of range)")
    check_content(content)
    text = text.filled()
    font = cjk_font()
    frame = _frames(paper, orientation)
    page = frame.page
    fig = page_figure(page, dpi=dpi)
    title_ax = axes_mm(fig, frame.title, page)
    title_ax.set_axis_off()
    title_ax.text(0.5, 0.62, text.title, ha="center", va="center", fontsize=17 * frame.k, weight="bold", family=font)
    if text.subtitle:
        title_ax.text(0.5, 0.15, text.subtitle, ha="center", va="center", fontsize=10.5 * frame.k, family=font)
    ax = axes_mm(fig, frame.map, page)
    handles, scale = draw_map(ax, content, frame_mm=frame.map[2:], font=font, k=frame.k)
    _panel(
        fig,
        frame.panel,
        page,
        content=content,
        handles=handles,
        text=text,
        font=font,
        k=frame.k,
        landscape=orientation == "landscape",
    )
    draw_footer(fig, frame.footer, page, text=text, font=font, k=frame.k)
    metadata = text.metadata()
    if fmt == "pdf":
        metadata["Subject"] = unliteral(text.subtitle)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=dpi, metadata=metadata))
    logger.info("layout %s %s %s, 1:%d -> %s", paper, orientation, fmt, scale, path.name)
    return path


def layout_boxes_px(paper: str, orientation: str, dpi: int = DEFAULT_DPI) -> dict[str, tuple[int, int, int, int]]:
    """Pixel boxes ``(left, top, right, bottom)`` of the title, map, panel and footer of a PNG layout."""
    frame = _frames(paper, orientation)
    w, h = frame.page
    px = dpi / MM_PER_INCH
    out = {}
    for name in ("title", "map", "panel", "footer"):
        x, y, bw, bh = getattr(frame, name)
        out[name] = (round(x * px), round((h - y - bh) * px), round((x + bw) * px), round((h - y) * px))
    out["page"] = (0, 0, round(w * px), round(h * px))
    return out
