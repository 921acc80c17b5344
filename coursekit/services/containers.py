"""Lesson 3's containers: the course's image (`make image`), built without a network inside the build, and the
course's containers, which `make stop` ends.

The image is 03_deploy_local/Dockerfile over a base image given as its BASE argument:

- `python:3.11-slim-bookworm`, the usual Python base image, when the Docker daemon has it or can pull it;
- otherwise `course-base:bookworm`, built here from Debian's packages (debootstrap into a folder, then
  `docker import`), for machines that reach no image registry (CI, this course's offline default);
- or the image COURSE_DOCKER_BASE names.

The locked packages go into the image from a wheelhouse made on this machine from requirements/course.lock,
with hashes and no index, so the build itself needs no network. Which lines of the lock apply is decided by
the base image's own Python (one lock line applies only below Python 3.11.3, and Debian's is 3.11.2). The
image is tagged with a digest of everything it copies (Dockerfile, requirements, base, course files): when
none of them changed, `make image` builds nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from coursekit import config, console
from coursekit.config import REPO_ROOT
from coursekit.services.lifecycle import ServiceError

IMAGE = "course-flows"  # the deployment's image: course-flows:latest, and course-flows:<digest> beside it
DOCKERFILE = REPO_ROOT / "03_deploy_local" / "Dockerfile"
USUAL_BASE = "python:3.11-slim-bookworm"
OWN_BASE = "course-base:bookworm"  # made from Debian's packages when no registry answers
POOL = "course-docker"
# Set on each container by the deployment's job variables: `make stop` ends this course's containers only.
STATE_LABEL = "org.prefect-course.state-dir"
RUN_LABEL = "io.prefect.flow-run-id"  # set by Prefect's Docker worker
# The wheelhouse beside the environment it mirrors: every course in this clone (the tests' too) shares it.
WHEELS = Path(sys.prefix) / "course" / "wheels"
BUILD_LOCK = Path(sys.prefix) / "course" / "image.lock"  # one build at a time: two would race on WHEELS

# What Python's packaging library calls the marker environment, printed by the base image's own Python.
MARKER_ENVIRONMENT = """
import json, os, platform, sys
v = sys.implementation.version
iver = f"{v.major}.{v.minor}.{v.micro}" + ("" if v.releaselevel == "final" else v.releaselevel[0] + str(v.serial))
print(json.dumps({
    "implementation_name": sys.implementation.name, "implementation_version": iver, "os_name": os.name,
    "platform_machine": platform.machine(), "platform_release": platform.release(),
    "platform_system": platform.system(), "platform_version": platform.version(),
    "python_full_version": platform.python_version(),
    "platform_python_implementation": platform.python_implementation(),
    "python_version": ".".join(platform.python_version_tuple()[:2]), "sys_platform": sys.platform,
}))
"""


def docker_host() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def no_daemon(error: Exception | str) -> str:
    """One line: why no Docker daemon answered, and what to do."""
    if "Permission denied" in str(error):
        return (
            f"Docker's socket at {docker_host()} refuses you: add yourself to the docker group "
            "(`sudo usermod -aG docker $USER`, then log in again)."
        )
    return (
        f"No Docker daemon answers at {docker_host()}: start Docker (Docker Desktop, or `sudo systemctl start "
        "docker`); on Debian or Ubuntu, `sudo apt-get install docker.io` installs it."
    )


def client() -> Any:
    """A client of the Docker daemon that answers, or a ServiceError that says what to do."""
    import docker

    try:
        docker_client = docker.from_env(timeout=120)
        docker_client.ping()
    except docker.errors.DockerException as error:
        raise ServiceError(no_daemon(error)) from None
    return docker_client


def daemon_answers() -> str | None:
    """None when a Docker daemon answers; otherwise the one line that says why not."""
    try:
        client().close()
    except ServiceError as error:
        return str(error)
    return None


# --- the base image --------------------------------------------------------------------------------------


def _has_image(docker_client: Any, reference: str) -> bool:
    import docker

    try:
        docker_client.images.get(reference)
    except docker.errors.ImageNotFound:
        return False
    return True


def base_image(docker_client: Any) -> tuple[str, str]:
    """The base image to build on, and where it came from."""
    import docker

    named = os.environ.get("COURSE_DOCKER_BASE", "").strip()
    reference = named or USUAL_BASE
    if _has_image(docker_client, reference):
        return reference, "on this machine already"
    try:
        docker_client.images.pull(reference)  # "repository:tag"; docker's client splits it
        return reference, "pulled from its registry"
    except docker.errors.APIError as error:
        if named:
            raise ServiceError(
                f"COURSE_DOCKER_BASE={named!r}: Docker has no such image and cannot pull it "
                f"({error.explanation or error}). Name an image that `docker images` lists, or unset it."
            ) from None
    if _has_image(docker_client, OWN_BASE):
        return OWN_BASE, f"built earlier from Debian's packages, as {USUAL_BASE} could not be pulled"
    build_own_base()
    return OWN_BASE, f"built just now from Debian's packages, as no registry answers to pull {USUAL_BASE}"


def debian_mirror() -> str:
    """The Debian mirror apt uses on this machine (deb822 sources first), or Debian's own."""
    for sources in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:") and "security" not in line:
                return line.split(None, 1)[1].split()[0]
    listing = Path("/etc/apt/sources.list")
    for line in listing.read_text().splitlines() if listing.exists() else []:
        fields = line.split()
        if len(fields) > 2 and fields[0] == "deb" and "security" not in line:
            return fields[1]
    return "http://deb.debian.org/debian"


