"""Behind a reverse proxy (issue 19): ``LINLI_TRUSTED_PROXIES=N`` makes the per-address caps and the
audit log see the client's address from ``X-Forwarded-For``; off by default, where a client's own
``X-Forwarded-For`` changes nothing (docs/bad-inputs.md G14, C7)."""

from __future__ import annotations

import pytest
from flask import request

from geo.errors import InputDataError
from tests.test_auth import PASSWORD, make_app
from webapp import create_app
from webapp.proxy import trusted_proxies

PROXY = "10.0.0.2"


def attempt(client, name, password, forwarded_for=None):
    headers = {"X-CSRF-Token": client.get("/api/csrf", environ_base={"REMOTE_ADDR": PROXY}).get_json()["token"]}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    return client.post(
        "/api/login", json={"name": name, "password": password}, headers=headers, environ_base={"REMOTE_ADDR": PROXY}
    )


def test_a_spoofed_forwarded_for_changes_nothing_by_default(tmp_path):
    app, _ = make_app(tmp_path, [(f"u{k}", "viewer", "") for k in range(7)])
    assert app.config["TRUSTED_PROXIES"] == 0
    client = app.test_client()
    # Five failures from one address, each claiming another: the address is throttled all the same.
    for k in range(5):
        assert attempt(client, f"u{k}", "wrong password!", forwarded_for=f"198.51.100.{k}").status_code == 401
    throttled = attempt(client, "u6", PASSWORD, forwarded_for="203.0.113.9")
    assert throttled.status_code == 429
    ips = {a["ip"] for a in app.extensions["linli.users"].audit()}
    assert ips == {PROXY}  # the audit log keeps the real peer, never the claimed one


def test_trusted_proxies_give_the_client_address(tmp_path):
    app, _ = make_app(tmp_path, [(f"u{k}", "viewer", "") for k in range(7)], TRUSTED_PROXIES=1)
    client = app.test_client()
    for k in range(5):
        assert attempt(client, f"u{k}", "wrong password!", forwarded_for=f"198.51.100.{k}").status_code == 401
    # Five planners behind one proxy: one's mistakes do not lock the others out.
    assert attempt(client, "u6", PASSWORD, forwarded_for="198.51.100.77").status_code == 200
    audit = app.extensions["linli.users"].audit()
    assert {a["ip"] for a in audit} == {f"198.51.100.{k}" for k in (0, 1, 2, 3, 4, 77)}
    # With one trusted proxy only the last X-Forwarded-For value counts: a client's own prefix is ignored.
    attempt(client, "u5", "wrong password!", forwarded_for="6.6.6.6, 198.51.100.50")
    assert app.extensions["linli.users"].audit(limit=1)[0]["ip"] == "198.51.100.50"


def test_a_spoofed_forwarded_for_does_not_escape_the_job_cap_by_default(tmp_path):
    from webapp.limits import job_owner

    app = create_app({"TESTING": True, "EAGER_LOAD": False, "instance_path": tmp_path / "i"})
    client, seen = app.test_client(), []
    for forwarded in ("198.51.100.1", "198.51.100.2"):
        with client:
            client.get("/api/me", headers={"X-Forwarded-For": forwarded}, environ_base={"REMOTE_ADDR": PROXY})
            seen.append((request.remote_addr, job_owner().split("|")[0]))
    assert seen[0] == seen[1] and seen[0][0] == PROXY  # one address, one job cap


def test_the_job_owner_follows_the_forwarded_address(tmp_path):
    from webapp.limits import job_owner

    app = create_app({"TESTING": True, "EAGER_LOAD": False, "instance_path": tmp_path / "i", "TRUSTED_PROXIES": 2})
    owners = []
    client = app.test_client()
    for forwarded in ("198.51.100.1, 10.0.0.3", "198.51.100.2, 10.0.0.3"):  # the client, then the inner proxy
        with client:
            client.get("/api/me", headers={"X-Forwarded-For": forwarded}, environ_base={"REMOTE_ADDR": PROXY})
            owners.append((request.remote_addr, job_owner().split("|")[0]))
    assert [o[0] for o in owners] == ["198.51.100.1", "198.51.100.2"]
    assert owners[0][1] != owners[1][1]  # two planners, two addresses for the job caps


@pytest.mark.parametrize("value", ["-1", "abc", "6", "1.5", "١", True])
def test_bad_trusted_proxies_refused(tmp_path, value):
    with pytest.raises(InputDataError, match="LINLI_TRUSTED_PROXIES"):
        create_app({"TESTING": True, "EAGER_LOAD": False, "instance_path": tmp_path / "i", "TRUSTED_PROXIES": value})


def test_trusted_proxies_from_the_environment_and_the_serve_command(tmp_path, monkeypatch, capsys):
    assert trusted_proxies(None) == trusted_proxies("") == 0 and trusted_proxies("2") == trusted_proxies(2) == 2
    monkeypatch.setenv("LINLI_TRUSTED_PROXIES", "1")
    app = create_app({"TESTING": True, "EAGER_LOAD": False, "instance_path": tmp_path / "i"})
    assert app.config["TRUSTED_PROXIES"] == 1
    monkeypatch.setenv("LINLI_TRUSTED_PROXIES", "x")
    from webapp.__main__ import main

    assert main(["--instance", str(tmp_path / "j"), "--port", "8765"]) == 2
    assert "LINLI_TRUSTED_PROXIES" in capsys.readouterr().err
