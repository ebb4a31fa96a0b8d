"""Serve the web app: ``python -m webapp [--project demo|FILE] [--host 127.0.0.1] [--port 8000]``.

A production WSGI server (waitress), never Flask's debug server.  Listening on a
non-loopback address needs a secret key given by the operator (``LINLI_SECRET_KEY``)
rather than the generated one, since the instance folder may be shared (docs/bad-inputs.md C5).
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import signal
import sys
import time


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_parser() -> argparse.ArgumentParser:
    """The arguments of ``python -m webapp`` (and ``linli serve``)."""
    parser = argparse.ArgumentParser(prog="python -m webapp", description="邻里 Linli 网页版 (the planners' web app)")
    parser.add_argument(
        "--project", default=None, help="demo, huian or a project .toml file; default env LINLI_PROJECT, else demo"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--instance", default=None, help="instance folder (plan store, secret key)")
    parser.add_argument(
        "--behind-https",
        action="store_true",
        help="served to browsers through an HTTPS reverse proxy: cookies get the Secure flag",
    )
    parser.add_argument(
        "--plan-db",
        default=None,
        help="plan store: a SQLite file or postgresql://host/db (PostGIS); default instance/plans.sqlite3; "
        "env LINLI_PLAN_DB",
    )
    parser.add_argument(
        "--plan-db-schema",
        default=None,
        help="PostgreSQL schema of this instance's tables (several instances in one database); "
        "env LINLI_PLAN_DB_SCHEMA",
    )
    parser.add_argument(
        "--basemap",
        action="append",
        default=[],
        choices=["osm", "tianditu"],
        help="add an online base map (needs internet; Tianditu needs TIANDITU_KEY); offline by default",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Start the server; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pyogrio").setLevel(logging.WARNING)
    if not (0 < args.port < 65536):
        parser.error("--port 应在 1-65535 (port out of range)")
    # Options given on the command line win over the LINLI_* variables that create_app reads.
    config: dict = {"PROJECT": args.project} if args.project else {}
    config["BIND_HOST"] = args.host
    from webapp import basemap

    try:
        config["BASEMAPS"] = [basemap(name, os.environ.get("TIANDITU_KEY")) for name in args.basemap]
    except ValueError as exc:
        parser.error(str(exc))
    if args.instance:
        config["instance_path"] = os.path.abspath(args.instance)
    if args.plan_db:
        config["PLAN_DB"] = args.plan_db
    if args.plan_db_schema:
        config["PLAN_DB_SCHEMA"] = args.plan_db_schema
    if args.behind_https:
        config["SESSION_COOKIE_SECURE"] = True
        config["PREFERRED_URL_SCHEME"] = "https"
    if not _is_loopback(args.host):
        key = os.environ.get("LINLI_SECRET_KEY", "")
        if len(key) < 32:
            print(
                "错误: 在非本机地址上提供服务需要设置 LINLI_SECRET_KEY（至少 32 个字符） "
                "(serving on a non-loopback address needs LINLI_SECRET_KEY, 32+ characters)",
                file=sys.stderr,
            )
            return 2
        config["SECRET_KEY"] = key
        # Beyond loopback everyone logs in (the app refuses to start without an administrator).
        config["LOGIN_REQUIRED"] = True
    from geo.errors import GeoError
    from webapp import create_app
    from webapp.limits import make_server

    start = time.perf_counter()
    try:
        app = create_app(config)
    except GeoError as exc:
        print(f"错误 (error): {exc}", file=sys.stderr)
        return 2
    if app.debug:
        print("错误: 不能以调试模式运行 (refusing to serve in debug mode)", file=sys.stderr)
        return 2
    print(
        f"邻里 Linli: {app.config['PROJECT']} 已加载 ({time.perf_counter() - start:.1f} s)；"
        f"请在浏览器中打开 http://{args.host}:{args.port}/  (Ctrl+C 退出)",
        flush=True,
    )
    # Connection limit, idle timeout and body caps: half-open connections or a large body on a
    # small route cannot hold the server (webapp.limits).
    server = make_server(app, host=args.host, port=args.port, threads=args.threads)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a service stop ends like Ctrl+C
    try:
        server.run()  # until Ctrl+C or SIGTERM
    finally:
        # Queued jobs are marked failed, the running one stops at its next report: a flood of
        # jobs is not drained before the process exits.
        app.extensions["linli.jobs"].shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
