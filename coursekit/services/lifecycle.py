"""Background processes the course starts, and stops again: the Prefect server, workers, helper endpoints.

`ensure(Service(...))` is the one routine every service goes through: find it running (on the port asked
for), refuse a stranger holding that port with a message that says which variable moves the course
elsewhere, start it, and wait until it answers. The services differ only in their command and in how
they tell that they are ready.

Each one is started in its own process group and recorded in a pid file under `.course/run/`, with the
process's start time. `stop` only signals a process whose pid *and* start time still match, so a pid
that the system has reused for somebody else's program is never touched: `make stop` ends what the course
started and nothing else.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests

from coursekit import config, console


class ServiceError(RuntimeError):
    """A service could not be started; the message says why and what to do."""


@dataclass
class Running:
    name: str
    pid: int
    port: int | None
    log: Path
    log_start: int = 0  # where this start's lines begin: the log is appended to across starts
    fresh: bool = False  # started by this call to `ensure`, not found running

    def new_log(self) -> str:
        """What this process has logged since it was started (not what earlier starts wrote)."""
        try:
            with self.log.open("rb") as f:
                f.seek(self.log_start)
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def answers(url: str, timeout: float = 2) -> bool:
    """True when GET `url` answers 200: how the course tells that a service it started is ready."""
    try:
        return requests.get(url, timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def throwaway_course(state_dir: Path) -> dict[str, str]:
    """The variables of a course of its own: state, data and models under `state_dir`, and free ports.

    The tests and `make bench` run such a course beside the learner's, whose server and files stay as they are.
    """
    return {
        "MLFLOW_TRACKING_URI": "",  # not the learner's tracking server: the throw-away course's own
        "COURSE_STATE_DIR": str(state_dir),
        "COURSE_DATA_DIR": str(state_dir / "data"),
        "COURSE_MODELS_DIR": str(state_dir / "models"),
        **{
            variable: str(free_port())
            for variable in (
                "COURSE_SERVER_PORT",
                "COURSE_FACTS_PORT",
                "COURSE_S3_PORT",
                "COURSE_SMTP_PORT",
                "COURSE_POSTGRES_PORT",
                "COURSE_MLFLOW_PORT",
            )
        },
    }


@dataclass(frozen=True)
class Service:
    """A background service of the course: what `ensure` needs to find, start and wait for it."""

    name: str  # its pid file and log: .course/run/NAME.json, .course/logs/NAME.log
    what: str  # for messages: "the local S3 endpoint"
    host: str
    port: int
    port_variable: str  # the variable that moves it: COURSE_S3_PORT
    command: list[str]
    ready: Callable[[], bool]  # True once it answers (health URL, SMTP greeting, pg_isready)
    env: dict[str, str] | None = None
    cwd: Path | None = None
    user: str | None = None
    timeout: float = 90
    stranger_hint: str = ""  # said when another program holds the port (e.g. "another Prefect server?")
    prepare: Callable[[], None] | None = None  # run once before a start (folders, a database cluster)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def ensure(service: Service, *, restart: bool = False, wait: bool = True) -> Running:
    """Start `service` unless it is up already; return it once it answers (idempotent).

    `restart` stops a running one first (a fresh facts API restarts its seeded failures); `wait=False`
    returns as soon as the process is started, so that it boots while the caller does other work.
    """
    if restart:
        stop(service.name)
    running = status_on_port(service.name, service.port, service.port_variable)
    if running is not None and service.ready():
        return running
    if running is None and port_in_use(service.host, service.port):
        raise ServiceError(
            f"Port {service.port} on {service.host} is in use by a program this course did not start"
            f"{f' ({service.stranger_hint})' if service.stranger_hint else ''}, so {service.what} cannot start "
            f"there. Stop that program, or move the course: export {service.port_variable}={service.port + 1}"
        )
    if running is None:
        if service.prepare is not None:
            service.prepare()
        running = start(
            service.name,
            service.command,
            port=service.port,
            env=service.env,
            cwd=service.cwd,
            user=service.user,
        )
        running.fresh = True
    if wait:
        wait_until(
            running,
            service.ready,
            what=f"Starting {service.what} on {service.where} (log: {config.shown(running.log)})",
            timeout=service.timeout,
        )
    return running


def _pidfile(name: str) -> Path:
    return config.current().run_dir / f"{name}.json"


def as_user(user: str | None) -> dict:
    """subprocess keyword arguments that run a command as `user`, with that user's group and no other."""
    if user is None:
        return {}
    return {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []}


def _alive(record: dict) -> psutil.Process | None:
    try:
        proc = psutil.Process(record["pid"])
        if abs(proc.create_time() - record["create_time"]) > 0.01 or proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc
    except (psutil.NoSuchProcess, psutil.AccessDenied, KeyError):
        return None


def status(name: str) -> Running | None:
    """The running service called `name`, or None (a stale pid file is removed)."""
    path = _pidfile(name)
    try:
        record = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if _alive(record) is None:
        path.unlink(missing_ok=True)
        return None
    return Running(name, record["pid"], record.get("port"), Path(record["log"]))


