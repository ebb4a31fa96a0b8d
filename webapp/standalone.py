"""A standalone interactive map: one HTML file that works offline when emailed.

The Folium map of the app (:func:`webapp.mapview.build_map`, with online base maps
left out) is rendered to a full page, then every vendored script and stylesheet is
inlined, and every file a stylesheet refers to (Font Awesome fonts, Leaflet and
Leaflet.draw images) becomes a ``data:`` URI.  The result loads nothing from
anywhere: :func:`webapp.assets.assert_offline` is checked and no ``/static/`` link
is left.
"""

from __future__ import annotations

import base64
import html
import mimetypes
import re
from functools import cache
from pathlib import Path

from webapp.assets import VENDOR_DIR, assert_offline
from webapp.mapview import build_map

__all__ = ["inline_assets", "standalone_html"]

STATIC_DIR = VENDOR_DIR.parent
_SCRIPT = re.compile(r"""<script\b[^>]*\bsrc=["'](/static/[^"']+)["'][^>]*>\s*</script>""", re.IGNORECASE)
_LINK = re.compile(r"""<link\b[^>]*\bhref=["'](/static/[^"']+\.css)["'][^>]*/?>""", re.IGNORECASE)
_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")
#: A TrueType fallback beside a WOFF2 source in @font-face (every browser that runs Leaflet reads WOFF2).
_TTF_FALLBACK = re.compile(r""",\s*url\([^)]*\.ttf\)\s*format\(["']truetype["']\)""")
_MIME = {".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf", ".svg": "image/svg+xml"}
#: Rules of the web app's stylesheet that style the map legend (the rest is the page around the map).
_LEGEND_RULE = re.compile(r"^\.linli-legend[^{]*\{[^}]*\}\s*$", re.MULTILINE)


class StandaloneError(RuntimeError):
    """An inlined page still refers to a file (a programming error, not user input)."""


def _static_file(url: str) -> Path:
    path = (STATIC_DIR / url.removeprefix("/static/")).resolve()
    if STATIC_DIR.resolve() not in path.parents or not path.is_file():
        raise StandaloneError(f"not a vendored file: {url}")
    return path


def _data_uri(path: Path) -> str:
    mime = _MIME.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


@cache
def _inlined_css(path: Path) -> str:
    text = _TTF_FALLBACK.sub("", path.read_text(encoding="utf-8"))

    def replace(match: re.Match) -> str:
        target = match.group(2).strip()
        if target.startswith(("data:", "#")):
            return match.group(0)
        file = (path.parent / target.split("?")[0].split("#")[0]).resolve()
        if not file.is_file() or STATIC_DIR.resolve() not in file.parents:
            return "url(data:,)"  # not vendored: an empty image instead of a request
        return f'url("{_data_uri(file)}")'

    return _URL.sub(replace, text).replace("</style", "<\\/style")


@cache
def _inlined_js(path: Path) -> str:
    return path.read_text(encoding="utf-8").replace("</script", "<\\/script")


def inline_assets(page: str) -> str:
    """Replace every ``/static/...`` script and stylesheet link of ``page`` by its content."""
    page = _SCRIPT.sub(lambda m: f"<script>{_inlined_js(_static_file(m.group(1)))}</script>", page)
    page = _LINK.sub(lambda m: f"<style>{_inlined_css(_static_file(m.group(1)))}</style>", page)
    left = re.search(r"""(?:src|href)=["']/static/""", page)
    if left:
        raise StandaloneError(f"a link is left in the page: {page[left.start() : left.start() + 80]}")
    assert_offline(page)
    return page


@cache
def _legend_css() -> str:
    return "\n".join(_LEGEND_RULE.findall((STATIC_DIR / "app.css").read_text(encoding="utf-8")))


def standalone_html(state, *, function: str, texts: dict[str, str], title: str) -> str:
    """The app's map of ``function`` as one self-contained HTML page (UTF-8 text).

    Parameters
    ----------
    state
        :class:`webapp.state.AnalysisState`.
    function
        The function whose service areas, walking times and gaps are shown.
    texts
        The page language's texts (:func:`webapp.i18n.texts`).
    title
        The page title (escaped here).
    """
    fmap = build_map(state, function=function, texts=texts, basemaps=[])
    root = fmap.get_root()
    root.header.add_child(
        _raw(f"<title>{html.escape(title)}</title><style>{_legend_css()}</style>"), name="linli_title"
    )
    page = root.render()
    if "<meta charset" not in page.lower():
        page = page.replace("<head>", '<head><meta charset="utf-8">', 1)
    return inline_assets(page)


def _raw(markup: str):
    from branca.element import Element

    return Element(markup)
