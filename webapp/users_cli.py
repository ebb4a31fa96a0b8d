"""``linli users add|list|disable|enable|reset-password|forget-person``: the accounts of a served Linli.

The users live in ``users.sqlite3`` in the instance folder (``--instance``, the same folder
``linli serve --instance`` uses; by default the web app's own), or, when the plans are in
PostgreSQL (``--plan-db postgresql://...`` or ``LINLI_PLAN_DB``, as ``linli serve`` is given),
in that database.  Passwords are read without echo, or from standard input with
``--password-stdin`` (one line) for scripts.

``forget-person --name 张三 --phone 13812345678`` (or ``--id``) removes a person's records from
the instance folder's files, every plan and the audit log, and records the removal without
the person's data (``--dry-run`` counts only).

``move-to-schema --plan-db-schema huian`` (PostgreSQL) moves, once, the tables a Linli kept in
the database's default schema into the instance's own schema, so that several instances can
share one database (``linli serve --plan-db-schema``, ``LINLI_PLAN_DB_SCHEMA``).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from geo.errors import GeoError


def _default_instance() -> Path:
    from flask import Flask

    return Path(Flask("webapp").instance_path)


def build_parser() -> argparse.ArgumentParser:
    """The arguments of ``linli users``."""
    parser = argparse.ArgumentParser(prog="linli users", description="账号管理 (user accounts)")
    parser.add_argument("--instance", default=None, help="instance folder (default: the web app's)")
    plan_db_help = "the plan store (postgresql://... keeps the accounts there too; default: env LINLI_PLAN_DB)"
    parser.add_argument("--plan-db", default=None, help=plan_db_help)
    schema_help = "PostgreSQL schema of the instance's tables (default: env LINLI_PLAN_DB_SCHEMA)"
    parser.add_argument("--plan-db-schema", default=None, help=schema_help)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--instance", default=argparse.SUPPRESS, help="instance folder (default: the web app's)")
    common.add_argument("--plan-db", default=argparse.SUPPRESS, help=plan_db_help)
    common.add_argument("--plan-db-schema", default=argparse.SUPPRESS, help=schema_help)
    sub = parser.add_subparsers(
        dest="action",
        required=True,
        metavar="add|list|disable|enable|reset-password|forget-person|move-to-schema",
    )
    add = sub.add_parser("add", parents=[common], help="新建用户 (create a user)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["admin", "planner", "viewer"])
    add.add_argument("--scope", default="", help="planner's area code: county 6, town 9, community 12 digits")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    sub.add_parser("list", parents=[common], help="列出用户 (list users)")
    for name, text in (("disable", "停用 (disable)"), ("enable", "启用 (enable)")):
        sub.add_parser(name, parents=[common], help=text).add_argument("name")
    reset = sub.add_parser("reset-password", parents=[common], help="重设密码 (new password; ends the user's sessions)")
    reset.add_argument("name")
    reset.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    forget = sub.add_parser(
        "forget-person", parents=[common], help="删除某人的个人信息 (remove a person's records: name + phone, or id)"
    )
    forget.add_argument("--name", default="", help="姓名 the person's name")
    forget.add_argument("--phone", default="", help="电话 their phone number")
    forget.add_argument("--id", default="", dest="person_id", help="编号 their id (staff number, ID card)")
    forget.add_argument("--dry-run", action="store_true", help="count only; change nothing")
    sub.add_parser(
        "move-to-schema",
        parents=[common],
        help="把默认模式中的邻里数据表移入本实例的模式，一次 (PostgreSQL: move the tables into --plan-db-schema, once)",
    )
    return parser


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("密码 (password, 10+ characters): ")
    if getpass.getpass("再次输入 (again): ") != first:
        raise GeoError("两次输入的密码不同 (the passwords differ)")
    return first


def _forget(args: argparse.Namespace, store, instance: Path, plan_db: str | None, actor: str) -> None:
    from geo.io.forget import Person
    from webapp.forget import forget_person
    from webapp.plans import open_store

    person = Person.of(args.name, args.phone, args.person_id)
    plans = open_store(plan_db or instance / "plans.sqlite3", schema=args.plan_db_schema)
    try:
        report = forget_person(person, plans=plans, users=store, instance=instance, actor=actor, dry_run=args.dry_run)
    finally:
        plans.close()
    verb = "将删除 (would remove)" if args.dry_run else "已删除 (removed)"
    print(f"{verb} {report.total} 条记录 records: 方案 plans {report.plans}, 审计日志 audit {report.audit}")
    for rel, n in report.files.items():
        print(f"  {rel}: {n}  ({'将改写' if args.dry_run else '已改写'}，文件保留 rewritten in place, not deleted)")
    for rel in report.not_scanned:
        print(f"  未检查 (not scanned, check by hand): {rel}")


def main(argv: list[str] | None = None) -> int:
    """Run one account command; returns the exit status (2 on a refused input)."""
    from webapp.accounts import open_user_store

    args = build_parser().parse_args(argv)
    instance = Path(args.instance) if args.instance else _default_instance()
    plan_db = args.plan_db or os.environ.get("LINLI_PLAN_DB") or None
    args.plan_db_schema = args.plan_db_schema or os.environ.get("LINLI_PLAN_DB_SCHEMA") or None
    try:
        if args.action == "move-to-schema":
            _move(plan_db, args.plan_db_schema)
        store = open_user_store(plan_db, instance, schema=args.plan_db_schema)
    except GeoError as exc:
        print(f"错误 (error): {exc}", file=sys.stderr)
        return 2
    try:
        return _run(args, store, instance, plan_db)
    finally:
        store.close()


def _move(plan_db: str | None, schema: str | None) -> None:
    """Move the default schema's Linli tables into ``schema`` (then audited in the moved log)."""
    from webapp.plans import POSTGRES_SCHEMES, StoreUnavailableError
    from webapp.plans.postgis import move_to_schema

    if not (plan_db or "").lower().startswith(POSTGRES_SCHEMES):
        raise StoreUnavailableError(
            "move-to-schema 只用于 PostgreSQL：请给出 --plan-db postgresql://... "
            "(move-to-schema is for a PostgreSQL plan store)"
        )
    moved = move_to_schema(str(plan_db), str(schema or ""))
    rows = ", ".join(f"{table} {n}" for table, n in moved.items())
    print(f"已移入模式 {schema} (moved into schema {schema}): {rows}")


