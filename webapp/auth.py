"""Who may do what: login, sessions, one explicit permission rule per route, the audit log.

Every view carries a rule: :func:`public` (login, static files, the CSRF token) or
``@requires(permission)``; a request to a view without a rule is refused (fail closed), and
``tests/test_routes_permissions.py`` fails on any route without one.  Permissions by role:

* ``admin`` (county administrator): everything, users and the audit log;
* ``planner``: reads everything, creates plans (recorded in the planner's area), edits,
  deletes and restores the plans of their area, runs placement jobs;
* ``viewer``: reads.

Single-user mode: on loopback with no users configured (``LOGIN_REQUIRED`` None and the
user store empty) nobody logs in and the one implicit user is an administrator.  Served
beyond loopback ``LOGIN_REQUIRED`` is True.  Sessions are Flask's signed cookie holding the
user id, the login time (sessions expire after ``SESSION_HOURS``) and the user's session
epoch (raised by "logout everywhere", a password reset or a role change).
"""

from __future__ import annotations

import functools
import io
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    session,
)

from geo.errors import InputDataError
from geo.io.drawn import parse_json
from geo.io.export import write_table
from webapp.accounts import open_user_store
from webapp.i18n import LANGUAGES, texts
from webapp.users import BaseUserStore, LoginThrottledError, UnknownUserError, in_scope

__all__ = [
    "PERMISSIONS",
    "bp",
    "check_job",
    "current_user",
    "init_app",
    "job_user",
    "plan_author",
    "public",
    "requires",
    "rule_of",
]

#: What each role may do (``edit_plan`` is further limited to a planner's area).
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"read", "create_plan", "edit_plan", "run_jobs", "admin"}),
    "planner": frozenset({"read", "create_plan", "edit_plan", "run_jobs"}),
    "viewer": frozenset({"read"}),
}
PUBLIC = "public"
#: Flask's own endpoints and their rules.
BUILTIN_RULES = {"static": PUBLIC}
#: The implicit user of single-user mode (loopback, no users configured).
LOCAL_USER = {"id": 0, "name": "local", "role": "admin", "scope": "", "session_epoch": 0}

bp = Blueprint("auth", __name__)


def public(view: Callable) -> Callable:
    """Mark a view as open to anyone (login page, static files, health)."""
    view.linli_rule = PUBLIC  # type: ignore[attr-defined]
    return view


def requires(permission: str, *, audit: str | None = None) -> Callable[[Callable], Callable]:
    """Mark a view as needing ``permission``; ``audit``: record a successful call under that action.

    ``edit_plan`` views take ``plan_id``: a planner may edit only a plan of their area (403).
    ``create_plan`` views answer with the new plan: it is recorded in the creator's area.
    """
    if not any(permission in granted for granted in PERMISSIONS.values()):
        raise ValueError(f"unknown permission {permission!r}")

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if permission == "edit_plan" and "plan_id" in kwargs:
                _check_plan_area(user, kwargs["plan_id"])
            response = make_response(view(*args, **kwargs))
            if response.status_code < 400:
                if permission == "create_plan":
                    plan_id = (response.get_json(silent=True) or {}).get("id")
                    if isinstance(plan_id, int):
                        users().set_plan_area(plan_id, user["scope"])
                        kwargs = {"plan_id": plan_id}
                if audit:
                    obj = ",".join(f"{k}={v}" for k, v in kwargs.items())
                    if not obj:
                        body = response.get_json(silent=True) if response.is_json else None
                        obj = f"id={body['id']}" if isinstance(body, dict) and "id" in body else ""
                    record(audit, obj)
            return response

        wrapper.linli_rule = permission  # type: ignore[attr-defined]
        return wrapper

    return decorate


def rule_of(app: Flask, endpoint: str) -> str | None:
    """The permission rule of an endpoint (None: it has none, and is refused)."""
    if endpoint in BUILTIN_RULES:
        return BUILTIN_RULES[endpoint]
    view = app.view_functions.get(endpoint)
    return getattr(view, "linli_rule", None)


