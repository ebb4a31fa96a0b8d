"""Where the accounts are kept: beside the plans (SQLite in the instance folder, or PostgreSQL).

The one choice, for the app (:func:`webapp.auth.init_app`) and ``linli users`` alike.
"""

from __future__ import annotations

import os
from pathlib import Path

from webapp.users import BaseUserStore, UserStore

__all__ = ["open_user_store"]


def open_user_store(
    plan_db: object,
    instance: str | os.PathLike,
    *,
    users_db: object = None,
    plan_store: object = None,
    schema: str | None = None,
) -> BaseUserStore:
    """Where the accounts are: beside the plans.

    ``users_db`` (a SQLite path) wins; a ``postgresql://`` plan store keeps them in the same
    database (the instance folder's ``users.sqlite3``, if any, is copied over the first time);
    otherwise ``users.sqlite3`` in ``instance``.  ``plan_store``: the open PostGIS plan store,
    whose connection pool the accounts then share.  ``schema``: the instance's PostgreSQL schema
    (``PLAN_DB_SCHEMA``), where the accounts' tables sit beside the plans'.
    """
    local = Path(instance) / "users.sqlite3"
    if users_db:
        return UserStore(Path(str(users_db)))
    if isinstance(plan_db, str) and plan_db.lower().startswith(("postgresql://", "postgres://")):
        from webapp.users_pg import PostgresUserStore  # psycopg only where PostgreSQL is used

        pool = getattr(plan_store, "_pool", None)
        return PostgresUserStore(plan_db, pool=pool, import_from=local, schema=schema)
    return UserStore(local)
