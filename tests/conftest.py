"""Shared fixtures: the real demo network and project, and hand-built toy networks in metres."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

# An isolated cache for each test process, set before geo is imported: the scripts and
# the web app run in the tests without a cache_dir of their own, and neither they nor
# subprocesses started by the tests may write into the user's cache or the checkout.
# LINLI_CACHE_DIR is what the faces read; XDG_CACHE_HOME moves geo's default (the
# user's cache folder, geo.settings.default_cache_dir) on Linux.
_CACHE_ROOT = Path(tempfile.mkdtemp(prefix="linli-test-cache-"))
atexit.register(shutil.rmtree, _CACHE_ROOT, ignore_errors=True)
os.environ["LINLI_CACHE_DIR"] = str(_CACHE_ROOT / "linli")
os.environ["XDG_CACHE_HOME"] = str(_CACHE_ROOT / "xdg")
# The same folder is this process's temporary folder (in this process only: subprocesses,
# e.g. Chromium, keep the system's): with two test workers (pytest -n 2) a test that checks
# its exports leave no temporary folder behind must not see the other worker's.
tempfile.tempdir = str(_CACHE_ROOT)

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import shapely  # noqa: E402

from geo.io.sources import LoadReport, StreetTable, internet_reachable  # noqa: E402
from geo.network.graph import WalkNetwork, build_network, load_network  # noqa: E402

#: Toy networks are drawn in UTM 50N (Quanzhou) around this origin, in metres.
TOY_EPSG = 32650
X0, Y0 = 660_000.0, 2_760_000.0


def toy_table(
    lines: Sequence[Sequence[tuple[float, float]]],
    *,
    highway: str | Sequence[str] = "residential",
    oneway: Sequence[int] | None = None,
) -> StreetTable:
    """A StreetTable from polylines given in metres relative to (X0, Y0).

    Nodes are identified by their end coordinates, so lines sharing an end point meet.
    """
    geoms = [shapely.LineString([(X0 + x, Y0 + y) for x, y in line]) for line in lines]
    ends = [(line[0], line[-1]) for line in lines]
    ids: dict[tuple[float, float], int] = {}
    u = [ids.setdefault(a, len(ids) + 1) for a, _ in ends]
    v = [ids.setdefault(b, len(ids) + 1) for _, b in ends]
    n = len(lines)
    frame = gpd.GeoDataFrame(
        {
            "u": np.array(u, dtype=np.int64),
            "v": np.array(v, dtype=np.int64),
            "way_id": np.arange(n, dtype=np.int64),
            "highway": [highway] * n if isinstance(highway, str) else list(highway),
            "oneway": np.array(oneway if oneway is not None else [0] * n, dtype=np.int8),
            "bicycle_contraflow": np.zeros(n, dtype=bool),
            "name": [""] * n,
        },
        geometry=geoms,
        crs=TOY_EPSG,
    ).to_crs(4326)
    return StreetTable(edges=frame, report=LoadReport(source="toy"))


def toy_network(lines, **kwargs) -> WalkNetwork:
    """A WalkNetwork of toy polylines, projected back to UTM 50N (exact to ~1e-6 m)."""
    return build_network(toy_table(lines, **kwargs), epsg=TOY_EPSG)


def toy_points(xy: Sequence[tuple[float, float]]) -> gpd.GeoSeries:
    """Points in metres relative to (X0, Y0), as a GeoSeries in UTM 50N."""
    return gpd.GeoSeries([shapely.Point(X0 + x, Y0 + y) for x, y in xy], crs=TOY_EPSG)


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``online`` when OpenStreetMap's servers cannot be reached."""
    import osmnx as ox

    if not any("online" in item.keywords for item in items):
        return
    if internet_reachable(ox.settings.overpass_url):
        return
    skip = pytest.mark.skip(reason="离线 offline: OpenStreetMap servers not reachable")
    for item in items:
        if "online" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def demo_net(tmp_path_factory) -> WalkNetwork:
    """The bundled real OSM extract (central Helsinki), built once per session."""
    return load_network("demo", cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def demo_project():
    """The bundled demo project (a frozen :class:`geo.project.Project`), loaded once per session."""
    from geo.project import load_project

    return load_project("demo")