def _run(args: argparse.Namespace, store, instance: Path, plan_db: str | None) -> int:
    try:
        actor = f"cli:{getpass.getuser()}"
        if args.action == "add":
            user = store.add(args.name, _password(args.password_stdin), args.role, args.scope)
            store.record(actor, "user.create", f"name={user['name']}", f"role={user['role']} scope={user['scope']}")
            print(f"已创建用户 (created) {user['name']}: {user['role']} {user['scope']}".rstrip())
        elif args.action == "list":
            for user in store.list_users():
                state = "已停用 disabled" if user["disabled"] else "启用 active"
                print(f"{user['name']}\t{user['role']}\t{user['scope'] or '-'}\t{state}")
        elif args.action in ("disable", "enable"):
            store.update(args.name, disabled=args.action == "disable")
            store.record(actor, f"user.{args.action}", f"name={args.name}")
            print(f"{args.name}: {'已停用 (disabled)' if args.action == 'disable' else '已启用 (enabled)'}")
        elif args.action == "forget-person":
            _forget(args, store, instance, plan_db, actor)
        elif args.action == "move-to-schema":
            detail = f"schema={args.plan_db_schema}"
            store.record(actor, "db.move-schema", detail, "tables from the default schema moved in")
        else:
            store.set_password(args.name, _password(args.password_stdin))
            store.record(actor, "user.password", f"name={args.name}")
            print(f"{args.name}: 密码已重设，所有会话已结束 (password reset; sessions ended)")
    except GeoError as exc:
        print(f"错误 (error): {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