def users() -> BaseUserStore:
    """The app's user store."""
    return current_app.extensions["linli.users"]


def login_required() -> bool:
    """Login is needed: forced by configuration, or users exist (single-user mode otherwise)."""
    forced = current_app.config.get("LOGIN_REQUIRED")
    return bool(forced) if forced is not None else users().has_users()


def current_user() -> dict:
    """The user of this request (the implicit administrator in single-user mode)."""
    return g.linli_user


def show_personal() -> bool:
    """``?personal=1``: names in clear, for an administrator only (a 403 for any other role; a
    value other than 0 or 1 is a 422).  Every view of people (rosters, the org tree, linkage) asks here."""
    asked = request.args.get("personal", "0")
    if asked not in ("0", "1"):
        raise InputDataError(f"参数 personal={asked!r} 无效，可选: 0, 1 (invalid personal)")
    if asked == "1" and current_user()["role"] != "admin":
        abort(403, description="只有管理员可以查看个人信息 (only an administrator may see personal data)")
    return asked == "1"


def _client_ip() -> str:
    return request.remote_addr or ""


def record(action: str, obj: str = "", detail: str = "", user: str | None = None) -> None:
    """One audit entry by the current user."""
    name = user if user is not None else (g.get("linli_user") or {}).get("name", "")
    users().record(name, action, obj, detail, _client_ip())


def check_job(job_id: int) -> None:
    """The asker may see or cancel job ``job_id``: its user or session, or an administrator (else 403)."""
    from webapp.limits import job_owner

    user = current_user()
    jobs = current_app.extensions["linli.jobs"]
    jobs.check_access(job_id, user=user["name"] if user["id"] else "", owner=job_owner(), admin=user["role"] == "admin")


def plan_author() -> str:
    """Who creates or saves a plan: the account's name, :data:`~webapp.plans.LOCAL_AUTHOR` in single-user mode."""
    from webapp.plans import LOCAL_AUTHOR

    user = current_user()
    return user["name"] if user["id"] else LOCAL_AUTHOR


def job_user() -> str:
    """The account a job is recorded under ("" in single-user mode)."""
    user = current_user()
    return user["name"] if user["id"] else ""


def _session_user() -> dict | None:
    uid = session.get("uid")
    if not isinstance(uid, int):
        return None
    user = users().by_id(uid)
    hours = float(current_app.config["SESSION_HOURS"])
    login_at = session.get("login_at")
    if (
        user is None
        or user["disabled"]
        or session.get("epoch") != user["session_epoch"]
        or not isinstance(login_at, int | float)
        or users().clock() - login_at > hours * 3600
    ):
        return None
    return user


def _check_plan_area(user: dict, plan_id: int) -> None:
    if user["role"] == "admin":
        return
    area = users().plan_area(plan_id)
    if not in_scope(user["scope"], area):
        abort(
            403,
            description=f"无权修改此方案：它属于区域 {area or '全县 (county-wide)'}，您的范围是 {user['scope']} "
            "(this plan belongs to another area; you may read it but not change it)",
        )


def _authorize():
    """Before every request: who is asking, and may they?"""
    endpoint = request.endpoint
    if endpoint is None:
        return None  # 404 / 405 answered by Flask
    if not login_required():
        g.linli_user = LOCAL_USER
    else:
        g.linli_user = _session_user()
    rule = rule_of(current_app, endpoint)
    if rule == PUBLIC:
        return None
    if rule is None:
        abort(403, description="此地址没有权限规则，已拒绝 (this route has no permission rule; refused)")
    user = g.linli_user
    if user is None:
        if request.path.startswith("/api/"):
            return jsonify({"error": "请先登录 (login required)", "status": 401, "login": "/login"}), 401
        target = request.full_path.rstrip("?")
        return redirect(f"/login?next={target}" if target.startswith("/") else "/login")
    if rule not in PERMISSIONS[user["role"]]:
        abort(403, description=f"您的角色（{user['role']}）无权执行此操作 (your role may not do this)")
    if request.path.startswith("/api/export/") and request.args.get("personal") == "1" and user["role"] != "admin":
        abort(403, description="只有管理员可以导出个人信息 (only an administrator may export personal data)")
    return None


