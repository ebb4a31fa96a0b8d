"""The environment of the faces: the ``LINLI_*`` variables a script or the command reads.

``geo/`` never reads the environment; a face calls :func:`cache_dir` and passes the
folder into ``geo`` (``load_project(..., cache_dir=cache_dir())``).  The web app reads
the same variables through Flask's ``app.config.from_prefixed_env("LINLI")``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from geo import settings

__all__ = ["CACHE_DIR_VARIABLE", "cache_dir", "cache_root"]

#: Where built networks and downloads are cached; the user's cache folder by default.
CACHE_DIR_VARIABLE = "LINLI_CACHE_DIR"


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """The Linli cache folder: ``LINLI_CACHE_DIR`` if set, else the user's cache folder."""
    value = (os.environ if environ is None else environ).get(CACHE_DIR_VARIABLE, "").strip()
    return Path(value).expanduser() if value else settings.default_cache_dir()


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The folder of cached networks that ``geo``'s loaders take as ``cache_dir``."""
    return settings.network_cache_dir(cache_root(environ))
