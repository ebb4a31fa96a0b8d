"""Linli's web app: Flask + Folium maps over ``geo/``, offline, for a county planning office.

``create_app(config)`` builds the app; ``python -m webapp`` serves it with waitress.
Thin by design: views parse and validate the request, make one ``geo`` call (through
:class:`webapp.state.AnalysisState`) and render.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from flask import Flask

from geo import settings
from geo.maps.style import use_print_fonts

__all__ = ["BASEMAP_PRESETS", "DEFAULT_CONFIG", "basemap", "create_app"]

#: Online base maps a planner may switch on (``python -m webapp --basemap osm``).  Both
#: are in WGS84-compatible Web Mercator (Tianditu: CGCS2000, within centimetres of
#: WGS84); Tianditu needs the office's own key.  GCJ-02 services (Amap, Tencent) are
#: not offered: their tiles are shifted 100-700 m against WGS84 data.
BASEMAP_PRESETS = {
    "osm": {
        "name": "OpenStreetMap (在线 online)",
        "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "attribution": "© OpenStreetMap contributors",
    },
    "tianditu": {
        "name": "天地图 Tianditu (在线 online)",
        "url": "https://t0.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec"
        "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}",
        "attribution": "© 天地图 Tianditu (国家地理信息公共服务平台)",
    },
}


def basemap(name: str, key: str | None = None) -> dict:
    """A preset online base map; Tianditu needs ``key`` (ValueError without it)."""
    if name not in BASEMAP_PRESETS:
        raise ValueError(f"未知底图 {name!r}，可选: {', '.join(BASEMAP_PRESETS)} (unknown base map)")
    spec = dict(BASEMAP_PRESETS[name])
    if "{key}" in spec["url"]:
        if not key:
            raise ValueError("天地图需要密钥: 设置 TIANDITU_KEY (Tianditu needs a key)")
        spec["url"] = spec["url"].replace("{key}", key)
    return spec


logger = logging.getLogger(__name__)

#: Defaults; ``create_app(config)`` overrides any of them.
DEFAULT_CONFIG = {
    # The project served: a bundled name (demo, huian) or a .toml file.
    "PROJECT": "demo",
    # Service-area budgets shown (minutes).
    "MINUTES": (5.0, 10.0, 15.0),
    # Request bodies above this are refused with 413 (docs/bad-inputs.md U1; Flask's default is unlimited).
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    # A new study area's files (an OSM extract of a county: tens of MB as .osm.pbf, hundreds as
    # .osm XML) may be larger; they are streamed to disk, never held in memory.
    "MAX_PROJECT_UPLOAD": 1024 * 1024 * 1024,
    # The plan store: SQLite (WAL) in the instance folder unless a path is given.
    "PLAN_DB": None,
    # h-acct2: PostgreSQL schema of this instance's tables (LINLI_PLAN_DB_SCHEMA), for several
    # instances in one database; None keeps them in the default schema (public).
    "PLAN_DB_SCHEMA": None,
    # Optional online base maps, e.g. [{"name": "OpenStreetMap", "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    # "attribution": "© OpenStreetMap contributors"}] or Tianditu with a key.  Off by default: the map is
    # complete offline.  GCJ-02 tile services (Amap) do not line up with WGS84 data and are refused.
    "BASEMAPS": [],
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # Host names the app answers besides loopback and the bind address (webapp.limits): a list or
    # "a,b"; LINLI_ALLOWED_HOSTS sets it.  BIND_HOST is set by ``python -m webapp --host``.
    "ALLOWED_HOSTS": [],
    "BIND_HOST": None,
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are believed
    # (LINLI_TRUSTED_PROXIES=N, webapp.proxy); 0: those headers are ignored.
    "TRUSTED_PROXIES": 0,
    # Connections one client address may hold open (webapp.limits); 0: no cap (an office whose
    # planners reach the server through one NAT address).  LINLI_MAX_CONNECTIONS_PER_ADDRESS sets it.
    "MAX_CONNECTIONS_PER_ADDRESS": 32,
    # Load the project when the app is created (False: on the first request).
    "EAGER_LOAD": True,
    # The Linli cache folder (built networks under networks/); None: the user's cache
    # folder (geo.settings.default_cache_dir).  LINLI_CACHE_DIR sets it.
    "CACHE_DIR": None,
    # Login: None = only once users exist (single-user mode on loopback), True = always
    # (serving beyond loopback), False = never.  Sessions end after SESSION_HOURS.
    "LOGIN_REQUIRED": None,
    "SESSION_HOURS": 10.0,
}


def _secret_key(instance: Path) -> str:
    """The instance's secret key: generated once, kept in the instance folder (mode 0600)."""
    path = instance / "secret_key"
    if path.is_file():
        key = path.read_text(encoding="utf-8").strip()
        if len(key) >= 32:
            return key
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key)
    return key