# ---------------------------------------------------------------- pages and API


def _json() -> dict:
    """The request's JSON object, parsed strictly (as the API's views parse theirs)."""
    if request.mimetype != "application/json":
        abort(415, description="请求应为 application/json (expected a JSON body)")
    data = parse_json(request.get_data(cache=False))
    if not isinstance(data, dict):
        raise InputDataError("请求 JSON 应为对象 (the JSON body must be an object)")
    return data


def _lang() -> str:
    lang = request.args.get("lang") or request.cookies.get("lang") or "zh"
    return lang if lang in LANGUAGES else "zh"


@bp.get("/login")
@public
def login_page():
    """The login form (Chinese or English)."""
    lang = _lang()
    nxt = request.args.get("next", "/")
    nxt = nxt if nxt.startswith("/") and not nxt.startswith("//") else "/"
    return render_template("login.html", t=texts(lang), lang=lang, next_url=nxt)


@bp.get("/api/me")
@public
def me():
    """The user of this session (null when not logged in) and whether login is on."""
    user = g.linli_user
    fields = ("name", "role", "scope")
    return jsonify({"user": {k: user[k] for k in fields} if user else None, "login_required": login_required()})


@bp.post("/api/login")
@public
def login():
    """``{"name", "password"}`` -> a new session; 401 on a wrong pair, 429 when throttled."""
    data = _json()
    name, password = data.get("name"), data.get("password")
    if not isinstance(name, str) or not isinstance(password, str) or len(name) > 64 or len(password) > 200:
        raise InputDataError("请填写用户名和密码 (user name and password are required)")
    try:
        user = users().authenticate(name, password, _client_ip())
    except LoginThrottledError:
        record("login.throttled", f"user={name}", user=name)
        raise
    if user is None:
        record("login.failed", f"user={name}", user=name)
        return jsonify({"error": "用户名或密码错误 (wrong user name or password)", "status": 401}), 401
    session.clear()
    session.update({"uid": user["id"], "epoch": user["session_epoch"], "login_at": users().clock()})
    session.permanent = True
    g.linli_user = user
    record("login", f"user={name}")
    return jsonify({"user": {k: user[k] for k in ("name", "role", "scope")}})


@bp.post("/api/logout")
@public
def logout():
    """End this session."""
    if g.linli_user is not None and session.get("uid"):
        record("logout", f"user={g.linli_user['name']}")
    session.clear()
    return jsonify({"ok": True})


@bp.post("/api/logout-all")
@requires("read")
def logout_everywhere():
    """End every session of this user, on every device."""
    user = current_user()
    if user["id"]:
        users().end_sessions(user["name"])
        record("logout.everywhere", f"user={user['name']}")
    session.clear()
    return jsonify({"ok": True})


@bp.get("/admin")
@requires("admin")
def admin_page():
    """Users (create, role and scope, disable, password) and the audit log."""
    lang = _lang()
    return render_template(
        "admin.html", t=texts(lang), lang=lang, users=users().list_users(), audit=users().audit(limit=200)
    )


@bp.get("/api/admin/users")
@requires("admin")
def list_users():
    """Every user (no password hashes)."""
    return jsonify({"users": users().list_users()})


