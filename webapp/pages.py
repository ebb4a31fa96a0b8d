"""The pages: the planner's map (Folium) with the plan panel around it."""

from __future__ import annotations

from flask import Blueprint, current_app, make_response, render_template, request

from geo.standards import FUNCTIONS
from webapp.assets import assert_offline
from webapp.i18n import LANGUAGES, texts
from webapp.mapview import build_map
from webapp.state import coverage_summary, get_state

bp = Blueprint("pages", __name__)


def _language() -> str:
    lang = request.args.get("lang") or request.cookies.get("lang") or "zh"
    return lang if lang in LANGUAGES else "zh"


def _map_parts(state, function: str, lang: str) -> dict:
    """The rendered Folium map of (function, language), built once per process: the analysis is fixed."""
    key = ("map", function, lang, tuple(str(b) for b in current_app.config["BASEMAPS"]))
    with state.lock:
        cached = state.cache.get(key)
    if cached is not None:
        return cached
    fmap = build_map(state, function=function, texts=texts(lang), basemaps=current_app.config["BASEMAPS"])
    root = fmap.get_root()
    root.render()
    parts = {
        "map_header": root.header.render(),
        "map_html": root.html.render(),
        "map_script": root.script.render(),
    }
    for part in parts.values():
        assert_offline(part)
    draw = next(c for c in fmap._children.values() if type(c).__name__ == "Draw")
    parts["map_name"] = fmap.get_name()
    parts["drawn_name"] = draw.feature_group.get_name()
    with state.lock:
        state.cache[key] = parts
    return parts


def warm(state) -> None:
    """Render the default map (病有所医, Chinese) before the first planner asks for it."""
    _map_parts(state, "medical", "zh")


@bp.get("/")
def index():
    """The map page (``?function=medical&lang=en``)."""
    state = get_state()
    lang = _language()
    t = texts(lang)
    function = request.args.get("function", "medical")
    if function not in FUNCTIONS:
        function = "medical"
    parts = _map_parts(state, function, lang)
    summary = coverage_summary(state)
    page = render_template(
        "map.html",
        t=t,
        lang=lang,
        other_lang="en" if lang == "zh" else "zh",
        state=state,
        function=function,
        functions=dict(FUNCTIONS),
        assumptions=state.assumptions(),
        coverage=summary.to_dict(orient="records"),
        **parts,
    )
    response = make_response(page)
    if request.args.get("lang") in LANGUAGES:
        response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax")
    return response