def create_app(config: dict | None = None) -> Flask:
    """Build the app (PDF exports embed whole TrueType fonts: :func:`geo.maps.style.use_print_fonts`).

    Parameters
    ----------
    config
        Overrides of :data:`DEFAULT_CONFIG` and Flask settings (``SECRET_KEY``,
        ``TESTING``, ``PLAN_DB`` ...).  ``instance_path`` may be given to place the
        instance folder (plan store, secret key).  Between the defaults and these,
        every ``LINLI_<NAME>`` environment variable sets ``<NAME>`` (Flask's
        ``from_prefixed_env``), e.g. ``LINLI_SECRET_KEY``, ``LINLI_PLAN_DB``.
    """
    config = dict(config or {})
    instance_path = config.pop("instance_path", None)
    use_print_fonts()
    app = Flask(__name__, instance_path=str(instance_path) if instance_path else None, instance_relative_config=True)
    app.config.update(DEFAULT_CONFIG)
    # LINLI_SECRET_KEY, LINLI_PLAN_DB, LINLI_PROJECT, LINLI_CACHE_DIR ... (values parsed as
    # JSON where they can be: LINLI_EAGER_LOAD=false); the caller's config wins.
    app.config.from_prefixed_env("LINLI")
    app.config.update(config)
    app.config["CACHE_DIR"] = Path(str(app.config["CACHE_DIR"] or settings.default_cache_dir()))
    instance = Path(app.instance_path)
    try:
        instance.mkdir(parents=True, exist_ok=True)
        if not app.config.get("SECRET_KEY"):
            app.config["SECRET_KEY"] = _secret_key(instance)
    except OSError as exc:
        from webapp.plans import StoreUnavailableError

        # The operator's own folder, named so that it can be fixed; no traceback (exit code 2).
        raise StoreUnavailableError(
            f"无法创建或写入实例文件夹 {instance}（{exc.strerror or type(exc).__name__}）；"
            "请用 --instance 指定一个可写的文件夹 "
            f"(cannot create or write the instance folder: {exc.strerror or type(exc).__name__}; "
            "give a writable folder with --instance)"
        ) from exc
    for spec in app.config["BASEMAPS"]:
        if "amap" in spec.get("url", "") or "autonavi" in spec.get("url", ""):
            raise ValueError("高德 (Amap) 瓦片为 GCJ-02 坐标，与 WGS84 数据不重合，未提供 (GCJ-02 tiles are refused)")

    from webapp import api, auth, compress, errors, exports, limits, pages, security, traffic
    from webapp.plans import open_store

    app.extensions["linli.store"] = open_store(
        app.config["PLAN_DB"] or instance / "plans.sqlite3", schema=app.config.get("PLAN_DB_SCHEMA")
    )
    from webapp.jobs import JobQueue

    def _placement(params: dict, progress) -> dict:
        from webapp.state import get_state, run_placement

        with app.app_context():
            return run_placement(get_state(), params, progress)

    def _project(params: dict, progress) -> dict:
        from webapp.state import open_project

        return open_project(app, Path(params["path"]), progress=progress)

    app.extensions["linli.jobs"] = JobQueue(instance / "jobs.sqlite3", {"placement": _placement, "project": _project})
    from webapp.proxy import trust_proxies  # h-acct: LINLI_TRUSTED_PROXIES=N (off by default)

    trust_proxies(app)
    requests = traffic.init_app(app)
    limits.init_app(app)  # the Host check and admission come before the CSRF check
    auth.init_app(app)  # before the CSRF check: an anonymous request is told to log in
    security.init_app(app)
    compress.init_app(app)
    errors.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp, url_prefix="/api")
    app.register_blueprint(exports.bp, url_prefix="/api/export")
    app.register_blueprint(__import__("webapp.grids").grids.bp, url_prefix="/api")  # grids on the map
    app.register_blueprint(__import__("webapp.micro").micro.bp, url_prefix="/api")  # h-micro: micro-grids
    app.register_blueprint(__import__("webapp.programme").programme.bp, url_prefix="/api")  # h-prog: the programme
    app.register_blueprint(__import__("webapp.forget").forget.bp)  # h-acct: a person's records removed on request
    app.register_blueprint(__import__("webapp.orgweb").orgweb.bp, url_prefix="/api")  # h-orgweb: organisation tree
    app.register_blueprint(__import__("webapp.rosterweb").rosterweb.bp, url_prefix="/api")  # h-roster: rosters
    app.register_blueprint(__import__("webapp.lifecircle").lifecircle.bp, url_prefix="/api")  # h-rural: the check
    app.register_blueprint(__import__("webapp.gridimport").gridimport.bp, url_prefix="/api")  # h-gridimp: imports
    __import__("webapp.linkweb").linkweb.init_app(app)  # h-linkweb: "1+10" linkage job and party coverage
    if app.config["EAGER_LOAD"]:
        from geo import memory
        from webapp.pages import warm
        from webapp.state import BASE_LAYERS, get_state

        if not app.testing:
            memory.limit_arenas()  # before any thread: each would get a heap of its own
        with app.app_context():
            state = get_state()
            # The page opens on 病有所医: its service areas are ready before the first planner
            # comes (a new county's first start computes and caches them, later starts read them).
            state.function_areas("medical")
            warm(state)
        memory.release()  # a first start's street cells were built here
        # The other functions' maps render in the background: the first planner to
        # switch function does not wait for it.
        import threading

        def _warm_rest() -> None:
            with app.app_context():
                state = get_state()
                # The whole study area's first window, at the zooms the page opens on.  Nothing
                # heavier runs behind the planner's back: another function's service areas are
                # made (or read from the cache) when it is chosen, the street cells when the
                # first candidate is drawn; a server stays small until it is used.
                # Each step waits for a quiet moment: a planner's requests go first.
                for zoom in (10, 11, 12, 13):
                    for layer in ("rings", "roads", "areas", "facilities"):
                        requests.wait_quiet()
                        state.view(layer, "medical", state.extent_wgs84, zoom)
                # The streets, paths and buildings drawn from zoom 14 and 15, built for the
                # first zoom in (asked for in a small window at the centre: built whole, sent little).
                w, s, e, n = state.extent_wgs84
                x, y = (w + e) / 2, (s + n) / 2
                for zoom in (14, 15):
                    for layer in BASE_LAYERS:
                        requests.wait_quiet()
                        state.view(layer, "medical", (x - 1e-3, y - 1e-3, x + 1e-3, y + 1e-3), zoom)
                warm(state, everything=True, pause=requests.wait_quiet)
            # The warm-up's temporary arrays are freed; give their pages back.
            memory.release()

        if not app.testing:
            threading.Thread(target=_warm_rest, name="linli-warm", daemon=True).start()
    return app
