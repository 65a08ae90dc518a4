"""HTTP Range requests for attachments (RFC 9110 §14): what part of a file to serve.

Browsers' media elements ask for `Range: bytes=0-` and then for the part they seek to; a
server that answers 206 lets them seek and show a duration before the whole file arrived.
Only one range is served: a request for several (`bytes=0-1,5-9`), a malformed one, a unit
other than bytes, or one with `If-Range` (nothing here can check a validator) gets the
whole file with 200, which the RFC allows. A range that starts past the end is 416.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SPEC = re.compile(r"^bytes=(\d{0,19})-(\d{0,19})$")


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Bytes `start` to `end` inclusive of a file of `size` bytes."""

    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end}/{self.size}"


class Unsatisfiable(Exception):
    """The range lies wholly outside the file (answered 416 with `bytes */size`)."""


def requested_range(header: str | None, *, size: int, if_range: str | None) -> ByteRange | None:
    """The single range to serve, None for the whole file, or raise `Unsatisfiable`."""
    if header is None or if_range is not None:
        return None
    match = _SPEC.match(header.strip().replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # a suffix: the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            raise Unsatisfiable
        return ByteRange(start=max(0, size - n), end=size - 1, size=size)
    start = int(first)
    if last and int(last) < start:
        return None  # invalid syntax: ignored
    if start >= size:
        raise Unsatisfiable
    end = int(last) if last else size - 1
    return ByteRange(start=start, end=min(end, size - 1), size=size)
