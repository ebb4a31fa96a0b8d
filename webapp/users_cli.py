"""``linli users add|list|disable|enable|reset-password``: the accounts of a served Linli.

The users live in ``users.sqlite3`` in the instance folder (``--instance``, the same folder
``linli serve --instance`` uses; by default the web app's own).  Passwords are read without
echo, or from standard input with ``--password-stdin`` (one line) for scripts.
"""

from __future__ import annotations

import argparse
import getpass
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
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--instance", default=argparse.SUPPRESS, help="instance folder (default: the web app's)")
    sub = parser.add_subparsers(dest="action", required=True, metavar="add|list|disable|enable|reset-password")
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
    return parser


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("密码 (password, 10+ characters): ")
    if getpass.getpass("再次输入 (again): ") != first:
        raise GeoError("两次输入的密码不同 (the passwords differ)")
    return first


def main(argv: list[str] | None = None) -> int:
    """Run one account command; returns the exit status (2 on a refused input)."""
    from webapp.users import UserStore

    args = build_parser().parse_args(argv)
    instance = Path(args.instance) if args.instance else _default_instance()
    try:
        store = UserStore(instance / "users.sqlite3")
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
