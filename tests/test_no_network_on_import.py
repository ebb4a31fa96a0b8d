"""Importing the core, a script, the web app or the command opens no connection.

A fresh interpreter replaces every way out (``socket.socket.connect``,
``connect_ex``, ``socket.create_connection``, ``socket.getaddrinfo``) with a function
that records the attempt and raises, then imports every module of ``geo/`` (its
subpackages included), ``scripts/``, ``webapp/`` and ``linli/``.  The test fails if
any import tried to reach the network or failed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import importlib, pkgutil, socket, sys

attempts = []

def refuse(name):
    def blocked(*args, **kwargs):
        attempts.append(name)
        raise OSError(f"network access during import: {name}")
    return blocked

socket.socket.connect = refuse("socket.connect")
socket.socket.connect_ex = refuse("socket.connect_ex")
socket.create_connection = refuse("create_connection")
socket.getaddrinfo = refuse("getaddrinfo")

import geo, linli, scripts, webapp
names = []
for package in (geo, scripts, webapp, linli):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if not info.name.endswith("__main__"):
            names.append(info.name)
for name in sorted(names):
    importlib.import_module(name)
print(len(names), "modules")
if attempts:
    print("ATTEMPTS", attempts)
    sys.exit(3)
"""


def test_importing_geo_and_scripts_opens_no_connection():
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    n_modules = int(proc.stdout.split()[0])
    # geo/ has more than 40 modules in its subpackages, scripts/ 10, webapp/ 15, linli/ 3.
    assert n_modules >= 60


def test_the_probe_catches_a_connection():
    # The same probe must fail when something does connect, or the test above proves nothing.
    imports = "import geo, linli, scripts, webapp"
    probe = PROBE.replace(imports, imports + "\nsocket.getaddrinfo('example.org', 80)")
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode != 0
    assert "network access during import: getaddrinfo" in proc.stderr
