"""A throw-away PostgreSQL for the course's server, the database Prefect recommends beyond one machine.

`python -m coursekit.services.postgres` creates a cluster under `.course/postgres` with the PostgreSQL programs
already installed (Debian's `postgresql` package: /usr/lib/postgresql/*/bin), starts it on 127.0.0.1 only,
creates the database `prefect` and prints the COURSE_DATABASE_URL that points the course's server at it.
It runs as a course service, so `make stop` stops it; the data stays until `.course` is removed.

PostgreSQL refuses to run as root: when the course runs as root (a container, CI), the cluster belongs to
the `postgres` system user and the server runs as that user.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit

from coursekit import config, console
from coursekit.services import lifecycle

NAME = "postgres"
HOST = "127.0.0.1"  # never another interface, whatever COURSE_HOST says
SUPERUSER = "postgres"
DATABASE = "prefect"
SYSTEM_USER = "postgres"  # who runs the cluster when the course runs as root
DEBIAN_ROOT = Path("/usr/lib/postgresql")


def home(cfg: config.CourseConfig) -> Path:
    return cfg.state_dir / "postgres"


def data_dir(cfg: config.CourseConfig) -> Path:
    return home(cfg) / "data"


def _password_file(cfg: config.CourseConfig) -> Path:
    return home(cfg) / "password"


def url(cfg: config.CourseConfig) -> str:
    """The SQLAlchemy URL of the course's database, the value for COURSE_DATABASE_URL."""
    password = quote(_password_file(cfg).read_text().strip(), safe="")
    return f"postgresql+asyncpg://{SUPERUSER}:{password}@{HOST}:{cfg.postgres_port}/{DATABASE}"


def hide_password(database_url: str) -> str:
    return re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", database_url)


def find_programs(version: str | None = None) -> Path:
    """The folder with initdb, postgres, pg_isready and psql: Debian's newest (or `version`), else on PATH."""
    candidates = sorted(DEBIAN_ROOT.glob("*/bin"), key=lambda p: _version_key(p.parent.name), reverse=True)
    if version is not None:  # a cluster only starts with the major version that created it
        candidates.sort(key=lambda p: p.parent.name != version)
    on_path = shutil.which("initdb")  # Homebrew, other distributions
    if on_path:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if all((folder / program).exists() for program in ("initdb", "postgres", "pg_isready", "psql")):
            return folder
    raise lifecycle.ServiceError(
        f"PostgreSQL's programs (initdb, postgres, psql) are not installed: none in {DEBIAN_ROOT}/*/bin or on PATH.\n"
        "Install Debian's package:  sudo apt-get install postgresql\n"
        "or point the course's server at a PostgreSQL you already have:\n"
        "    export COURSE_DATABASE_URL=postgresql+asyncpg://USER:PASSWORD@HOST:5432/prefect"
    )


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _runner() -> str | None:
    """The system user to run PostgreSQL as: None (this one) unless the course runs as root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise lifecycle.ServiceError(
            f"PostgreSQL does not run as root, and this machine has no `{SYSTEM_USER}` user to run it as.\n"
            "Install Debian's package (it creates that user):  apt-get install postgresql\n"
            "or run the course as a normal user."
        ) from None
    return SYSTEM_USER


def _init_cluster(programs: Path, cfg: config.CourseConfig, runner: str | None) -> None:
    """initdb once: superuser `postgres` with a random password, password logins only, no locale."""
    data = data_dir(cfg)
    if (data / "PG_VERSION").exists():
        return
    home(cfg).mkdir(parents=True, exist_ok=True)
    if runner is not None and not _reachable(home(cfg), runner):
        raise lifecycle.ServiceError(
            f"PostgreSQL does not run as root, so the course runs it as the `{runner}` user, and that user cannot "
            f"enter {home(cfg)}: a folder above it is private (such as /root).\n"
            "Keep the course's state in a folder every user can enter, for example:\n"
            "    export COURSE_STATE_DIR=/var/tmp/course-state\n"
            "or run the course as a normal user."
        )
    shutil.rmtree(data, ignore_errors=True)  # what a failed initdb left behind
    data.mkdir(mode=0o700)
    secret = secrets.token_urlsafe(18)
    _write_private(_password_file(cfg), secret + "\n")
    # initdb reads the password from a file that its own user can read; this copy is removed right after.
    handed_over = home(cfg) / "initdb-password"
    _write_private(handed_over, secret + "\n")
    if runner is not None:
        owner = pwd.getpwnam(runner)
        for path in (data, handed_over):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    try:
        done = subprocess.run(
            [
                str(programs / "initdb"),
                "--pgdata",
                str(data),
                "--username",
                SUPERUSER,
                f"--pwfile={handed_over}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",  # a throw-away cluster: no waiting for the disk
            ],
            cwd=home(cfg),
            capture_output=True,
            text=True,
            timeout=120,
            **lifecycle.as_user(runner),
        )
    finally:
        handed_over.unlink(missing_ok=True)
    if done.returncode != 0:
        shutil.rmtree(data, ignore_errors=True)
        raise lifecycle.ServiceError(f"initdb could not create the cluster in {data}:\n{done.stdout}{done.stderr}")


def _write_private(path: Path, text: str) -> None:
    """Write a secret to a file only its owner can read, from the first byte."""
    path.unlink(missing_ok=True)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(text)


def _reachable(folder: Path, user: str) -> bool:
    test = shutil.which("test") or "/usr/bin/test"
    return subprocess.run([test, "-x", str(folder)], cwd="/", **lifecycle.as_user(user)).returncode == 0


def _psql(programs: Path, cfg: config.CourseConfig, sql: str, *, database: str = "postgres") -> str:
    env = {**os.environ, "PGPASSWORD": _password_file(cfg).read_text().strip(), "PGCONNECT_TIMEOUT": "5"}
    done = subprocess.run(
        [str(programs / "psql"), "-h", HOST, "-p", str(cfg.postgres_port), "-U", SUPERUSER, "-d", database]
        + ["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    if done.returncode != 0:
        raise lifecycle.ServiceError(f"psql on {HOST}:{cfg.postgres_port} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def query(sql: str, *, database: str = DATABASE) -> str:
    """Run SQL on the course's PostgreSQL; returns psql's unaligned output (for tests and curious learners)."""
    cfg = config.current()
    return _psql(find_programs(_cluster_version(cfg)), cfg, sql, database=database)


def _cluster_version(cfg: config.CourseConfig) -> str | None:
    with contextlib.suppress(OSError):
        return (data_dir(cfg) / "PG_VERSION").read_text().strip()
    return None


def _ready(programs: Path, port: int) -> bool:
    check = [str(programs / "pg_isready"), "-q", "-h", HOST, "-p", str(port), "-t", "2"]
    return subprocess.run(check, capture_output=True, timeout=10).returncode == 0


def ensure_running(*, quiet: bool = False) -> str:
    """Start the course's PostgreSQL unless it is up, with the database `prefect`; return its URL. Idempotent."""
    cfg = config.current()
    programs = find_programs(_cluster_version(cfg))
    runner = _runner()
    command = [str(programs / "postgres"), "-D", str(data_dir(cfg)), "-p", str(cfg.postgres_port), "-h", HOST]
    # No Unix socket: TCP on loopback only, and no socket path to outgrow the 107-character limit.
    command += ["-k", ""]
    lifecycle.ensure(
        lifecycle.Service(
            name=NAME,
            what="the course's PostgreSQL",
            host=HOST,
            port=cfg.postgres_port,
            port_variable="COURSE_POSTGRES_PORT",
            command=command,
            ready=lambda: _ready(programs, cfg.postgres_port),
            cwd=home(cfg),
            user=runner,
            timeout=60,
            stranger_hint=f"a PostgreSQL of your own? Use it with export COURSE_DATABASE_URL="
            f"postgresql+asyncpg://USER:PASSWORD@{HOST}:{cfg.postgres_port}/prefect",
            prepare=lambda: _init_cluster(programs, cfg, runner),
        )
    )
    if _psql(programs, cfg, f"SELECT count(*) FROM pg_database WHERE datname = '{DATABASE}'") == "0":
        _psql(programs, cfg, f"CREATE DATABASE {DATABASE}")
    if not quiet:
        console.ok(f"PostgreSQL up on {HOST}:{cfg.postgres_port}, database {DATABASE!r} (data in {data_dir(cfg)})")
    return url(cfg)


