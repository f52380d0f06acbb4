"""Keep a server process's memory flat after password hashing.

Each argon2id computation allocates one block of `argon2_memory_kib` (19 MiB
by default). glibc serves a block that large with mmap and returns it on free
— but after the first such free it raises its mmap threshold to the block's
size (the "dynamic threshold"), so every later block comes from a thread's
heap arena and stays resident: a worker that hashed a few passwords on a few
threads keeps tens of MB it no longer uses (bench/results.md, "Memory").
Pinning the threshold at 128 KiB switches the dynamic raise off: large blocks
always go back to the system when freed. Other allocators and platforms are
left alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

logger = logging.getLogger("authgate")

M_MMAP_THRESHOLD = -3  # glibc malloc.h
MMAP_THRESHOLD_BYTES = 128 * 1024


def release_large_blocks() -> bool:
    """Pin glibc's mmap threshold (idempotent); returns whether it was set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    if mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) != 1:
        logger.debug("mallopt(M_MMAP_THRESHOLD) refused")
        return False
    return True
