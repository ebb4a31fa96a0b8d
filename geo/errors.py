"""The exceptions of the core.

One small hierarchy so that the web layer and the scripts can map every failure of
``geo`` to an HTTP status or an exit code in one place.  Messages are written for
planners: Chinese first, the English beside it, naming the argument, what was
expected, what arrived and how to fix it.  Subclassing the built-in exceptions keeps
``except ValueError`` working for callers that do not know this module.
"""

from __future__ import annotations

__all__ = [
    "CRSError",
    "DiskFullError",
    "EmptyNetworkError",
    "GeoError",
    "InputDataError",
    "NetworkUnavailableError",
]


class GeoError(Exception):
    """Base class of every error raised on purpose by ``geo``."""


class InputDataError(GeoError, ValueError):
    """A file, a table or an argument does not hold what the function needs."""


class CRSError(GeoError, ValueError):
    """A coordinate reference system is missing, unknown, or does not fit the data."""


class EmptyNetworkError(InputDataError):
    """No walkable street is left after reading, filtering or clipping the network."""


class NetworkUnavailableError(GeoError, OSError):
    """An optional online path (osmnx download) was asked for and the internet is not reachable."""


class DiskFullError(GeoError, OSError):
    """The disk filled up while a file was written: nothing was written, the old file is intact."""