def build_own_base() -> None:
    """Debian bookworm with its Python 3.11, from Debian's packages: debootstrap into a folder, `docker import`."""
    if os.geteuid() != 0 or not shutil.which("debootstrap"):
        raise ServiceError(
            f"Docker cannot pull {USUAL_BASE} (no image registry answers), and building a base image from "
            "Debian's packages needs root and debootstrap (`sudo apt-get install debootstrap`, then `sudo make "
            "image`). Or set COURSE_DOCKER_BASE to a Python 3.11 image that `docker images` lists."
        )
    root = config.current().state_dir / "docker" / "base-root"  # only while it is imported
    shutil.rmtree(root, ignore_errors=True)
    root.parent.mkdir(parents=True, exist_ok=True)
    mirror = debian_mirror()
    with console.waiting(f"No registry answers: building {OWN_BASE} from Debian's packages ({mirror})"):
        done = subprocess.run(
            ["debootstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates", "bookworm"]
            + [str(root), mirror],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            shutil.rmtree(root, ignore_errors=True)
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ServiceError(f"debootstrap could not build the base image from {mirror}: {last[0]}")
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (root / cache).glob("*"):
                if path.is_file():
                    path.unlink()
        imported = subprocess.run(
            f"tar -C {root} -c . | docker import -c 'ENV LANG=C.UTF-8' -m 'Debian bookworm from debootstrap' "
            f"- {OWN_BASE}",
            shell=True,
            capture_output=True,
            text=True,
        )
    shutil.rmtree(root, ignore_errors=True)
    if imported.returncode != 0:
        raise ServiceError(f"`docker import` of the Debian root failed: {imported.stderr.strip()[-300:]}")
    console.ok(f"Built {OWN_BASE} from Debian's packages")


# --- the wheelhouse ----------------------------------------------------------------------------------------


def marker_environment(docker_client: Any, base: str) -> dict[str, str]:
    output = docker_client.containers.run(base, ["python3", "-c", MARKER_ENVIRONMENT], remove=True, network_mode="none")
    return json.loads(output)


def image_requirements(lock: str, environment: dict[str, str]) -> str:
    """The lock's entries that apply in `environment`, without their markers (pip decides nothing more)."""
    from packaging.markers import Marker

    entries: list[list[str]] = []
    for line in lock.splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            entries.append([line])
        elif entries:
            entries[-1].append(line)
    kept = []
    for first, *rest in entries:
        requirement, _, marker = first.rstrip(" \\").partition(";")
        if marker.strip() and not Marker(marker.strip()).evaluate(environment):
            continue
        kept.append("\n".join([requirement.strip() + " \\", *rest]))
    return "\n".join(kept) + "\n"


def wheelhouse(requirements: str, folder: Path) -> None:
    """The wheels of `requirements`, downloaded once (again only when they change), hashes checked."""
    stamp = folder / ".requirements"
    if stamp.exists() and stamp.read_text() == requirements:
        return
    folder.mkdir(parents=True, exist_ok=True)
    listed = folder.parent / "image-requirements.txt"
    listed.write_text(requirements)
    with console.waiting(f"Downloading the locked wheels for the image into {config.shown(folder)}"):
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes"]
            + ["--only-binary", ":all:", "-r", str(listed), "-d", str(folder)],
            capture_output=True,
            text=True,
        )
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")] or ["(no ERROR line)"]
        raise ServiceError(f"Could not download the image's wheels: {errors[-1]}")
    stamp.write_text(requirements)


# --- the image ---------------------------------------------------------------------------------------------


COPIED = ("coursekit/", "01_", "02_", "03_", "04_", "05_", "pyproject.toml")  # what a flow run can need


