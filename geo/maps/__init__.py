"""Maps for meetings: what each map shows, print layouts, the summary report, the offline base map.

The package draws; it computes nothing (the analyses come from :mod:`geo.access`,
:mod:`geo.grids` and :mod:`geo.placement`).

* :mod:`~geo.maps.style` — the Chinese font and the one colour palette of every map
* :mod:`~geo.maps.content` — the coverage, service-area, grid and placement contents
* :mod:`~geo.maps.layout` — one map on an A4/A3 page (PNG/PDF), true to scale
* :mod:`~geo.maps.report` — the one-page summary of a coverage analysis
* :mod:`~geo.maps.basemap` — roads, buildings, water and green areas for the web map
"""

from geo.maps import style
from geo.maps.basemap import area_layers, road_layer
from geo.maps.content import (
    coverage_content,
    coverage_map,
    coverage_text,
    grids_content,
    placement_content,
    service_area_content,
)
from geo.maps.layout import LayoutText, MapContent, render_layout
from geo.maps.report import summary_report
from geo.maps.style import MissingFontError, cjk_font

__all__ = [
    "LayoutText",
    "MapContent",
    "MissingFontError",
    "area_layers",
    "cjk_font",
    "coverage_content",
    "coverage_map",
    "coverage_text",
    "grids_content",
    "placement_content",
    "render_layout",
    "road_layer",
    "service_area_content",
    "style",
    "summary_report",
]