@bp.post("/api/admin/users")
@requires("admin", audit="user.create")
def create_user():
    """``{"name", "password", "role", "scope"}`` -> the new user."""
    data = _json()
    if not users().has_admin() and data.get("role") != "admin":
        # Login starts with the first user: anyone else first would lock the administrator out.
        raise InputDataError("第一个用户必须是管理员 (the first user must be an administrator)")
    user = users().add(data.get("name"), data.get("password"), data.get("role"), data.get("scope") or "")
    return jsonify(user), 201


@bp.patch("/api/admin/users/<name>")
@requires("admin", audit="user.update")
def update_user(name: str):
    """``{"role"?, "scope"?, "disabled"?, "password"?}``; every change ends the user's sessions."""
    data = _json()
    if "password" in data:
        users().set_password(name, data["password"])
    user = users().update(name, role=data.get("role"), scope=data.get("scope"), disabled=data.get("disabled"))
    return jsonify(user)


AUDIT_HEADERS = {
    "id": "编号 id",
    "at": "时间 time (UTC)",
    "user_name": "用户 user",
    "action": "操作 action",
    "object": "对象 object",
    "detail": "详情 detail",
    "ip": "地址 address",
}


@bp.get("/api/admin/audit.<fmt>")
@requires("admin")
def export_audit(fmt: str):
    """The whole audit log as CSV or XLSX (text cells that look like formulas are escaped)."""
    if fmt not in ("csv", "xlsx"):
        raise InputDataError(f"格式 {fmt!r} 无效，可选: csv, xlsx (unknown format)")
    frame = pd.DataFrame(users().audit(), columns=list(AUDIT_HEADERS)).rename(columns=AUDIT_HEADERS)
    with tempfile.TemporaryDirectory(prefix="linli-audit-") as tmp:
        data = write_table(frame, Path(tmp) / f"audit.{fmt}").read_bytes()
    record("audit.export", f"format={fmt}")
    mimetype = "text/csv; charset=utf-8" if fmt == "csv" else "application/vnd.ms-excel"
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=f"audit_审计日志.{fmt}")


@bp.get("/api/admin/audit")
@requires("admin")
def audit_log():
    """The latest audit entries (``?limit=``, at most 1000)."""
    limit = request.args.get("limit", "200")
    n = int(limit) if limit.isascii() and limit.isdigit() else 200
    return jsonify({"audit": users().audit(limit=max(1, min(n, 1000)))})


def init_app(app: Flask) -> None:
    """Open the user store, check every request, register the routes and error answers."""
    app.config.setdefault("LOGIN_REQUIRED", None)
    app.config.setdefault("SESSION_HOURS", 10.0)
    app.config["PERMANENT_SESSION_LIFETIME"] = int(float(app.config["SESSION_HOURS"]) * 3600)
    # h-acct: the accounts live where the plans are (PostgreSQL beside a PostGIS plan store).
    store = open_user_store(
        app.config.get("PLAN_DB"),
        app.instance_path,
        users_db=app.config.get("USERS_DB"),
        plan_store=app.extensions.get("linli.store"),
        schema=app.config.get("PLAN_DB_SCHEMA"),
    )
    app.extensions["linli.users"] = store
    if app.config["LOGIN_REQUIRED"] and not store.has_admin():
        raise NoAdminError(
            "登录模式下至少需要一位管理员；请先创建: linli users add 名字 --role admin --instance 实例文件夹 "
            "(login is required beyond loopback but there is no administrator; create one with: "
            "linli users add NAME --role admin --instance FOLDER)"
        )
    app.before_request(_authorize)
    app.register_blueprint(bp)

    @app.errorhandler(LoginThrottledError)
    def _throttled(exc: LoginThrottledError):
        response = jsonify({"error": str(exc), "status": 429, "retry_after_s": exc.retry_after_s})
        response.status_code = 429
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response

    @app.errorhandler(UnknownUserError)
    def _unknown(exc: UnknownUserError):
        return jsonify({"error": str(exc), "status": 404}), 404


class NoAdminError(InputDataError):
    """Login is required but no administrator exists (the server refuses to start)."""
