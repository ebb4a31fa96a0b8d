"""CSRF protection for every state-changing request, and security headers on every response.

The token lives in the signed session cookie and must come back in the
``X-CSRF-Token`` header (the page's JavaScript reads it from a ``<meta>`` tag); a
cross-site form cannot set that header (docs/bad-inputs.md G11).  The Content-Security-Policy
allows resources from this server only, so a page cannot reach the internet even by
mistake (docs/bad-inputs.md F5); configured online base maps add their tile hosts to ``img-src``.  No
inline script is allowed: the rendered map's scripts are served as files
(``/map-script/<hash>.js``); only inline styles remain allowed (Folium's markup uses
them).
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, request, session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HEADER = "X-CSRF-Token"


def csrf_token() -> str:
    """This session's CSRF token (created on first use)."""
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def _check_csrf() -> None:
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(HEADER, "")
    expected = session.get("csrf", "")
    if not expected or not sent or not hmac.compare_digest(sent, expected):
        abort(403, description="缺少或无效的 CSRF 令牌，请刷新页面 (missing or invalid CSRF token; reload the page)")


def _tile_hosts() -> str:
    hosts = []
    for spec in current_app.config.get("BASEMAPS", []):
        parts = urlsplit(spec["url"].replace("{s}", "a"))
        if parts.scheme in ("http", "https") and parts.hostname:
            host = parts.hostname if "{s}" not in spec["url"] else "*." + parts.hostname.split(".", 1)[1]
            hosts.append(f"{parts.scheme}://{host}")
    return " ".join(hosts)


def _headers(response):
    tiles = _tile_hosts()
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data: blob: {tiles}".rstrip()
        + "; font-src 'self' data:; connect-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'self'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    return response


def init_app(app: Flask) -> None:
    """Register the CSRF check and the headers."""
    app.before_request(_check_csrf)
    app.after_request(_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
