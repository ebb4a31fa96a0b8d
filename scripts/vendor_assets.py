"""Vendor the JavaScript/CSS/fonts the web app's maps need (build time only).

    python -m scripts.vendor_assets            # needs npm and the npm registry

Folium points every map at CDNs (jsdelivr, cdnjs, code.jquery.com, netdna): the app
must work with no internet, so the same libraries are taken from the npm registry at
pinned versions, the needed files copied to ``webapp/static/vendor/`` and committed,
and ``webapp/static/vendor/manifest.json`` maps Folium's resource names to them
(``webapp/assets.py`` rewrites every map to these local files and refuses any other
remote resource).  The app never runs npm.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).resolve().parent.parent / "webapp" / "static" / "vendor"

#: npm package@version -> files to copy (paths inside the package) and licence.
PACKAGES: dict[str, dict] = {
    "leaflet@1.9.3": {
        "dir": "leaflet",
        "files": ["dist/leaflet.js", "dist/leaflet.css", "dist/images/*", "LICENSE"],
        "licence": "BSD-2-Clause",
    },
    "jquery@3.7.1": {"dir": "jquery", "files": ["dist/jquery.min.js", "LICENSE.txt"], "licence": "MIT"},
    "bootstrap@5.2.2": {
        "dir": "bootstrap",
        "files": ["dist/js/bootstrap.bundle.min.js", "dist/css/bootstrap.min.css", "LICENSE"],
        "licence": "MIT",
    },
    "leaflet.awesome-markers@2.0.5": {
        "dir": "awesome-markers",
        "files": [
            "dist/leaflet.awesome-markers.js",
            "dist/leaflet.awesome-markers.css",
            "dist/images/*",
            "LICENSE",
        ],
        "licence": "MIT",
    },
    "@fortawesome/fontawesome-free@6.2.0": {
        "dir": "fontawesome",
        "files": ["css/all.min.css", "webfonts/*", "LICENSE.txt"],
        "licence": "Font Awesome Free: icons CC BY 4.0, fonts SIL OFL 1.1, code MIT",
    },
    "leaflet-draw@1.0.4": {
        "dir": "leaflet-draw",
        "files": ["dist/leaflet.draw.js", "dist/leaflet.draw.css", "dist/images/*", "package.json"],
        "licence": "MIT",
    },
}

#: Folium's resource name -> vendored file (relative to the vendor folder).
RESOURCES = {
    "leaflet": "leaflet/dist/leaflet.js",
    "leaflet_css": "leaflet/dist/leaflet.css",
    "jquery": "jquery/dist/jquery.min.js",
    "bootstrap": "bootstrap/dist/js/bootstrap.bundle.min.js",
    "bootstrap_css": "bootstrap/dist/css/bootstrap.min.css",
    "awesome_markers": "awesome-markers/dist/leaflet.awesome-markers.js",
    "awesome_markers_css": "awesome-markers/dist/leaflet.awesome-markers.css",
    "awesome_markers_font_css": "fontawesome/css/all.min.css",
    "leaflet_draw_js": "leaflet-draw/dist/leaflet.draw.js",
    "leaflet_draw_css": "leaflet-draw/dist/leaflet.draw.css",
}
#: Folium resources deliberately dropped (nothing of ours uses them): Bootstrap 3
#: glyphicons (we use Font Awesome icons) and the marker-rotation stylesheet.
DROPPED = ("glyphicons_css", "awesome_rotate_css")


def _matches(name: str, pattern: str) -> bool:
    if pattern.endswith("/*"):
        return name.startswith(pattern[:-1]) and "/" not in name[len(pattern) - 1 :]
    return name == pattern


def vendor(dest: Path = VENDOR) -> dict:
    """Download the pinned packages with ``npm pack`` and copy the needed files to ``dest``."""
    if shutil.which("npm") is None:
        raise SystemExit("npm not found: vendoring needs Node.js/npm (the app itself does not)")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    manifest = {"resources": RESOURCES, "dropped": list(DROPPED), "packages": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for spec, info in PACKAGES.items():
            out = (
                subprocess.run(
                    ["npm", "pack", spec, "--silent", "--pack-destination", tmp],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            data = (Path(tmp) / out).read_bytes()
            copied = []
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
                for member in tar.getmembers():
                    if not member.isfile():
                        continue
                    inner = member.name.split("/", 1)[1]  # strip "package/"
                    if any(_matches(inner, p) for p in info["files"]):
                        target = dest / info["dir"] / inner
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(tar.extractfile(member).read())
                        copied.append(inner)
            missing = [p for p in info["files"] if not any(_matches(c, p) for c in copied)]
            if missing:
                raise SystemExit(f"{spec}: files not found in the package: {missing}")
            manifest["packages"][spec] = {"dir": info["dir"], "licence": info["licence"], "files": sorted(copied)}
    for name, rel in RESOURCES.items():
        if not (dest / rel).is_file():
            raise SystemExit(f"resource {name}: {rel} missing")
    (dest / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return manifest


def main() -> int:
    """Vendor everything; print what was copied."""
    manifest = vendor()
    for spec, info in manifest["packages"].items():
        print(f"{spec:40s} {len(info['files']):3d} files  ({info['licence']})")
    print(f"-> {VENDOR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
