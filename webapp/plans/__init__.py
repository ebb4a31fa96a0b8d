"""Saved plans (named scenarios: drawn areas, candidate sites, notes) in a real database.

:class:`~webapp.plans.base.PlanStore` writes every operation once; the backends are the
dialects: SQLite in WAL mode in the app's instance folder (the default: one office
machine, many browser tabs) and PostgreSQL + PostGIS for a multi-user office (the
``postgis`` extra).  The app builds its store only through :func:`open_store`.
"""

from __future__ import annotations

import os

from webapp.plans.base import (
    FEATURE_KINDS,
    LOCAL_AUTHOR,
    Feature,
    NotDeletedError,
    NotFoundError,
    PlanStore,
    StaleVersionError,
    StoreFullError,
    StoreUnavailableError,
)
from webapp.plans.sqlite import SqlitePlanStore

__all__ = [
    "FEATURE_KINDS",
    "LOCAL_AUTHOR",
    "Feature",
    "NotDeletedError",
    "NotFoundError",
    "PlanStore",
    "SqlitePlanStore",
    "StaleVersionError",
    "StoreFullError",
    "StoreUnavailableError",
    "open_store",
]

#: URL schemes that select the PostgreSQL + PostGIS backend.
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_store(location: str | os.PathLike, *, schema: str | None = None) -> PlanStore:
    """The plan store at ``location``: a ``postgresql://`` URL (PostGIS) or a SQLite file path.

    Parameters
    ----------
    location
        ``postgresql://user@host:5432/linli`` (libpq URL; a password is better kept in
        ``~/.pgpass`` or ``PGPASSWORD`` than in the URL) or the path of the SQLite file.
    schema
        PostgreSQL only (``PLAN_DB_SCHEMA``): the schema holding this instance's tables, so that
        several instances share one database; created at the first start.  Ignored for SQLite.

    Raises
    ------
    StoreUnavailableError
        The database cannot be opened or written, or was written by a newer Linli.
    """
    text = os.fspath(location)
    if isinstance(text, str) and text.lower().startswith(POSTGRES_SCHEMES):
        from webapp.plans.postgis import PostgisPlanStore  # psycopg only where PostGIS is used

        return PostgisPlanStore(text, schema=schema)
    return SqlitePlanStore(text)
