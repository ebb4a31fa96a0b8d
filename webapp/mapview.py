"""The planner's map: Folium layers over the project's own offline base.

Layers (each in the layer control): the base (green, water, buildings, roads), the
study-area boundary, area units with their codes, facilities by function (distinct
icons and colours, popups with name / type / source), 5/10/15-minute service areas
per function (rings), residents' walking time to the chosen function, its gap
cells, and the planner's drawings.  Every text that comes from data is escaped.
"""

from __future__ import annotations

import html
import itertools
import json

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import MacroElement, Template
from folium import plugins

from geo.maps.style import (
    BASE_AREA_STYLE,
    BOUNDARY_COLOUR,
    GAP_COLOUR,
    RING_COLOURS,
    ROAD_STYLE,
    TIME_CLASSES_MIN,
    TIME_COLOURS,
    UNIT_COLOUR,
    UNREACHED_COLOUR,
    function_colour,
    function_marker,
)
from webapp.assets import localize
from webapp.i18n import DRAW_TEXTS_ZH, function_labels, profile_label
from webapp.state import AnalysisState, walking_time_points


def safe(text: object) -> str:
    """Text from data, safe inside Folium's HTML and its JavaScript template literals."""
    return html.escape(str(text), quote=True).replace("`", "&#96;").replace("$", "&#36;")


def _geojson(frame: gpd.GeoDataFrame, text_columns: tuple[str, ...] = (), precision_deg: float = 1e-6) -> dict:
    frame = frame.copy()
    for column in text_columns:
        if column in frame.columns:
            frame[column] = frame[column].map(safe)
    # Plain rounding of the coordinates (no topology: merged base shapes may overlap).
    digits = round(-np.log10(precision_deg))
    frame["geometry"] = shapely.transform(frame.geometry.to_numpy(), lambda c: np.round(c, digits))
    return json.loads(frame.to_json(drop_id=True))


#: Base layers are drawn at about a metre (1e-5 degrees): finer digits only weigh on the page.
BASE_PRECISION_DEG = 1e-5


def _merged(frame: gpd.GeoDataFrame, by: list[str]) -> gpd.GeoDataFrame:
    """One multi-geometry per group: thousands of base features become a few (a lighter page)."""
    if frame.empty:
        return frame
    codes = frame.groupby(by, sort=False, dropna=False).ngroup().to_numpy()
    parts, owner = shapely.get_parts(frame.geometry.to_numpy(), return_index=True)
    group = codes[owner]
    order = np.argsort(group, kind="stable")
    parts, group = parts[order], group[order]
    out = frame.groupby(by, sort=False, dropna=False).size().reset_index()[by]
    types = set(shapely.get_type_id(parts).tolist())
    if types <= {1, 2}:
        merged = shapely.multilinestrings(parts, indices=group)
    elif types <= {3}:
        merged = shapely.multipolygons(parts, indices=group)
    else:
        merged = shapely.geometrycollections(parts, indices=group)
    return gpd.GeoDataFrame(out, geometry=merged, crs=frame.crs)


def time_colour(minutes: float) -> str:
    """Colour of a walking time in minutes."""
    if not np.isfinite(minutes):
        return UNREACHED_COLOUR
    for colour, limit in zip(TIME_COLOURS, TIME_CLASSES_MIN, strict=False):
        if minutes <= limit:
            return colour
    return TIME_COLOURS[-1]


LEGEND = """
{% macro html(this, kwargs) %}
<div id="linli-legend" class="linli-legend">
  <div id="legend-block-times" data-layer="times">
  <div class="linli-legend-title">{{ this.title_time }}</div>
  {% for colour, label in this.time_items %}
  <div><span class="swatch" style="background:{{ colour }}"></span>{{ label }}</div>
  {% endfor %}
  </div>
  <div id="legend-block-rings" data-layer="rings">
  <div class="linli-legend-title" id="legend-rings-title">{{ this.title_rings }}</div>
  <div id="legend-rings">
  {% for colour, label in this.ring_items %}
  <div><span class="swatch" style="background:{{ colour }};opacity:0.6"></span>{{ label }}</div>
  {% endfor %}
  </div>
  </div>
  <div id="legend-block-gaps" data-layer="gaps"><span class="swatch"
    style="background:none;outline:2px solid {{ this.gap_colour }}"></span>{{ this.gap_label }}</div>
  <div id="legend-block-facilities" data-layer="facilities">
  <div class="linli-legend-title">{{ this.function_title }}</div>
  {% for key, colour, label in this.function_items %}
  <div data-function="{{ key }}"><span class="dot" style="background:{{ colour }}"></span>{{ label }}</div>
  {% endfor %}
  </div>
  <div class="linli-legend-note" id="legend-note">{{ this.note }}</div>
</div>
{% endmacro %}
"""


