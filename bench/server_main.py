"""`parlour serve`, with the message writer's per-batch debug line written to stderr.

The benchmark starts the server through this module so it can count the writer's batches from
the log; everything else is exactly `parlour serve` (uvicorn, one process).
"""

from __future__ import annotations

import logging
import sys

from parlour.cli import app

# "<unix time> <size>" per committed batch; parsed by bench.server.batch_sizes.
BATCH_FORMAT = "%(created).6f batch %(message)s"


def main() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(BATCH_FORMAT))
    writer_log = logging.getLogger("parlour.messages.writer")
    writer_log.addHandler(handler)
    writer_log.setLevel(logging.DEBUG)
    writer_log.propagate = False
    app(["serve", *sys.argv[1:]])


if __name__ == "__main__":
    main()
