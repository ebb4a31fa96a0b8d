"""Freed memory back to the system, so that a server or a job that has built large arrays stays small.

CPython and the numeric libraries allocate with the C library's ``malloc``.  On Linux (glibc)
every thread that allocates may get its own heap arena, and memory freed inside an arena is
kept by the process; a server whose request threads and warm-up thread each built and dropped
large temporary arrays then holds hundreds of megabytes it no longer uses.  Two remedies, both
no-ops where the C library is not glibc (Windows, macOS, musl):

* :func:`limit_arenas` at start, before any thread: at most two arenas (glibc's default is
  eight per core);
* :func:`release` after large builds: ``malloc_trim(0)`` returns the free pages of every arena.
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["limit_arenas", "release"]

#: ``M_ARENA_MAX`` of glibc's ``mallopt``.
_M_ARENA_MAX = -8


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def limit_arenas(n: int = 2) -> bool:
    """At most ``n`` malloc arenas for this process; True if the C library took it."""
    libc = _glibc()
    return bool(libc is not None and libc.mallopt(_M_ARENA_MAX, n) == 1)


def release() -> bool:
    """Return freed heap memory to the system; True if some was returned."""
    libc = _glibc()
    return bool(libc is not None and libc.malloc_trim(0) == 1)
