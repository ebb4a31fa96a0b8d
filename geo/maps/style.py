"""How every map looks, in one place: the Chinese font and the colour palette.

The print layouts and the summary report (:mod:`geo.maps.layout`, :mod:`geo.maps.content`,
:mod:`geo.maps.report`), the web map and the standalone HTML page (``webapp.mapview``) all
take their colours from here, so a function, a walking-time class or a service-area ring
has the same colour on paper and on screen.

The Chinese font is Noto Sans CJK from Debian's ``fonts-noto-cjk`` (installed by
``make setup``); :func:`cjk_font` finds it or another CJK font that is installed.
"""

from __future__ import annotations

import zlib
from functools import cache

from matplotlib import font_manager

from geo.errors import GeoError

__all__ = [
    "BASE_AREA_STYLE",
    "BOUNDARY_COLOUR",
    "CJK_FONTS",
    "COVERED_COLOUR",
    "FUNCTION_COLOURS",
    "FUNCTION_MARKERS",
    "GAP_COLOUR",
    "GRID_COLOURS",
    "GRID_EDGE_COLOUR",
    "LINK_COLOUR",
    "NETWORK_COLOUR",
    "NEWLY_COVERED_COLOUR",
    "NEW_SITE_AREA_COLOUR",
    "NEW_SITE_COLOUR",
    "RING_COLOURS",
    "ROAD_STYLE",
    "TIME_CLASSES_MIN",
    "TIME_COLOURS",
    "UNIT_COLOUR",
    "UNREACHED_COLOUR",
    "MissingFontError",
    "cjk_font",
    "function_colour",
    "function_marker",
    "use_print_fonts",
]

# ---------------------------------------------------------------------------- font

#: Fonts tried in order for Chinese labels.
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Micro Hei", "Source Han Sans SC", "SimHei")


class MissingFontError(GeoError):
    """No font with Chinese glyphs is installed."""


@cache
def cjk_font() -> str:
    """Name of an installed font with Chinese glyphs.

    Returns
    -------
    str
        The first of :data:`CJK_FONTS` that matplotlib finds.

    Raises
    ------
    MissingFontError
        If none of them is installed.
    """
    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in names:
            return name
    font_manager.fontManager.__init__()  # type: ignore[misc]  # a font installed after the cache was written
    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in names:
            return name
    raise MissingFontError(
        "没有中文字体，地图无法显示中文；请运行 make setup 安装 fonts-noto-cjk "
        "(no CJK font installed: run `make setup`, which installs Debian's fonts-noto-cjk)"
    )


# ------------------------------------------------------------------------- palette

#: Colour of each service function (facility markers and symbols).
FUNCTION_COLOURS = {
    "elderly": "#9b59b6",
    "childcare": "#e91e8c",
    "medical": "#d63e2a",
    "food": "#f69730",
    "leisure": "#72b026",
    "services": "#38aadd",
    "education": "#2b6cb0",  # 学有所教 (schools), a group of its own (issue 21)
}
#: Web map markers of each function: Leaflet.awesome-markers colour name (the nearest to
#: :data:`FUNCTION_COLOURS`) and Font Awesome 6 icon.
FUNCTION_MARKERS = {
    "elderly": ("purple", "person-cane"),
    "childcare": ("pink", "child"),
    "medical": ("red", "house-medical"),
    "food": ("orange", "basket-shopping"),
    "leisure": ("green", "tree"),
    "services": ("blue", "building-columns"),
    "education": ("darkblue", "school"),
}
#: Markers (awesome-markers colour, its hex, icon) of a project's functions beyond the six
#: ("1+6+X"), chosen by a stable hash of the function's name.
EXTRA_FUNCTION_MARKERS = (
    ("cadetblue", "#436978", "star"),
    ("darkgreen", "#728224", "star"),
    ("darkpurple", "#5b396b", "star"),
    ("darkred", "#a23336", "star"),
    ("gray", "#575757", "star"),
    ("beige", "#c8a060", "star"),
)


def _extra_marker(function: str) -> tuple[str, str, str]:
    return EXTRA_FUNCTION_MARKERS[zlib.crc32(function.encode("utf-8")) % len(EXTRA_FUNCTION_MARKERS)]


def function_colour(function: str) -> str:
    """Hex colour of a function: the six's own, a stable one for an extra ("1+6+X") function."""
    return FUNCTION_COLOURS.get(function) or _extra_marker(function)[1]


def function_marker(function: str) -> tuple[str, str]:
    """Web map marker (awesome-markers colour, Font Awesome icon) of a function, extras included."""
    if function in FUNCTION_MARKERS:
        return FUNCTION_MARKERS[function]
    colour, _, icon = _extra_marker(function)
    return colour, icon


#: Walking-time classes of the residents (minutes) and their colours, green to red:
#: ``TIME_COLOURS[k]`` up to ``TIME_CLASSES_MIN[k]``, the last colour beyond.
TIME_CLASSES_MIN = (5.0, 10.0, 15.0)
TIME_COLOURS = ("#1a9850", "#91cf60", "#fee08b", "#d73027")
#: Residents no facility reaches.
UNREACHED_COLOUR = "#7f7f7f"
#: Service-area rings, innermost (0-5 minutes) first.
RING_COLOURS = ("#1a9850", "#91cf60", "#fee08b", "#fdae61")
#: Gap cells (the worst ones outlined) and new center sites.
GAP_COLOUR = "#d7191c"
NEW_SITE_COLOUR = "#d7191c"
#: The new sites' walking service areas (dashed outlines; the web map draws them the same orange).
NEW_SITE_AREA_COLOUR = "#e6550d"
#: Residents covered before a placement and those the new sites cover.
COVERED_COLOUR = "#1a9850"
NEWLY_COVERED_COLOUR = "#2c7fb8"
#: Management grids with fewer, as many as, or more households than the bounds.
GRID_COLOURS = ("#fee08b", "#a6d96a", "#f46d43")
GRID_EDGE_COLOUR = "#333333"
#: Base lines: the walk network, the study-area boundary, area units.
NETWORK_COLOUR = "#c8c8c8"
#: A member's links to households on the "1+10" map (issue 20).
LINK_COLOUR = "#6baed6"
BOUNDARY_COLOUR = "#444444"
UNIT_COLOUR = "#6a51a3"
#: The web map's offline base (:mod:`geo.maps.basemap`): areas by kind and roads by class
#: (Leaflet path options).
BASE_AREA_STYLE = {
    "green": {"fillColor": "#cfe8c4", "color": "#cfe8c4", "weight": 0, "fillOpacity": 1.0},
    "water": {"fillColor": "#aad3df", "color": "#aad3df", "weight": 0, "fillOpacity": 1.0},
    "building": {"fillColor": "#d9d0c9", "color": "#bfb3aa", "weight": 0.5, "fillOpacity": 1.0},
}
ROAD_STYLE = {
    "major": {"color": "#f7c873", "weight": 5},
    "street": {"color": "#ffffff", "weight": 3.5},
    "path": {"color": "#9a9a9a", "weight": 1, "dashArray": "3 3"},
}


def use_print_fonts() -> None:
    """Embed whole TrueType fonts (Type 42) in the PDFs this process writes, as print shops prefer.

    Matplotlib takes the PDF font type only from its process-wide settings, so the faces
    (the web app, the export script) call this once at start, before any page is drawn;
    nothing changes it afterwards, so pages drawn at the same time in threads agree.
    Without it PDFs carry Type 3 glyph procedures (about five times faster to write).
    """
    import matplotlib

    matplotlib.rcParams["pdf.fonttype"] = 42
