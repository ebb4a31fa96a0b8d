"""Login in a real headless Chromium (issue 19): the app as served beyond loopback
(``LOGIN_REQUIRED``), an administrator signing in through the page, seeing the map, signing out."""

from __future__ import annotations

import threading

import pytest
from waitress.server import create_server

from tests.test_browser import browser, wait_until  # noqa: F401
from webapp import create_app
from webapp.users import UserStore

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def login_server(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    UserStore(instance / "users.sqlite3").add("zhang", PASSWORD, "admin")
    app = create_app({"instance_path": instance, "LOGIN_REQUIRED": True})
    srv = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}", app
    srv.close()


@pytest.fixture()
def context(browser, login_server):  # noqa: F811
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    yield context
    context.close()


def test_login_through_the_page_shows_the_map_and_logout_ends_it(context, login_server):
    base, app = login_server
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/?function=medical", wait_until="load")
    assert page.url == base + "/login?next=/?function=medical"
    page.fill("input[name=name]", "zhang")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    wait_until(page, "!document.getElementById('linli-login-error').hidden")
    assert "用户名或密码错误" in page.inner_text("#linli-login-error")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/?function=medical")
    wait_until(page, "window.LINLI && window.LINLI.ready === true")
    wait_until(page, "!!document.getElementById('linli-logout')")
    assert "zhang" in page.inner_text("#linli-user")
    assert page.locator("#linli-map .folium-map").is_visible()
    page.click("#linli-logout")
    page.wait_for_url(base + "/login")
    page.goto(base + "/", wait_until="load")
    assert page.url.startswith(base + "/login")
    assert errors == []
    log = [(a["user_name"], a["action"]) for a in app.extensions["linli.users"].audit()]
    assert log[:3] == [("zhang", "logout"), ("zhang", "login"), ("zhang", "login.failed")]


def test_english_login_page_is_english(context, login_server):
    base, _ = login_server
    page = context.new_page()
    page.goto(base + "/login?lang=en", wait_until="load")
    text = page.inner_text("body")
    assert "Sign in" in text and "User name" in text
    assert not any("\u4e00" <= c <= "\u9fff" for c in text.replace("中文", ""))
