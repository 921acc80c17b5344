"""Writing files so that a failure never leaves half of one behind."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_file(target: Path, mode: int = 0o644) -> Iterator[Path]:
    """A temporary path next to `target` that becomes `target` only if the block completes.

    `mode`: what the course writes is for every reader, except what holds secrets (0o600)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f"{target.name}.", suffix=".part")
    os.close(fd)
    part = Path(name)
    try:
        yield part
        os.chmod(part, mode)  # mkstemp makes the file private
        os.replace(part, target)  # atomic on one file system, hence the temporary file in the same folder
    finally:
        part.unlink(missing_ok=True)