class MetricScale(MacroElement):
    """A metric-only scale bar (Leaflet's default adds miles and feet below the metres)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "L.control.scale({imperial: false, maxWidth: 160}).addTo({{ this._parent.get_name() }});"
        "{% endmacro %}"
    )


class ControlTexts(MacroElement):
    """Leaflet's own controls in the page's language: the zoom buttons (made here, the map's
    default zoom control is off) and the layer control's toggle (added after the layer control)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "{% if this.zoom %}"
        "L.control.zoom({zoomInTitle: {{ this.zoom_in }}, zoomOutTitle: {{ this.zoom_out }}})"
        ".addTo({{ this._parent.get_name() }});"
        "{% else %}"
        "{{ this._parent.get_name() }}.getContainer().querySelectorAll('.leaflet-control-layers-toggle')"
        ".forEach((a) => { a.title = {{ this.layers }}; });"
        "{% endif %}"
        "{% endmacro %}"
    )

    def __init__(self, texts: dict[str, str], *, zoom: bool) -> None:
        super().__init__()
        self._name = "ControlTexts"
        self.zoom = zoom
        for key in ("zoom_in", "zoom_out", "layers"):
            setattr(self, key, json.dumps(texts[key], ensure_ascii=False).replace("</", "<\\/"))


class DrawTexts(MacroElement):
    """Leaflet.draw's buttons and tooltips in the page's language (added before the Draw control)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "if (window.L && L.drawLocal) { L.drawLocal = {{ this.texts_json }}; }"
        "{% endmacro %}"
    )

    def __init__(self, texts: dict) -> None:
        super().__init__()
        self._name = "DrawTexts"
        self.texts_json = json.dumps(texts, ensure_ascii=False).replace("</", "<\\/")


class Legend(MacroElement):
    """The map legend (HTML in the page, styled by app.css)."""

    _template = Template(LEGEND)

    def __init__(self, **items) -> None:
        super().__init__()
        self._name = "Legend"
        for key, value in items.items():
            setattr(self, key, value)


def build_map(
    state: AnalysisState,
    *,
    function: str,
    texts: dict[str, str],
    basemaps: list[dict],
    dynamic: list[dict] | None = None,
) -> folium.Map:
    """The Folium map of a project, with ``function`` chosen for times, rings and gaps.

    ``dynamic``: the heavy layers (streets, buildings, service areas, walking times, facilities)
    are left as empty groups, filled by the page for the window on screen from ``/api/view``
    (``static/viewport.js``); one spec per layer is appended to the list.  ``None``: every
    layer is in the map itself (the standalone HTML export).
    """
    w, s, e, n = state.extent_wgs84
    fmap = folium.Map(
        location=[(s + n) / 2, (w + e) / 2],
        zoom_start=15,
        tiles=None,
        control_scale=False,  # (metric only: MetricScale below)
        zoom_control=False,  # (in the page's language: ControlTexts below)
        prefer_canvas=True,
        attribution_control=True,
    )
    fmap.fit_bounds([[s, w], [n, e]])
    lang = texts.get("lang", "zh")
    ControlTexts(texts, zoom=True).add_to(fmap)
    MetricScale().add_to(fmap)
    labels = function_labels(state.functions, lang)
    # h-rural (issue 21): facility groups of their own (学有所教: schools) get a layer and a legend entry.
    facility_labels = {**labels, **{k: texts.get(f"ru_group_{k}", zh) for k, zh in state.facility_groups.items()}}
    base = folium.FeatureGroup(name=texts["layer_base"], control=True, show=True)
    if dynamic is not None:
        dynamic.append({"group": base.get_name(), "layer": "areas", "styles": BASE_AREA_STYLE})
        dynamic.append({"group": base.get_name(), "layer": "roads", "styles": ROAD_STYLE})
    elif len(state.areas):
        for kind in ("green", "water", "building"):
            part = state.areas[state.areas["kind"] == kind]
            if len(part):
                style = BASE_AREA_STYLE[kind]
                folium.GeoJson(
                    _geojson(_merged(part[["kind", "geometry"]], ["kind"]), precision_deg=BASE_PRECISION_DEG),
                    style_function=lambda _f, style=style: style,
                    interactive=False,
                ).add_to(base)
    for cls in ("path", "street", "major") if dynamic is None else ():
        part = state.roads[state.roads["cls"] == cls]
        if len(part):
            style = ROAD_STYLE[cls]
            # Paths are drawn as one unnamed feature; streets keep one feature per name (tooltips).
            named = part[["name", "geometry"]] if cls != "path" else part[["geometry"]].assign(name="")
            merged = _merged(named, ["name"])
            folium.GeoJson(
                _geojson(merged, ("name",), precision_deg=BASE_PRECISION_DEG),
                style_function=lambda _f, style=style: style,
                tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False) if cls != "path" else None,
                interactive=cls != "path",
            ).add_to(base)
    base.add_to(fmap)
    for spec in basemaps:
        folium.TileLayer(
            tiles=spec["url"], attr=spec.get("attribution", ""), name=spec["name"], overlay=False, show=False
        ).add_to(fmap)
    if state.boundary_wgs84 is not None:
        folium.GeoJson(
            _geojson(gpd.GeoDataFrame({"name": [state.project.name]}, geometry=[state.boundary_wgs84], crs=4326)),
            name=texts["layer_boundary"],
            style_function=lambda _f: {"color": BOUNDARY_COLOUR, "weight": 3, "fill": False},
        ).add_to(fmap)
    for level, units in state.project.units.items():
        layer = units.to_crs(4326)[["code", "name", "geometry"]]
        folium.GeoJson(
            _geojson(layer, ("code", "name")),
            name=texts["layer_units"].replace("{level}", level),
            style_function=lambda _f: {"color": UNIT_COLOUR, "weight": 2, "dashArray": "6 4", "fillOpacity": 0.02},
            tooltip=folium.GeoJsonTooltip(fields=["code", "name"], aliases=[texts["unit_code"], texts["field_name"]]),
        ).add_to(fmap)
    if dynamic is None:
        _service_area_layers(fmap, state, function, texts, labels)
        _time_layer(fmap, state, function, texts, labels)
    else:
        _dynamic_layers(fmap, function, dynamic, texts, labels)
    if dynamic is None:
        _gap_layer(fmap, state, function, texts, labels)
    if dynamic is None:
        _facility_layers(fmap, state, function, texts, facility_labels)
    else:
        _dynamic_facilities(fmap, state, function, dynamic, texts, facility_labels)
    drawn = folium.FeatureGroup(name=texts["layer_drawings"], show=True)
    drawn.add_to(fmap)
    if lang == "zh":
        DrawTexts(DRAW_TEXTS_ZH).add_to(fmap)
    plugins.Draw(
        export=False,
        feature_group=drawn,
        draw_options={
            "polyline": False,
            "rectangle": False,
            "circle": False,
            "circlemarker": False,
            "polygon": {"allowIntersection": False, "showArea": True},
            "marker": True,
        },
        edit_options={"edit": True, "remove": True},
    ).add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    ControlTexts(texts, zoom=False).add_to(fmap)
    prof = state.acc.profile
    Legend(
        title_time=texts["legend_time"],
        time_items=[
            (TIME_COLOURS[0], "0-5"),
            (TIME_COLOURS[1], "5-10"),
            (TIME_COLOURS[2], "10-15"),
            (TIME_COLOURS[3], "> 15"),
            (UNREACHED_COLOUR, texts["legend_not_reached"]),
        ],
        title_rings=f"{texts['legend_rings']} ({labels[function]})",
        ring_items=[
            (RING_COLOURS[k], f"{lo:g}-{hi:g} {texts['minutes_unit']}")
            for k, (lo, hi) in enumerate(_bands(state.minutes))
        ],
        gap_colour=GAP_COLOUR,
        gap_label=texts["legend_gaps"],
        function_title=texts["function"],
        function_items=[(f, function_colour(f), label) for f, label in facility_labels.items()],
        note=f"{profile_label(prof, lang)} {prof.speed_kmh:g} km/h; © OpenStreetMap contributors",
    ).add_to(fmap)
    localize(fmap)
    return fmap


def _bands(minutes: tuple[float, ...]) -> list[tuple[float, float]]:
    edges = (0.0, *sorted(minutes))
    return list(itertools.pairwise(edges))


def _service_area_layers(
    fmap: folium.Map, state: AnalysisState, chosen: str, texts: dict[str, str], labels: dict[str, str]
) -> None:
    # Only the chosen function's rings are in the page (the function selector switches):
    # six functions' rings would multiply the page for layers a planner looks at one by one.
    areas = state.function_areas(chosen)
    if areas is None:
        return
    group = folium.FeatureGroup(name=texts["layer_rings"].replace("{function}", labels[chosen]), show=True)
    frame = areas[["min_from", "minutes", "area_m2", "geometry"]].copy()
    frame["area_km2"] = (frame["area_m2"] / 1e6).round(3)
    frame = frame.drop(columns="area_m2")
    # Largest band first so the inner rings draw on top.
    for k in np.argsort(-frame["minutes"].to_numpy()):
        row = frame.iloc[[k]]
        colour = RING_COLOURS[min(int(k), len(RING_COLOURS) - 1)]
        folium.GeoJson(
            _geojson(row),
            style_function=lambda _f, c=colour: {"color": c, "weight": 1, "fillColor": c, "fillOpacity": 0.35},
            tooltip=folium.GeoJsonTooltip(
                fields=["min_from", "minutes", "area_km2"],
                aliases=[texts["ring_from"], texts["ring_to"], texts["ring_area"]],
            ),
        ).add_to(group)
    group.add_to(fmap)


def _dynamic_layers(
    fmap: folium.Map, function: str, dynamic: list[dict], texts: dict[str, str], labels: dict[str, str]
) -> None:
    """Empty groups for the function's service areas, walking times and gaps, filled by window."""
    # The function, profile and budget switch in the page: the groups are named for what
    # they hold, the legend says which function.
    rings = folium.FeatureGroup(name=texts["layer_rings_chosen"], show=True)
    rings.add_to(fmap)
    dynamic.append({"group": rings.get_name(), "layer": "rings", "function": function, "colours": RING_COLOURS})
    times = folium.FeatureGroup(name=texts["layer_times_chosen"], show=True)
    times.add_to(fmap)
    dynamic.append(
        {
            "group": times.get_name(),
            "layer": "times",
            "function": function,
            "colours": list(TIME_COLOURS),
            "limits": list(TIME_CLASSES_MIN),
            "unreached": UNREACHED_COLOUR,
        }
    )
    gaps = folium.FeatureGroup(name=texts["layer_gaps_chosen"], show=True)
    gaps.add_to(fmap)
    dynamic.append({"group": gaps.get_name(), "layer": "gaps", "function": function, "colour": GAP_COLOUR})


