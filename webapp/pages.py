"""The pages: the planner's map (Folium) with the plan panel around it."""

from __future__ import annotations

import hashlib
import re

from flask import Blueprint, Response, abort, current_app, make_response, render_template, request

from geo import settings
from geo.workflows import BUNDLED_COUNTIES, BUNDLED_COUNTIES_EN
from webapp.assets import assert_offline
from webapp.auth import public, requires
from webapp.i18n import LANGUAGES, function_labels, profile_label, standard_label, texts
from webapp.mapview import build_map
from webapp.state import coverage_summary, get_state, weight_columns

bp = Blueprint("pages", __name__)

#: Inline ``<script>`` blocks (no ``src``) in Folium's output.
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
#: Scripts moved out of the page, by content hash: the Content-Security-Policy then
#: needs no inline-script exception (script-src 'self').
_SCRIPTS: dict[str, str] = {}


def _external(js: str) -> str:
    """A ``<script src>`` tag serving ``js`` from this app (content-addressed, cached forever)."""
    digest = hashlib.sha256(js.encode("utf-8")).hexdigest()[:20]
    _SCRIPTS[digest] = js
    return f'<script src="/map-script/{digest}.js"></script>'


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
    dynamic: list[dict] = []
    fmap = build_map(
        state, function=function, texts=texts(lang), basemaps=current_app.config["BASEMAPS"], dynamic=dynamic
    )
    root = fmap.get_root()
    root.render()
    header = _INLINE_SCRIPT.sub(lambda m: _external(m.group(1)), root.header.render())
    parts = {
        "map_header": header,
        "map_html": _INLINE_SCRIPT.sub(lambda m: _external(m.group(1)), root.html.render()),
        "map_script": _external(root.script.render()),
    }
    for part in parts.values():
        assert_offline(part)
        if _INLINE_SCRIPT.search(part):
            raise RuntimeError("inline script left in the map page")
    draw = next(c for c in fmap._children.values() if type(c).__name__ == "Draw")
    parts["map_name"] = fmap.get_name()
    parts["drawn_name"] = draw.feature_group.get_name()
    parts["dynamic"] = dynamic
    with state.lock:
        state.cache[key] = parts
    return parts


@bp.get("/favicon.ico")
@public
def favicon():
    """Browsers ask for it whatever the page says."""
    return current_app.send_static_file("favicon.svg")


@bp.get("/map-script/<digest>.js")
@requires("read")
def map_script(digest: str):
    """A script of a rendered map (immutable: its name is its content hash)."""
    js = _SCRIPTS.get(digest)
    if js is None:
        abort(404)
    response = Response(js, mimetype="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def warm(state, *, everything: bool = False, pause=lambda: None) -> None:
    """Render the default map (病有所医, Chinese) before the first planner asks for it;
    ``everything=True``: every function's map in Chinese too, calling ``pause()`` before each."""
    _map_parts(state, "medical", "zh")
    if everything:
        for function in state.functions:
            pause()
            _map_parts(state, function, "zh")


@bp.get("/")
@requires("read")
def index():
    """The map page (``?function=medical&lang=en``)."""
    state = get_state()
    lang = _language()
    t = texts(lang)
    function = request.args.get("function", "medical")
    if function not in state.functions:
        function = "medical"
    key = ("page", function, lang, tuple(str(b) for b in current_app.config["BASEMAPS"]))
    with state.lock:
        page = state.cache.get(key)
    if page is None:
        page = _render_page(state, function, lang, t)
        with state.lock:
            state.cache[key] = page
    response = make_response(page)
    if request.args.get("lang") in LANGUAGES:
        response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax")
    return response


def _render_page(state, function: str, lang: str, t: dict) -> str:
    """The whole page of (function, language): nothing in it depends on the planner or the
    request (the CSRF token is fetched by the page's script), so it is rendered once."""
    parts = _map_parts(state, function, lang)
    summary = coverage_summary(state)
    return render_template(
        "map.html",
        t=t,
        lang=lang,
        other_lang="en" if lang == "zh" else "zh",
        state=state,
        function=function,
        functions=function_labels(state.functions, lang),
        assumptions=state.assumptions(),
        profile_label=profile_label(state.acc.profile, lang),
        standard_label=standard_label(state.acc.standard, lang),
        counties=BUNDLED_COUNTIES_EN if lang == "en" else BUNDLED_COUNTIES,
        coverage=summary.to_dict(orient="records"),
        weights=weight_columns(state),
        budgets=settings.DEFAULT_BUDGETS_MIN,
        budget_limit_min=state.acc.functions.max_time_s / 60.0,
        profiles=list(settings.PROFILES.values()),
        job_poll_limit_s=settings.JOB_POLL_LIMIT_S,
        snap_max_m=settings.MAX_SNAP_DIST_M,
        **parts,
    )
