"""Work pools and process workers for lessons 3 to 5, started in the background and stopped again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from prefect import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectNotFound

from coursekit import config, console
from coursekit.services import lifecycle
from coursekit.services.server import prefect_executable


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
            raise lifecycle.ServiceError(
                f"Work pool {name!r} exists with type {pool.type!r}, not {pool_type!r}. A worker's type must match "
                f"its pool's type. Delete the pool (prefect work-pool delete {name}) and run again."
            )
        if pool.concurrency_limit != concurrency_limit:
            from prefect.client.schemas.actions import WorkPoolUpdate

            client.update_work_pool(name, WorkPoolUpdate(concurrency_limit=concurrency_limit))


def service_name(pool: str, index: int = 1) -> str:
    return f"worker-{pool}-{index}"


def start_worker(
    pool: str,
    index: int = 1,
    *,
    env: dict[str, str] | None = None,
    limit: int | None = None,
    worker_type: str = "process",
) -> lifecycle.Running:
    """`prefect worker start -p POOL --type TYPE` in the background; returns once it polls the pool."""
    return start_workers(pool, count=1, first=index, env=env, limit=limit, worker_type=worker_type)[0]


def start_workers(
    pool: str,
    count: int,
    *,
    first: int = 1,
    env: dict[str, str] | None = None,
    limit: int | None = None,
    wait: bool = True,
    worker_type: str = "process",
) -> list[lifecycle.Running]:
    """Several workers on one pool, started together (each takes seconds to import Prefect).

    `limit` caps the runs each worker has in flight (`--limit`), so a worker leaves the rest to the others.
    """
    started = []
    for index in range(first, first + count):
        name = service_name(pool, index)
        running = lifecycle.status(name)
        if running is None:
            command = [prefect_executable(), "worker", "start", "--pool", pool, "--type", worker_type, "--name", name]
            if limit is not None:
                command += ["--limit", str(limit)]
            running = lifecycle.start(name, command, env=env, cwd=config.REPO_ROOT)
        started.append(running)
    for running in started if wait else ():
        lifecycle.wait_until(
            running,
            partial(_has_started, running),
            what=f"Starting worker {running.name} on pool {pool!r}",
            timeout=60,
        )
    return started


def _has_started(running: lifecycle.Running) -> bool:
    return "started!" in running.new_log()


def stop_worker(pool: str, index: int = 1) -> bool:
    return lifecycle.stop(service_name(pool, index))


@contextmanager
def running(
    pool: str, count: int = 1, *, limit: int | None = None, wait: bool = True, worker_type: str = "process"
) -> Iterator[None]:
    """`count` workers on `pool` for the length of a block. Workers that were running already (the tour
    starts them early, so their start-up overlaps the first lessons) are left running afterwards.
    `wait=False` goes on while they start."""
    names = [service_name(pool, index) for index in range(1, count + 1)]
    already = {name for name in names if lifecycle.status(name) is not None}
    start_workers(pool, count=count, limit=limit, wait=wait, worker_type=worker_type)
    try:
        yield
    finally:
        lifecycle.stop_many([name for name in names if name not in already])


STOPPED_WHILE_RUNNING = (
    "Stopped while running: `make stop` ended the worker and this run's process ({pid}) before the run finished. "
    "Run it again once a worker polls its pool (`make worker`)."
)


def stop_leaving_no_run_running(names: list[str]) -> tuple[list[str], int]:
    """Stop the named services; a flow run whose process one of them had started ends Crashed, with the reason.

    Killed with its worker, a run's process sends no final state, and the server would show the run Running
    for good (before its first heartbeat, not even Prefect's zombie automation would ever see it). The runs
    are found before the processes stop (their infrastructure pid is a process below a service), and marked
    once they are gone. Returns the services stopped and the number of runs marked.
    """
    pids = lifecycle.descendant_pids(names)
    if not pids:
        return lifecycle.stop_many(names), 0
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    from coursekit import runs
    from coursekit.services import server

    if not server.healthy(config.current().api_url):
        return lifecycle.stop_many(names), 0
    unfinished = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING, StateType.PENDING]))
    )
    with get_client(sync_client=True) as client:
        started_here = [
            (run, pid)
            for run in client.read_flow_runs(flow_run_filter=unfinished, limit=200)
            if (pid := _pid_of(run.infrastructure_pid)) in pids
        ]
        stopped = lifecycle.stop_many(names)
        marked = sum(
            runs.crash_unless_final(client, run.id, STOPPED_WHILE_RUNNING.format(pid=pid)) for run, pid in started_here
        )
    return stopped, marked


def _pid_of(infrastructure_pid: str | None) -> int | None:
    """A process worker records the pid it started, as "PID" or "HOST:PID" depending on Prefect's version."""
    tail = (infrastructure_pid or "").rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None
