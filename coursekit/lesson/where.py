"""Where a flow run's code is running: in a Docker container (its id) or as a process on this machine.

Lesson 3 runs the same deployment on two work pools; the training flow logs this line so that its logs
and its report show which infrastructure ran it.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

# Docker mounts /etc/hostname from its folder of the container: /var/lib/docker/containers/<id>/hostname.
CONTAINER_MOUNT = re.compile(r"/containers/([0-9a-f]{64})/")


def container_id() -> str | None:
    """The id of the Docker container this process runs in, or None outside one.

    Read from the container's own mounts, not from /.dockerenv: a machine that is itself a container of
    some other kind may have that file, and its processes are still processes on that machine.
    """
    try:
        found = CONTAINER_MOUNT.search(Path("/proc/self/mountinfo").read_text())
    except OSError:
        return None
    return found.group(1) if found else None


def where_this_runs() -> str:
    """'Docker container 3f2a1b4c5d6e on host HOST', or 'process 1234 on host HOST'."""
    host = socket.gethostname()
    container = container_id()
    if container:
        return f"Docker container {container[:12]} on host {host}"
    return f"process {os.getpid()} on host {host}"
