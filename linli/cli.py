"""``linli <command> [options]``: the web app and the scripts under one name.

Each command is the module a checkout runs with ``python -m``: its own
``build_parser()`` checks the arguments (so ``linli coverage --help`` is the help of
``python -m scripts.coverage``, under the name ``linli coverage``) and its
``main(argv)`` runs.  Modules are imported only when their command runs, so
``linli --help`` answers at once.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass

from linli import __version__

__all__ = ["COMMANDS", "EXTRAS", "Command", "build_parser", "main"]


@dataclass(frozen=True)
class Command:
    """One subcommand: the module that implements it and a line of help in both languages."""

    module: str
    help_zh: str
    help_en: str


COMMANDS: dict[str, Command] = {
    "serve": Command("webapp.__main__", "启动网页版（浏览器中打开）", "serve the web app (python -m webapp)"),
    "coverage": Command(
        "scripts.coverage", "六大功能步行覆盖、缺口与达标检查", "coverage, gaps and the GB 50180 check"
    ),
    "service-areas": Command("scripts.service_areas", "设施步行服务范围", "walking service areas of facilities"),
    "grids": Command("scripts.grids", "网格划定、编码与检查", "management grids: generate, code, check"),
    "roster": Command(
        "scripts.roster", "网格名册检查与“1+10”联系户分配", 'grid rosters checked, the "1+10" member linkage'
    ),
    "party": Command("scripts.party", "小区党组织覆盖率与无党支部小区图", "compound party coverage and its map"),
    "place": Command("scripts.place_centers", "邻里中心选址", "neighbourhood-centre placement"),
    "programme": Command(  # h-prog (issue 21)
        "scripts.programme", "邻里中心建设进度：分期覆盖与挂图", "building programme: coverage by phase, wall map"
    ),
    "export": Command("scripts.export_map", "会议用打印地图 (PNG/PDF)", "print maps for meetings (PNG/PDF)"),
    "batch": Command("scripts.batch", "多个研究区的批量分析", "batch analysis of many study areas (Dask)"),
    "users": Command(
        "webapp.users_cli", "账号：新建、列出、停用、重设密码；删除某人的个人信息", "user accounts; forget a person"
    ),
}


#: Optional dependencies and the extra that installs them (pyproject.toml).
EXTRAS: dict[str, str] = {"dask": "batch", "distributed": "batch", "psycopg": "postgis", "psycopg_pool": "postgis"}


def _command_table() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = ["命令 commands:"]
    for name, command in COMMANDS.items():
        lines.append(f"  {name:<{width}}  {command.help_zh} / {command.help_en}")
    lines.append("")
    lines.append("每个命令的参数: linli <命令> --help (options of a command: linli <command> --help)")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser: a command name, then that command's own arguments."""
    parser = argparse.ArgumentParser(
        prog="linli",
        description="邻里 Linli：15 分钟社区生活圈规划 (planning 15-minute community service areas)",
        epilog=_command_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"linli {__version__}")
    parser.add_argument("command", choices=list(COMMANDS), metavar="命令 (command)", help="见下表 (see below)")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="该命令的参数 (the command's options)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``linli``; returns the exit status of the command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv:
        parser.print_help()
        return 2
    if argv[0].startswith("-"):
        parser.parse_args(argv)  # --help, --version or an error: argparse exits
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        parser.parse_args([name])  # exits with the list of commands
    module = importlib.import_module(COMMANDS[name].module)
    command_parser = module.build_parser()
    command_parser.prog = f"linli {name}"
    command_parser.parse_args(rest)  # --help and argument errors under the linli name
    try:
        return int(module.main(rest))
    except ModuleNotFoundError as exc:
        extra = EXTRAS.get((exc.name or "").partition(".")[0])
        if extra is None:
            raise
        print(
            f'错误: 缺少可选依赖 {exc.name}，请安装: python -m pip install "linli[{extra}]" '
            f"(missing optional dependency {exc.name}; install the {extra!r} extra)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