def stop() -> bool:
    return lifecycle.stop(NAME)


def check_database(cfg: config.CourseConfig) -> None:
    """Before the course's server starts on COURSE_DATABASE_URL: start the course's own PostgreSQL if the URL
    names it (it stopped with `make stop`), otherwise check that something answers where the URL points."""
    if not cfg.database_url or not cfg.database_url.startswith("postgresql"):
        return
    where = urlsplit(cfg.database_url)
    host, port = where.hostname or "localhost", where.port or 5432
    if host in (HOST, "localhost") and port == cfg.postgres_port and (data_dir(cfg) / "PG_VERSION").exists():
        ensure_running(quiet=True)
        return
    if not lifecycle.port_in_use(host, port):
        raise lifecycle.ServiceError(
            f"Nothing answers at {host}:{port}, where COURSE_DATABASE_URL points "
            f"({hide_password(cfg.database_url)}).\n"
            "Start that PostgreSQL, or start the course's own with `make postgres` and export the "
            "COURSE_DATABASE_URL it prints, or unset COURSE_DATABASE_URL to keep the server on SQLite."
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursekit.services.postgres", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "action",
        nargs="?",
        default="start",
        choices=["start", "url", "stop"],
        help="start (default): start it and say how to use it; url: start it, print only the URL; stop",
    )
    args = parser.parse_args(argv)
    try:
        if args.action == "stop":
            console.ok("Stopped the course's PostgreSQL." if stop() else "The course's PostgreSQL was not running.")
        elif args.action == "url":
            with contextlib.redirect_stdout(sys.stderr):  # progress on stderr: $(...) captures the URL alone
                database_url = ensure_running(quiet=True)
            print(database_url)
        else:
            database_url = ensure_running()
            console.say("\nPoint the course's Prefect server at it (in every shell you use), then restart the server:")
            console.say(f"    export COURSE_DATABASE_URL={shlex.quote(database_url)}")
            console.say("    make stop && make server")
    except lifecycle.ServiceError as exc:
        console.fail(str(exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
