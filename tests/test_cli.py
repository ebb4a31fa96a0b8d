"""The ``linli`` command and the configuration of the faces (``LINLI_*`` variables)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import geopandas as gpd
import pytest

from geo import settings
from linli import cli, config

ROOT = Path(__file__).resolve().parent.parent


def test_the_console_script_is_the_dispatcher():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    module, _, function = scripts["linli"].partition(":")
    assert getattr(importlib.import_module(module), function) is cli.main


def test_help_lists_every_command_in_both_languages(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for name in ("serve", "coverage", "service-areas", "grids", "place", "export", "batch", "users"):
        assert f"  {name} " in out
    assert "网格划定" in out and "management grids" in out
    assert set(cli.COMMANDS) == {
        "serve",
        "coverage",
        "service-areas",
        "grids",
        "roster",
        "party",
        "place",
        "programme",
        "export",
        "batch",
        "users",
    }


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_command_help_is_the_modules_parser(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([name, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: linli {name} ")
    # the same options as python -m <module>: the module's own build_parser()
    module = importlib.import_module(cli.COMMANDS[name].module)
    for action in module.build_parser()._actions:
        for flag in action.option_strings:
            assert flag in out


def test_unknown_command_and_bad_option_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["nope"])
    assert exit_.value.code == 2
    assert "service-areas" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        cli.main(["coverage", "--minutes", "0"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("linli coverage: error: argument --minutes")
    assert cli.main([]) == 2


def test_python_dash_m_linli(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "linli", "--version"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "linli 0.1.0"


def test_service_areas_through_linli_equal_the_script(tmp_path):
    from scripts.service_areas import main

    args = ["--network", "demo", "--facilities", "demo", "--minutes", "5", "10", "-q"]
    assert cli.main(["service-areas", *args, "--out", str(tmp_path / "linli.geojson")]) == 0
    assert main([*args, "--out", str(tmp_path / "script.geojson")]) == 0
    ours = gpd.read_file(tmp_path / "linli.geojson")
    theirs = gpd.read_file(tmp_path / "script.geojson")
    assert len(ours) == 17 * 2
    assert ours.drop(columns="geometry").equals(theirs.drop(columns="geometry"))
    assert ours.geometry.geom_equals_exact(theirs.geometry, tolerance=0.0).all()


# ----------------------------------------------------------------------- configuration


def test_cache_dir_from_the_environment(tmp_path):
    assert config.cache_root({"LINLI_CACHE_DIR": str(tmp_path)}) == tmp_path
    assert config.cache_dir({"LINLI_CACHE_DIR": str(tmp_path)}) == tmp_path / "networks"
    assert config.cache_root({}) == settings.default_cache_dir()
    assert config.cache_root({"LINLI_CACHE_DIR": "  "}) == settings.default_cache_dir()
    # never inside the checkout
    assert ROOT not in settings.default_cache_dir().parents


def test_the_tests_use_an_isolated_cache():
    # tests/conftest.py points the faces (LINLI_CACHE_DIR) and, on Linux, geo's default
    # (XDG_CACHE_HOME) at a temporary folder of this test process
    temp = Path(tempfile.gettempdir()).resolve()
    assert temp in config.cache_root().resolve().parents
    if sys.platform.startswith("linux"):
        assert temp in settings.DEFAULT_CACHE_DIR.resolve().parents


def test_flask_reads_linli_variables(tmp_path, monkeypatch):
    from webapp import create_app

    monkeypatch.setenv("LINLI_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("LINLI_EAGER_LOAD", "false")
    monkeypatch.setenv("LINLI_CACHE_DIR", str(tmp_path / "cache"))
    app = create_app({"TESTING": True, "instance_path": tmp_path / "i"})
    assert app.config["SECRET_KEY"] == "k" * 40
    assert app.config["EAGER_LOAD"] is False
    assert app.config["CACHE_DIR"] == tmp_path / "cache"
    # the caller's config wins over the environment
    app = create_app({"TESTING": True, "instance_path": tmp_path / "j", "SECRET_KEY": "s" * 40})
    assert app.config["SECRET_KEY"] == "s" * 40


def test_flask_cache_dir_defaults_to_the_users_cache(tmp_path, monkeypatch):
    from webapp import create_app

    monkeypatch.delenv("LINLI_CACHE_DIR", raising=False)
    app = create_app({"TESTING": True, "instance_path": tmp_path / "i", "EAGER_LOAD": False})
    assert app.config["CACHE_DIR"] == settings.default_cache_dir()


def test_a_missing_extra_is_named(tmp_path, monkeypatch, capsys):
    # A command whose optional dependency is not installed says which extra to install.
    (tmp_path / "needs_dask.py").write_text(
        "import argparse\n"
        "def build_parser():\n    return argparse.ArgumentParser()\n"
        "def main(argv=None):\n    raise ModuleNotFoundError(\"No module named 'distributed'\", name='distributed')\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.COMMANDS, "batch", cli.Command("needs_dask", "批量", "batch"))
    assert cli.main(["batch"]) == 2
    assert 'pip install "linli[batch]"' in capsys.readouterr().err