def course_files() -> list[Path]:
    """The files the image copies: the shared package and the lessons, as git tracks or would track them
    (your edits included, nothing it ignores). Not the tests, docs or reference solutions."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    names = [name for name in listed.split("\0") if name.startswith(COPIED)]
    return sorted(Path(name) for name in names if (REPO_ROOT / name).is_file())


def digest(base_id: str, requirements: str, files: list[Path]) -> str:
    sha = hashlib.sha256()
    for part in (base_id, requirements, DOCKERFILE.read_text()):
        sha.update(part.encode() + b"\0")
    for name in files:
        sha.update(str(name).encode() + b"\0" + (REPO_ROOT / name).read_bytes() + b"\0")
    return sha.hexdigest()[:12]


@dataclass
class Built:
    reference: str  # course-flows:<digest>
    base: str
    base_came: str  # where the base came from
    fresh: bool  # built by this call, not found up to date


def ensure_image() -> Built:
    """`make image`: build course-flows unless an image of exactly these inputs exists; tag it :latest."""
    docker_client = client()
    BUILD_LOCK.parent.mkdir(parents=True, exist_ok=True)
    with BUILD_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _ensure_image(docker_client)


def require_image() -> None:
    """Before a Docker worker starts: the image its runs start in exists, or one line says to build it."""
    if not _has_image(client(), f"{IMAGE}:latest"):
        raise ServiceError(
            f"There is no image {IMAGE}:latest on this machine, and every run on {POOL!r} starts in it: "
            "build it with `make image` (minutes, once)."
        )


def _ensure_image(docker_client: Any) -> Built:
    base, came = base_image(docker_client)
    requirements = image_requirements(
        (REPO_ROOT / "requirements" / "course.lock").read_text(), marker_environment(docker_client, base)
    )
    files = course_files()
    tag = digest(docker_client.images.get(base).id, requirements, files)
    reference = f"{IMAGE}:{tag}"
    if _has_image(docker_client, reference):
        docker_client.images.get(reference).tag(IMAGE, "latest")
        return Built(reference, base, came, fresh=False)

    wheelhouse(requirements, WHEELS)
    context = config.current().state_dir / "docker" / "context"
    shutil.rmtree(context, ignore_errors=True)
    (context / "course").mkdir(parents=True)
    shutil.copy(DOCKERFILE, context / "Dockerfile")
    shutil.copy(Path(sys.prefix) / "bin" / "uv", context / "uv")  # the installer the Dockerfile runs
    (context / "requirements.txt").write_text(requirements)
    shutil.copytree(WHEELS, context / "wheels", copy_function=_link_or_copy, ignore=shutil.ignore_patterns(".*"))
    for name in files:
        (context / "course" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, context / "course" / name)
    log = config.current().log_dir / "image-build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out, console.waiting(f"Building {reference} on {base} (log: {config.shown(log)})"):
        for chunk in docker_client.api.build(
            path=str(context),
            tag=reference,
            buildargs={"BASE": base},
            network_mode="none",  # the build needs no network: everything it installs is in the context
            rm=True,
            forcerm=True,
            decode=True,
        ):
            out.write(chunk.get("stream", ""))
            if "error" in chunk:
                out.write(chunk["error"] + "\n")
                raise ServiceError(f"The image build failed: {chunk['error'].strip()} (log: {config.shown(log)})")
    shutil.rmtree(context, ignore_errors=True)
    docker_client.images.get(reference).tag(IMAGE, "latest")
    return Built(reference, base, came, fresh=True)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


# --- the course's containers ------------------------------------------------------------------------------


def course_containers(docker_client: Any) -> list[Any]:
    label = f"{STATE_LABEL}={config.current().state_dir}"
    return docker_client.containers.list(all=True, filters={"label": label})


STOPPED_MESSAGE = (
    "Stopped while running: `make stop` ended its container ({name}) before the run finished. Run it again "
    "once a Docker worker polls its pool (`make stage-3`)."
)


def stop_course_containers() -> tuple[list[str], list[str]]:
    """`make stop`: remove this course's containers, finished or not; a run whose container was still
    running ends Crashed, with the reason. Nothing when no daemon answers. Returns (removed, crashed runs)."""
    import docker

    socket_file = docker_host().removeprefix("unix://")
    if docker_host().startswith("unix://") and not Path(socket_file).exists():
        return [], []
    try:
        docker_client = docker.from_env(timeout=30)
        found = course_containers(docker_client)
    except docker.errors.DockerException:
        return [], []
    removed, interrupted = [], []
    for container in found:
        if container.status == "running":
            interrupted.append((container.labels.get(RUN_LABEL), container.name))
        container.remove(force=True)
        removed.append(container.name)
    if not interrupted:
        return removed, []
    from prefect import get_client

    from coursekit import runs
    from coursekit.services import server

    if not server.healthy(config.current().api_url):  # nobody to tell: the run stays as the server last saw it
        return removed, []
    with get_client(sync_client=True) as prefect_client:
        crashed = [
            run_id
            for run_id, name in interrupted
            if run_id and runs.crash_unless_final(prefect_client, UUID(run_id), STOPPED_MESSAGE.format(name=name))
        ]
    return removed, crashed