def _dynamic_facilities(
    fmap: folium.Map,
    state: AnalysisState,
    chosen: str,
    dynamic: list[dict],
    texts: dict[str, str],
    labels: dict[str, str],
) -> None:
    """A group per function (the chosen one shown), filled by window."""
    functions = state.acc.facilities["function"].to_numpy()
    for function, label in labels.items():
        colour, icon = function_marker(function)
        count = int((functions == function).sum())
        name = texts["layer_facilities"].replace("{function}", label).replace("{n}", str(count))
        group = folium.FeatureGroup(name=name, show=function == chosen)
        group.add_to(fmap)
        dynamic.append(
            {
                "group": group.get_name(),
                "layer": "facilities",
                "function": function,
                "label": label,
                "marker": {"markerColor": colour, "icon": icon},
                "colour": function_colour(function),
                "own_group": function not in state.functions,  # h-rural: not switched with the scene
            }
        )


def _time_layer(
    fmap: folium.Map, state: AnalysisState, function: str, texts: dict[str, str], labels: dict[str, str]
) -> None:
    points = walking_time_points(state, function)
    points["colour"] = [time_colour(t) for t in points["time_min"].to_numpy(float)]
    points["facility"] = points["facility"].map(safe)
    points["time_text"] = [f"{t:.1f}" if np.isfinite(t) else "> 30" for t in points["time_min"].to_numpy(float)]
    radius = 4 + 8 * np.sqrt(points["residents"] / max(points["residents"].max(), 1.0))
    points["radius"] = radius.round(1)
    folium.GeoJson(
        _geojson(points.drop(columns=["time_min"])),
        name=texts["layer_times"].replace("{function}", labels[function]),
        marker=folium.CircleMarker(radius=6, weight=1, fill=True, fill_opacity=0.85),
        style_function=lambda f: {
            "fillColor": f["properties"]["colour"],
            "color": "#333333",
            "radius": f["properties"]["radius"],
        },
        tooltip=folium.GeoJsonTooltip(
            fields=["residents", "time_text", "facility"],
            aliases=[texts["tip_residents"], texts["tip_walk"], texts["tip_nearest"]],
        ),
    ).add_to(fmap)


