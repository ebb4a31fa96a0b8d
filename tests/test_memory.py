"""geo.memory: freed heap pages go back to the system (glibc), a no-op elsewhere."""

from __future__ import annotations

import numpy as np
import pytest

from geo import memory


def test_release_returns_freed_heap_pages():
    if memory._glibc() is None:
        pytest.skip("not glibc: nothing to release")
    # 2,000 blocks of 100 kB: below glibc's mmap threshold, so they live in the heap.
    blocks = [np.ones(12_500) for _ in range(2_000)]
    assert sum(b.nbytes for b in blocks) == 200_000_000
    del blocks
    assert memory.release() is True


def test_arena_limit_is_taken_by_glibc():
    assert memory.limit_arenas(8) is (memory._glibc() is not None)
