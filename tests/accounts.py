"""An app with accounts signed in to (the web tests of grids, rosters, imports and the org tree).

:func:`app_with_accounts` makes an app that requires login, with an administrator ``root``, a
viewer ``kan``, a planner ``town`` of the demo's town and (where asked) a planner ``other`` of
another town; :func:`client_of` signs one of them in, with the session's CSRF token.
"""

from __future__ import annotations

from pathlib import Path

from webapp import create_app
from webapp.users import UserStore

PASSWORD = "correct horse battery"
#: The demo's town code (its communities' prefix) and another county's town.
DEMO_TOWN, OTHER_TOWN = "000000000", "350582001"
ACCOUNTS = (("root", "admin", ""), ("kan", "viewer", ""), ("town", "planner", DEMO_TOWN))


def app_with_accounts(instance: Path, *, other: bool = False):
    """The demo app requiring login, with :data:`ACCOUNTS` (and ``other``, a planner elsewhere)."""
    store = UserStore(instance / "users.sqlite3")
    for name, role, scope in ACCOUNTS + ((("other", "planner", OTHER_TOWN),) if other else ()):
        store.add(name, PASSWORD, role, scope)
    return create_app({"TESTING": True, "EAGER_LOAD": False, "instance_path": instance, "LOGIN_REQUIRED": True})


def client_of(app, name: str):
    """A test client signed in as ``name``, sending the session's CSRF token."""
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    assert client.post("/api/login", json={"name": name, "password": PASSWORD}).status_code == 200
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    return client
