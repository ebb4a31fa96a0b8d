"""Every map resource from the app itself: Folium's CDN links rewritten to vendored files.

``webapp/static/vendor/manifest.json`` (written by ``scripts/vendor_assets.py``) maps
Folium's resource names (``leaflet``, ``bootstrap_css``, ``leaflet_draw_js`` ...) to
files under ``/static/vendor``.  :func:`localize` rewrites a map and its plugins
before rendering and raises if any resource would still come from another host, so a
page can never make a request that leaves the machine.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

VENDOR_DIR = Path(__file__).resolve().parent / "static" / "vendor"
_REMOTE = re.compile(r"""<(?:script|link|img)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


class RemoteResourceError(RuntimeError):
    """A map would load a resource from another host (a programming error, not user input)."""


@cache
def manifest() -> dict:
    """The vendored resources: Folium name -> path under the vendor folder."""
    return json.loads((VENDOR_DIR / "manifest.json").read_text(encoding="utf-8"))


def _children(element):
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _children(child)


def localize(map_element, static_url: str = "/static/vendor/") -> None:
    """Point every JS/CSS resource of ``map_element`` (and its children) at vendored files."""
    info = manifest()
    resources, dropped = info["resources"], set(info["dropped"])
    for element in _children(map_element):
        for attr in ("default_js", "default_css"):
            links = getattr(element, attr, None)
            if not links:
                continue
            local = []
            for name, url in links:
                if name in dropped:
                    continue
                if name not in resources:
                    raise RemoteResourceError(f"resource {name} ({url}) is not vendored: run scripts/vendor_assets.py")
                local.append((name, static_url + resources[name]))
            setattr(element, attr, local)


def assert_offline(html: str) -> None:
    """Raise when rendered HTML still loads a script, stylesheet or image from another host."""
    match = _REMOTE.search(html)
    if match:
        raise RemoteResourceError(f"remote resource in the page: {match.group(0)[:120]}")