def _gap_layer(
    fmap: folium.Map, state: AnalysisState, function: str, texts: dict[str, str], labels: dict[str, str]
) -> None:
    gaps = state.gaps.get(function)
    if gaps is None or gaps.empty:
        return
    frame = gaps[["rank", "uncovered", "population", "geometry"]].copy()
    frame["uncovered"] = frame["uncovered"].round(0)
    frame["population"] = frame["population"].round(0)
    folium.GeoJson(
        _geojson(frame),
        name=texts["layer_gaps"].replace("{function}", labels[function]),
        style_function=lambda f: {
            "color": GAP_COLOUR,
            "weight": 3 if f["properties"]["rank"] <= 3 else 1,
            "fillColor": GAP_COLOUR,
            "fillOpacity": 0.15,
        },
        tooltip=folium.GeoJsonTooltip(
            fields=["rank", "uncovered", "population"],
            aliases=[texts["gap_rank"], texts["gap_uncovered"], texts["tip_residents"]],
        ),
    ).add_to(fmap)


def _facility_layers(
    fmap: folium.Map, state: AnalysisState, chosen: str, texts: dict[str, str], labels: dict[str, str]
) -> None:
    fac = state.acc.facilities.to_crs(4326)
    lang = texts.get("lang", "zh")
    xy = shapely.get_coordinates(shapely.point_on_surface(fac.geometry.to_numpy()))
    for function, label in labels.items():
        colour, icon = function_marker(function)
        count = int((fac["function"] == function).sum())
        # The chosen function's facilities are shown; the others are one click away in the layer control.
        name = texts["layer_facilities"].replace("{function}", label).replace("{n}", str(count))
        group = folium.FeatureGroup(name=name, show=function == chosen)
        for k in np.flatnonzero(fac["function"].to_numpy() == function):
            row = fac.iloc[k]
            name = row.get("name") or texts["unnamed"]
            ftype = state.acc.standard.facility_types.get(row.get("type") or "")
            kind = ftype.name_en if lang == "en" and ftype else row.get("type_zh") or row.get("type") or ""
            source = row.get("source") or ""
            popup = (
                f"<b>{safe(name)}</b><br>{safe(label)} · {safe(kind)}<br>"
                f"<span class='linli-src'>{safe(texts['source'])}: {safe(source)}</span>"
            )
            folium.Marker(
                [xy[k, 1], xy[k, 0]],
                icon=folium.Icon(color=colour, icon=icon, prefix="fa"),
                popup=folium.Popup(popup, max_width=280),
                tooltip=safe(name),
            ).add_to(group)
        group.add_to(fmap)
