"""Responses gzip-compressed for browsers that accept it: the map page's layers and scripts are text.

A window of a county's service areas is about a megabyte of GeoJSON and a fifth of that
compressed; the vendored Leaflet scripts and styles shrink as much.  Only text types above
:data:`MIN_BYTES` are compressed, once per response; files Flask streams from disk are read
for it (they are small: the page's own and vendored scripts).
"""

from __future__ import annotations

import gzip

from flask import Flask, Response, request

__all__ = ["MIN_BYTES", "init_app"]

#: Smaller bodies are sent as they are (the header costs more than it saves).
MIN_BYTES = 1024
#: Largest body compressed (bigger downloads are files planners save, sent as they are).
MAX_BYTES = 64 * 1024 * 1024
COMPRESSIBLE = (
    "text/",
    "application/json",
    "application/geo+json",
    "application/javascript",
    "image/svg+xml",
)
LEVEL = 5


def _compress(response: Response) -> Response:
    if (
        "gzip" not in request.headers.get("Accept-Encoding", "").lower()
        or response.status_code < 200
        or response.status_code >= 300
        or "Content-Encoding" in response.headers
        or not (response.mimetype or "").startswith(COMPRESSIBLE)
    ):
        return response
    if response.is_streamed and not response.direct_passthrough:
        return response
    response.direct_passthrough = False
    body = response.get_data()
    if not MIN_BYTES <= len(body) <= MAX_BYTES:
        return response
    response.set_data(gzip.compress(body, compresslevel=LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Content-Length"] = str(len(response.get_data()))
    response.vary.add("Accept-Encoding")
    if response.headers.get("ETag"):  # a compressed body is another representation
        response.headers["ETag"] = response.headers["ETag"].rstrip('"') + '-gz"'
    return response


def init_app(app: Flask) -> None:
    """Compress every eligible response of ``app``."""
    app.after_request(_compress)
