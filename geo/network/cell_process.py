"""Street cells built in a process of their own.

Building the cells of a county takes gigabytes for a minute or two, most of it
temporary arrays; in the process that asked for them, that memory stays (the C
library keeps freed heap pages) and adds to whatever the process holds already:
the network, the walking times, a server's layers.  Built in a spawned child, the
peak is the child's alone and goes back to the system when it ends; the parent
receives only the finished arrays, through ``.npy`` files in a temporary folder.

The child's own tiles are built by its worker pool as usual
(:func:`geo.network.cell_voronoi.tile_rings`); its progress comes back through a
queue.  Where a child cannot be spawned (a main script without a ``__main__``
guard, which a spawned process would run again) or fails, the caller builds in
its own process: :func:`build_apart` then returns ``None``.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import shutil
import tempfile
import weakref
from collections.abc import Callable
from pathlib import Path

import numpy as np

from geo.network.cell_voronoi import _main_module_guarded
from geo.network.street_cells import StreetCells, build_from_coordinates, edge_coordinates

__all__ = ["build_apart"]

logger = logging.getLogger(__name__)

#: Seconds between looks at a child that sends nothing (is it still alive?).
POLL_S = 0.5
#: Seconds a child that has written its cells gets to exit before it is stopped.
EXIT_WAIT_S = 30.0


def build_apart(
    edge_geometry: np.ndarray,
    *,
    width_m: float,
    spacing_m: float,
    workers: int = 1,
    edges: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> StreetCells | None:
    """:func:`geo.network.street_cells.build_street_cells` in a spawned process.

    Parameters are those of ``build_street_cells``.  Returns the same cells (read
    back whole into this process's memory), or ``None`` if no child could be
    spawned or the child failed; the caller then builds here.

    Raises
    ------
    ValueError
        As ``build_street_cells``, for bad edge geometry.
    """
    if not _main_module_guarded():
        return None
    coords, vertex_edge = edge_coordinates(edge_geometry)  # bad input raises here, in the caller
    with tempfile.TemporaryDirectory(prefix="linli-cells-") as folder:
        inputs, out = Path(folder) / "in", Path(folder) / "out"
        inputs.mkdir()
        np.save(inputs / "coords.npy", coords)
        np.save(inputs / "vertex_edge.npy", vertex_edge)
        if edges is not None:
            np.save(inputs / "edges.npy", np.asarray(edges, dtype=np.int64))
        del coords, vertex_edge
        context = multiprocessing.get_context("spawn")
        messages = context.Queue()
        child = context.Process(
            target=_child,
            args=(str(inputs), str(out), float(width_m), float(spacing_m), int(workers), messages),
            name="linli-street-cells",
        )
        try:
            child.start()
        except OSError as exc:
            logger.warning("街道单元 (street cells): no child process (%s); building here", exc)
            return None
        done = False
        try:
            done = _follow(child, messages, progress)
            child.join(EXIT_WAIT_S)  # the arrays are written once it says done
        finally:
            if child.is_alive():
                child.terminate()
                child.join()
        if not done:
            logger.warning("街道单元 (street cells): the child process failed (exit %s); building here", child.exitcode)
            return None
        kept = Path(tempfile.mkdtemp(prefix="linli-cells-"))
        out.rename(kept / "cells")
    arrays = {f.stem: np.load(f, mmap_mode="r", allow_pickle=False) for f in (kept / "cells").glob("*.npy")}
    cells = StreetCells.from_arrays(arrays)
    weakref.finalize(cells, shutil.rmtree, kept, True)
    return cells


def _follow(child, messages, progress: Callable[[int, int], None] | None) -> bool:
    """Relay the child's progress until it says done (True) or dies (False)."""
    while True:
        try:
            message = messages.get(timeout=POLL_S)
        except queue.Empty:
            if not child.is_alive():
                return False
            continue
        if message[0] == "done":
            return True
        if message[0] == "progress" and progress is not None:
            progress(message[1], message[2])


def _child(inputs: str, out: str, width_m: float, spacing_m: float, workers: int, messages) -> None:
    """The spawned process: read the edges, build, write every array of the cells."""
    folder = Path(inputs)
    edges_path = folder / "edges.npy"
    cells = build_from_coordinates(
        np.load(folder / "coords.npy"),
        np.load(folder / "vertex_edge.npy"),
        width_m=width_m,
        spacing_m=spacing_m,
        workers=workers,
        edges=np.load(edges_path) if edges_path.is_file() else None,
        progress=lambda done, total: messages.put(("progress", done, total)),
    )
    target = Path(out)
    target.mkdir()
    for name, array in cells.to_arrays().items():
        np.save(target / f"{name}.npy", array, allow_pickle=False)
    messages.put(("done",))
