"""Walking service areas of facilities, as a batch job.

    python -m scripts.service_areas --network demo --facilities demo \
        --minutes 5 10 15 --profile walk --out service_areas.gpkg

Writes a GeoPackage (layers ``service_areas``, ``facilities``, ``reached_streets``)
or a GeoJSON of the service areas, in WGS84, chosen by the extension of ``--out``;
``--crs cgcs2000|cgcs2000_gk|cgcs2000_gk_zone`` (or an EPSG code) writes CGCS2000 instead
(the Gauss-Kruger zone of the facilities' centre; GeoJSON only in longitude/latitude).
Exit status: 0 done, 2 bad arguments or bad input data (message on stderr).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import geopandas as gpd
from tqdm import tqdm

from geo import settings
from geo.access.facilities import osm_facilities, read_facilities
from geo.access.service_area import MODES, profile_note
from geo.errors import GeoError
from geo.io.crs import ExportCRS
from geo.io.export import export_crs_for, write_geojson
from geo.maps.qgis_layers import write_styled_gpkg
from geo.network.graph import load_network
from geo.workflows import chinese_frame, facility_service_areas
from geo.workflows.outputs import layers_in
from linli.config import cache_dir
from scripts.cli import MINUTES, add_crs, add_lang, interruptible, positive

logger = logging.getLogger("scripts.service_areas")

OUT_SUFFIXES = (".gpkg", ".geojson")
DEMO_FUNCTION = "medical"


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m scripts.service_areas",
        description="设施步行服务范围 (street-following walking service areas of facilities)",
    )
    parser.add_argument("--network", required=True, help="路网: demo, .osm.pbf, .osm or .graphml file")
    parser.add_argument(
        "--facilities",
        required=True,
        help="设施: demo (the demo extract's health facilities) or a GeoJSON/GeoPackage/CSV file",
    )
    parser.add_argument("--minutes", type=MINUTES, nargs="+", default=list(settings.DEFAULT_BUDGETS_MIN))
    parser.add_argument("--profile", choices=sorted(settings.PROFILES), default=settings.DEFAULT_PROFILE)
    parser.add_argument("--mode", choices=MODES, default="overlap", help="overlap | dissolve | catchment")
    parser.add_argument("--rings", action="store_true", help="bands 0-5, 5-10, 10-15 instead of nested areas")
    parser.add_argument(
        "--width-m", type=positive(500, "米"), default=settings.STREET_BUFFER_M, help="street buffer each side (m)"
    )
    parser.add_argument("--epsg", default=None, help="projected CRS to work in (default: UTM zone of the data)")
    parser.add_argument(
        "--facilities-crs",
        default=None,
        help="表格坐标系: wgs84, gcj02 (高德/腾讯), bd09 (百度) 或 EPSG 代码；默认按路网自动判定 (default: detected)",
    )
    parser.add_argument("--out", required=True, type=Path, help="output .gpkg or .geojson (WGS84 unless --crs)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the network cache")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_lang(parser)
    add_crs(parser)
    return parser


def _write(layers: dict[str, gpd.GeoDataFrame], out: Path, lang: str = "zh", crs: ExportCRS | None = None) -> None:
    """All layers as a GeoPackage, or the service areas alone as GeoJSON (written atomically)."""
    zh = {name: chinese_frame(frame, lang=lang) for name, frame in layers.items()}  # Chinese headers and values
    if out.suffix.lower() == ".gpkg":
        write_styled_gpkg(layers_in(zh, lang), out, crs=crs)
    else:
        write_geojson(zh["service_areas"], out, crs=crs)


@interruptible
def main(argv: list[str] | None = None) -> int:
    """Run the job; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    logging.getLogger("pyogrio").setLevel(logging.WARNING)
    out: Path = args.out
    if out.suffix.lower() not in OUT_SUFFIXES:
        parser.error(f"--out 必须以 .gpkg 或 .geojson 结尾 (output must be .gpkg or .geojson): {out.name}")
    inputs = [Path(p).resolve() for p in (args.network, args.facilities) if p != "demo"]
    if out.resolve() in inputs:
        parser.error("--out 不能与输入文件相同 (output must not overwrite an input)")
    try:
        net = load_network(args.network, epsg=args.epsg, cache_dir=None if args.no_cache else cache_dir())
        logger.info(net.report.summary_zh())
        facilities = (
            osm_facilities(DEMO_FUNCTION)
            if args.facilities == "demo"
            else read_facilities(Path(args.facilities), crs=args.facilities_crs, network=net)
        )
        bar = tqdm(total=len(facilities), unit="设施", disable=args.quiet, desc="服务范围 service areas")

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        result = facility_service_areas(
            net.cost_graph(args.profile),
            facilities,
            args.minutes,
            mode=args.mode,
            rings=args.rings,
            width_m=args.width_m,
            progress=progress,
            cache_dir=None if args.no_cache else cache_dir(),
        )
        bar.close()
    except GeoError as exc:
        print(f"错误 (error): {exc}", file=sys.stderr)
        return 2
    facilities, areas = result.facilities, result.areas
    snapped_ok = facilities["snapped"].to_numpy()
    layers = {
        "service_areas": areas,
        "facilities": facilities,
        "reached_streets": result.streets,
    }
    try:
        crs = export_crs_for(args.crs, facilities)
        _write(layers, out, args.lang, crs)
    except GeoError as exc:
        print(f"错误 (error): {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"错误: 无法写出 {out.name} (cannot write output): {exc.strerror}", file=sys.stderr)
        return 2
    unsnapped = int((~snapped_ok).sum())
    print(crs.note_zh)
    print(
        f"{len(areas)} 个服务范围 -> {out} ({profile_note(args.profile)}; "
        f"{len(facilities)} 个设施, {unsnapped} 个未连通路网)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
