"""Work pools and process workers for lessons 3 to 5, started in the background and stopped again."""

from __future__ import annotations

import re
import subprocess

from prefect import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectNotFound

from coursekit import config, console, services
from coursekit.server import prefect_executable


def ensure_pool(name: str, *, pool_type: str = "process", concurrency_limit: int | None = None) -> None:
    """Create the work pool unless it exists (idempotent); set or clear its concurrency limit."""
    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=name, type=pool_type, concurrency_limit=concurrency_limit))
            console.ok(f"Created work pool {name!r} (type {pool_type})")
            return
        if pool.type != pool_type:
            raise services.ServiceError(
                f"Work pool {name!r} exists with type {pool.type!r}, not {pool_type!r}. A worker's type must match "
                f"its pool's type. Delete the pool (prefect work-pool delete {name}) and run again."
            )
        if pool.concurrency_limit != concurrency_limit:
            from prefect.client.schemas.actions import WorkPoolUpdate

            client.update_work_pool(name, WorkPoolUpdate(concurrency_limit=concurrency_limit))


def service_name(pool: str, index: int = 1) -> str:
    return f"worker-{pool}-{index}"


def start_worker(
    pool: str, index: int = 1, *, env: dict[str, str] | None = None, limit: int | None = None
) -> services.Running:
    """`prefect worker start -p POOL --type process` in the background; returns once it polls the pool."""
    return start_workers(pool, count=1, first=index, env=env, limit=limit)[0]


def start_workers(
    pool: str, count: int, *, first: int = 1, env: dict[str, str] | None = None, limit: int | None = None
) -> list[services.Running]:
    """Several workers on one pool, started together (each takes seconds to import Prefect).

    `limit` caps the runs each worker has in flight (`--limit`), so a worker leaves the rest to the others.
    """
    started = []
    for index in range(first, first + count):
        name = service_name(pool, index)
        running = services.status(name)
        if running is None:
            command = [prefect_executable(), "worker", "start", "--pool", pool, "--type", "process", "--name", name]
            if limit is not None:
                command += ["--limit", str(limit)]
            running = services.start(name, command, env=env, cwd=config.REPO_ROOT)
        started.append(running)
    for running in started:
        services.wait_until(
            running,
            lambda running=running: "started!" in running.log.read_text(errors="replace"),
            what=f"Starting worker {running.name} on pool {pool!r}",
            timeout=60,
        )
    return started


def stop_worker(pool: str, index: int = 1) -> bool:
    return services.stop(service_name(pool, index))


def run_deployment_cli(deployment: str, *params: str, timeout: float = 600) -> str:
    """`prefect deployment run DEPLOYMENT --param k=v --watch`, printed and streamed; returns the flow run id."""
    command = [prefect_executable(), "deployment", "run", deployment, *[f"--param={p}" for p in params], "--watch"]
    console.step(" ".join(["prefect", *command[1:]]))
    done = subprocess.run(command, cwd=config.REPO_ROOT, capture_output=True, text=True, timeout=timeout)
    print(done.stdout[-3000:], end="", flush=True)
    match = re.search(r"UUID:\s*([0-9a-f-]{36})", done.stdout)
    if match is None:
        raise services.ServiceError(f"`prefect deployment run {deployment}` did not create a flow run:\n{done.stderr}")
    return match.group(1)