def status_on_port(name: str, port: int, variable: str) -> Running | None:
    """Like `status`, but a service of the course running on another port than asked is an error.

    Otherwise a changed port (COURSE_*_PORT) would wait for ever on a port nothing listens on.
    """
    running = status(name)
    if running is not None and running.port is not None and running.port != port:
        raise ServiceError(
            f"The course's {name} is already running on port {running.port}, but {variable} asks for {port}. "
            f"Stop it first with `make stop`, or set {variable}={running.port}."
        )
    return running


def start(
    name: str,
    command: list[str],
    *,
    port: int | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> Running:
    """Start `command` in the background, logging to `.course/logs/<name>.log`.

    `user`: run it as that system user (only root can): PostgreSQL, for one, refuses to run as root.
    """
    cfg = config.current()
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    cfg.log_dir.mkdir(parents=True, exist_ok=True)
    log = cfg.log_dir / f"{name}.log"
    with log.open("ab") as out:
        log_start = out.tell()
        proc = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,  # its own process group: stop() ends its children too
            preexec_fn=_default_signals,
            **as_user(user),
        )
    record = {
        "pid": proc.pid,
        "create_time": psutil.Process(proc.pid).create_time(),
        "port": port,
        "log": str(log),
        "command": command,
    }
    tmp = _pidfile(name).with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    tmp.replace(_pidfile(name))
    return Running(name, proc.pid, port, log, log_start)


def _default_signals() -> None:
    """In the child, before it runs: SIGINT and SIGQUIT back to their defaults.

    A command started in the background by a non-interactive shell (`make tour &`, nohup, CI) and pytest's
    xdist workers ignore SIGINT, and a child inherits that. Prefect's worker turns SIGTERM into a SIGINT to
    itself: ignored, it would never stop, and stop() would wait for the whole grace period, then kill it.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def wait_until(
    running: Running,
    ready: Callable[[], bool],
    *,
    what: str,
    timeout: float = 90,
) -> float:
    """Poll `ready` with a dot a second; fail with the end of the service's log if it dies or times out."""
    with console.waiting(what) as progress:
        while progress.elapsed < timeout:
            if ready():
                progress.done()
                return progress.elapsed
            if status(running.name) is None:
                raise ServiceError(f"{running.name} exited while starting.\n{log_tail(running.log)}")
            time.sleep(0.25)
            progress.tick()
    stop(running.name)
    raise ServiceError(f"{running.name} did not become ready in {timeout:.0f} s.\n{log_tail(running.log)}")


def log_tail(log: Path, lines: int = 15) -> str:
    try:
        tail = log.read_text(errors="replace").splitlines()[-lines:]
    except FileNotFoundError:
        return "(no log was written)"
    return f"Last lines of {log}:\n" + "\n".join(f"    {line}" for line in tail)


def stop(name: str, *, timeout: float = 10) -> bool:
    """Stop the service's whole process group. Returns False if it was not running."""
    return name in stop_many([name], timeout=timeout)


def stop_many(names: list[str], *, timeout: float = 10) -> list[str]:
    """Stop several services at once: all are signalled, then all get the same grace period, so that
    stopping three workers takes as long as stopping one. Returns the names that were running."""
    stopped, family = [], list[psutil.Process]()
    for name in names:
        path = _pidfile(name)
        try:
            record = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            path.unlink(missing_ok=True)
            continue
        proc = _alive(record)
        if proc is not None:
            # The process group, and every descendant found before signalling: a worker starts each flow
            # run in a process group of its own, which a signal to the worker's group would not reach.
            members = _group_members(proc)
            _signal_group(proc.pid, signal.SIGTERM)
            for member in members[1:]:
                with contextlib.suppress(psutil.Error):
                    member.terminate()
            family += members
            stopped.append(name)
    _, alive = psutil.wait_procs(family, timeout=timeout)
    for member in alive:
        with contextlib.suppress(psutil.Error):
            member.kill()
    psutil.wait_procs(alive, timeout=5)
    for name in names:
        _pidfile(name).unlink(missing_ok=True)
    return stopped


def descendant_pids(names: list[str]) -> set[int]:
    """The pids of every process below the named running services (a worker's flow-run processes)."""
    pids: set[int] = set()
    for name in names:
        running = status(name)
        if running is not None:
            with contextlib.suppress(psutil.Error):
                pids |= {child.pid for child in psutil.Process(running.pid).children(recursive=True)}
    return pids


def _group_members(leader: psutil.Process) -> list[psutil.Process]:
    members = [leader]
    with contextlib.suppress(psutil.NoSuchProcess):
        members += leader.children(recursive=True)
    return members


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop_all(last: tuple[str, ...] = ()) -> list[str]:
    """Stop every service the course started (by its pid files): all at once, except the services named
    in `last`, which stop afterwards (the server: workers report to it as they stop)."""
    run_dir = config.current().run_dir
    if not run_dir.is_dir():
        return []
    names = sorted(p.stem for p in run_dir.glob("*.json"))
    first = stop_many([n for n in names if n not in last])
    return first + stop_many([n for n in names if n in last])
