"""Password hashing with Argon2id, off the event loop.

One Argon2 hash or verification takes tens of milliseconds of CPU and 64 MiB; run on the event
loop, a dozen logins at once stall every WebSocket of the node for a second or more. So both run
in a small dedicated thread pool (argon2-cffi releases the GIL while it works): the loop stays
free, and at most `concurrency` hashes run at once, whatever the number of logins waiting.
On Linux the pool's threads also run at a lower scheduling priority (and so do the threads
Argon2 starts for its lanes, which inherit it): when the cores are busy, the event loop's thread
is served first, and hashing takes the time that is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

DEFAULT_CONCURRENCY = 2
# Added to the hashing threads' nice value (Linux): the event loop's thread wins the CPU.
NICENESS = 10

_hasher = PasswordHasher()
# Verified when the email is unknown, so a login takes as long whether or not the user exists.
_DUMMY_HASH = _hasher.hash("parlour-timing-equaliser")

T = TypeVar("T")

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_concurrency = DEFAULT_CONCURRENCY


def configure(*, concurrency: int) -> None:
    """Set how many hashes may run at once in this process (PARLOUR_PASSWORD_HASH_CONCURRENCY).
    The pool is per process, like the CPU cores it shares out."""
    global _pool, _concurrency
    with _lock:
        if concurrency == _concurrency and _pool is not None:
            return
        old, _pool, _concurrency = _pool, None, max(1, concurrency)
    if old is not None:
        old.shutdown(wait=False)  # work already queued there still runs


def _lower_priority() -> None:
    # Linux schedules threads individually and lets a thread renice itself by its id; elsewhere
    # PRIO_PROCESS would renice the whole process, so leave it.
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + NICENESS)


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=_concurrency, thread_name_prefix="argon2", initializer=_lower_priority
            )
        return _pool


async def _off_loop(work: Callable[[], T]) -> T:
    return await asyncio.get_running_loop().run_in_executor(_executor(), work)


def hash_password_sync(password: str) -> str:
    return _hasher.hash(password)


def verify_password_sync(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; always spends one verification's time."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    """The Argon2id hash of `password`, computed off the event loop."""
    return await _off_loop(lambda: hash_password_sync(password))


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches `password_hash` (computed off the event loop; an unknown
    user, `password_hash` None, costs the same as a known one)."""
    return await _off_loop(lambda: verify_password_sync(password_hash, password))
