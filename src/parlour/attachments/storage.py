"""Where attachment bytes live: a small interface and the local-filesystem backend.

The interface is what an S3-compatible backend implements too: `put` stores bytes under a new
random key and returns it, `open` streams them back in chunks, `delete` forgets them (missing
is fine). Keys are random (never the uploader's file name), so a name can neither escape the
folder nor collide, and nothing on disk tells what a file was called.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Protocol

CHUNK = 64 * 1024
_KEY = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{32}$")


class StorageError(Exception):
    """The backend could not store, read or delete."""


class Storage(Protocol):
    async def put(self, data: bytes) -> str: ...

    # inbox: `start`/`length` serve a byte range (media elements seek with Range requests).
    def open(
        self, key: str, *, start: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]: ...

    async def delete(self, key: str) -> None: ...


def new_key() -> str:
    """A random key; the first two hex digits fan files out over 256 folders."""
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token}"


class LocalStorage:
    """Files under one folder (by default DATA_DIR/attachments), written atomically: to a
    temporary file in the same folder, fsynced, then renamed into place, so a reader never
    sees half a file and a crash leaves at most a stray `.tmp`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        # Keys are ours, but a stored key is still checked before it becomes a path.
        if not _KEY.match(key):
            raise StorageError(f"invalid storage key {key!r}")
        return self.root / key

    async def put(self, data: bytes) -> str:
        key = new_key()
        await asyncio.to_thread(self._write, self._path(key), data)
        return key

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

    async def open(
        self, key: str, *, start: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except OSError as exc:
            raise StorageError(f"cannot read {key}") from exc
        try:
            if start:
                await asyncio.to_thread(handle.seek, start)
            left = length
            while left is None or left > 0:
                want = CHUNK if left is None else min(CHUNK, left)
                chunk = await asyncio.to_thread(handle.read, want)
                if not chunk:
                    break
                if left is not None:
                    left -= len(chunk)
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(path.unlink)

    def keys(self) -> Iterator[str]:
        """Every stored key (tests and housekeeping)."""
        if not self.root.exists():
            return
        for path in sorted(self.root.glob("*/*")):
            if not path.name.startswith("."):
                yield f"{path.parent.name}/{path.name}"


def local_storage(root: Path) -> LocalStorage:
    return LocalStorage(root)
