"""The entrypoint of lesson 3's image: reach the Prefect server first, then run the container's command.

Prefect's Docker worker starts each run's container with the command that loads and executes the flow run,
and that command needs the server at PREFECT_API_URL. The course's server listens on the machine's 127.0.0.1,
which only a container on the host network shares (on another network Prefect's worker points the container
at host.docker.internal, where nothing of the course listens); the command would then fail after a long
traceback and the run would end only "Crashed ... exited with non-zero status code 1". This module says
what is wrong in one line first, and the container exits with UNREACHABLE, which the worker puts in the
run's state message.

Standard library only: it runs before anything else in the container, and must start fast.
"""

from __future__ import annotations

import base64
import os
import sys
import time
import urllib.error
import urllib.request

UNREACHABLE = 3  # the container's exit code when the server does not answer
ATTEMPTS = 3  # a busy server can take seconds to answer: a few tries before giving up
PAUSE_SECONDS = 2.0
TIMEOUT_SECONDS = 10.0


def why_unreachable(api_url: str) -> str | None:
    """None when the server at api_url answers (any HTTP status counts); otherwise the reason, in words."""
    request = urllib.request.Request(api_url.rstrip("/") + "/health")
    auth = os.environ.get("PREFECT_API_AUTH_STRING")
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    reason = ""
    for attempt in range(ATTEMPTS):
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS):
                return None
        except urllib.error.HTTPError:
            return None  # it answered: the command's own client deals with what it said
        except (urllib.error.URLError, OSError) as error:
            reason = str(getattr(error, "reason", error))
        if attempt < ATTEMPTS - 1:
            time.sleep(PAUSE_SECONDS)
    return reason


def message(api_url: str, reason: str) -> str:
    return (
        f"✗ This container cannot reach the Prefect server at {api_url} ({reason}). The course's server listens "
        "on your machine's 127.0.0.1 only, which a container reaches on the host network alone: run it with "
        "network_mode: host (the course_docker job variables in 03_deploy_local/prefect.yaml do), and start the "
        "server with `make server`."
    )


def main(command: list[str]) -> int:
    api_url = os.environ.get("PREFECT_API_URL", "")
    if api_url:  # set by the worker; `docker run course-flows python` without it skips the check
        reason = why_unreachable(api_url)
        if reason is not None:
            print(message(api_url, reason), file=sys.stderr, flush=True)
            return UNREACHABLE
    command = command or ["python"]
    os.execvp(command[0], command)  # replaces this process: the command gets the signals and the exit code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
