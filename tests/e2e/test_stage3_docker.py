"""Lesson 3 in containers: `make image`, a Docker work pool and worker, and the same flow run as a process.

Real Docker: the daemon of the machine (CI starts one: .ci/run), the image that `make image` builds
(offline: a base made from Debian's packages when no registry answers), containers on the host network.
Without a daemon these tests skip, saying why, except under CI, where they fail.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

import psutil
import pytest
from prefect import get_client
from prefect.deployments import run_deployment

from coursekit import runs
from coursekit.config import REPO_ROOT
from coursekit.services import containers, lifecycle, workers
from tests.support.deployments import wait_final
from tests.support.run import output, prefect, process_group, run, shell

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]

MISMATCH = (
    "Worker type mismatch! This worker process expects type 'process' but received 'docker' from the server. "
    "Unexpected behavior may occur."
)  # Prefect's own words, quoted in 03_deploy_local/README.md


@pytest.fixture(scope="module")
def docker_daemon() -> None:
    why_not = containers.daemon_answers()
    if why_not:
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"CI must run the Docker tests: {why_not}")
        pytest.skip(why_not)


@pytest.fixture(scope="module")
def image(docker_daemon: None) -> containers.Built:
    return containers.ensure_image()


@pytest.fixture(scope="module")
def deployed(image: containers.Built) -> None:
    workers.ensure_pool("course-pool")
    workers.ensure_pool(containers.POOL, pool_type="docker")
    for name in ("taxi-docker", "taxi-default"):
        done = prefect("--no-prompt", "deploy", "--prefect-file", "03_deploy_local/prefect.yaml", "--name", name)
        assert done.returncode == 0, output(done)


@pytest.mark.readme("make image")
def test_make_image_builds_nothing_when_nothing_changed_and_the_image_holds_the_locked_packages(image):
    again = run("python", "-m", "coursekit", "image")
    assert again.returncode == 0, output(again)
    assert f"Up to date: {image.reference}, tagged course-flows:latest" in again.stdout, output(again)
    assert f"Base image: {image.base} (" in again.stdout

    docker_client = containers.client()
    built = docker_client.images.get("course-flows:latest")
    assert built.id == docker_client.images.get(image.reference).id
    assert built.labels["org.prefect-course.image"] == "course-flows"
    versions = docker_client.containers.run(
        "course-flows:latest",
        ["python", "-c", "import prefect, prefect_docker, sklearn; print(prefect.__version__, sklearn.__version__)"],
        remove=True,
        network_mode="none",
    ).decode()
    import prefect
    import sklearn

    assert versions.split() == [prefect.__version__, sklearn.__version__]  # the lock's versions, as in .venv


def test_the_image_requirements_are_the_lock_lines_that_apply_to_the_image_python():
    lock = (REPO_ROOT / "requirements" / "course.lock").read_text()
    on_debian = {"python_full_version": "3.11.2", "python_version": "3.11", "sys_platform": "linux"}
    on_debian |= {"platform_system": "Linux", "platform_machine": "x86_64", "implementation_name": "cpython"}
    on_debian |= {"os_name": "posix", "platform_python_implementation": "CPython"}
    newer = on_debian | {"python_full_version": "3.11.7"}
    kept = containers.image_requirements(lock, on_debian)
    assert "async-timeout==5.0.1 \\" in kept  # only below Python 3.11.3: Debian bookworm's 3.11.2 needs it
    assert "async-timeout" not in containers.image_requirements(lock, newer)
    assert ";" not in "".join(line for line in kept.splitlines() if not line.lstrip().startswith("#"))
    assert kept.count("--hash=sha256:") >= lock.count("\nprefect==")  # every kept line keeps its hashes


def test_the_same_flow_runs_in_a_container_on_the_docker_pool_and_as_a_process_on_the_process_pool(
    deployed, course_worker
):
    workers.start_worker(containers.POOL, worker_type="docker")
    try:
        in_docker = run_deployment("taxi-training/taxi-docker", timeout=0)
        as_process = run_deployment("taxi-training/taxi-default", timeout=0)
        finished = {name: wait_final(r.id, timeout=300) for name, r in (("docker", in_docker), ("process", as_process))}
    finally:
        workers.stop_worker(containers.POOL)
    assert {name: r.state_name for name, r in finished.items()} == {"docker": "Completed", "process": "Completed"}

    docker_line = next(m for m in runs.log_messages(in_docker.id) if m.startswith("Running in "))
    process_line = next(m for m in runs.log_messages(as_process.id) if m.startswith("Running in "))
    assert re.fullmatch(r"Running in process \d+ on host .+", process_line), process_line
    container_id = re.fullmatch(r"Running in Docker container ([0-9a-f]{12}) on host .+", docker_line).group(1)

    # That container is the course's, kept after the run for `docker ps -a`, and ran this run of this image.
    docker_client = containers.client()
    ours = {c.id[:12]: c for c in containers.course_containers(docker_client)}
    assert container_id in ours, (container_id, list(ours))
    container = ours[container_id]
    assert container.labels[containers.RUN_LABEL] == str(in_docker.id)
    assert container.attrs["State"]["Status"] == "exited" and container.attrs["State"]["ExitCode"] == 0
    assert container.attrs["HostConfig"]["NetworkMode"] == "host"
    assert container.image.id == docker_client.images.get("course-flows:latest").id
    # The run's report artifact says where it ran.
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(limit=100)
    reports = [a for a in artifacts if a.flow_run_id == in_docker.id and a.key == "taxi-model-report"]
    assert len(reports) == 1 and f"Ran in: Docker container {container_id}" in str(reports[0].data)

    # `make stop` removes the course's containers (the function it calls; the command also stops the server).
    removed, crashed = containers.stop_course_containers()
    assert container.name in removed and crashed == []
    assert containers.course_containers(docker_client) == []


BY_HAND = [
    "make image",
    "prefect work-pool create course-docker --type docker --overwrite",
    "prefect worker start --pool course-docker --type docker",
    "prefect deployment run 'taxi-training/taxi-docker' --watch",
    "docker ps -a",
]


@pytest.mark.readme(
    "prefect work-pool create course-docker --type docker --overwrite",
    "prefect worker start --pool course-docker --type docker",
    "prefect deployment run 'taxi-training/taxi-docker' --watch",
    "docker ps -a",
    because="typed as the lesson shows them (BY_HAND), the worker in the background",
)
def test_the_docker_commands_of_the_lesson_typed_by_hand_run_the_flow_in_a_container(deployed, tmp_path):
    image, create, worker, run_it, listed = BY_HAND
    typed = shell(
        f"""set -e
        eval "$(make -s env)"
        {image}
        {create}
        set -m  # the worker in a process group of its own, as the second shell would have it; Ctrl-C ends it there
        {worker} > {tmp_path}/worker.log 2>&1 &
        worker=$!
        echo "worker group $worker"
        # Ctrl-C, and a second one if the worker is still there after 20 s, as 03_deploy_local/README.md says:
        # Prefect's Docker worker now and then waits on after the first when a run has just ended.
        trap 'kill -INT -- -$worker
              for _ in $(seq 40); do kill -0 $worker 2>/dev/null || break; sleep 0.5; done
              if kill -0 $worker 2>/dev/null; then echo "a second Ctrl-C"; kill -INT -- -$worker; fi
              wait $worker || true' EXIT
        {run_it} > {tmp_path}/run.log 2>&1
        {listed}""",
        timeout=400,
    )
    ran = (tmp_path / "run.log").read_text()
    assert typed.returncode == 0, output(typed) + ran + (tmp_path / "worker.log").read_text()
    group = int(re.search(r"worker group (\d+)", typed.stdout).group(1))
    left = [p for p in psutil.process_iter() if process_group(p.pid) == group]
    gone, alive = psutil.wait_procs(left, timeout=30)
    assert alive == [], f"the worker typed by hand outlived Ctrl-C: {[p.cmdline() for p in alive]}"
    assert "Flow run finished successfully in 'Completed'." in ran
    name = re.search(r"Created flow run '([\w-]+)'", ran).group(1)
    container = next(line for line in typed.stdout.splitlines() if line.rstrip().endswith(f" {name}"))
    assert "course-flows:latest" in container and "Exited (0)" in container, typed.stdout
    containers.stop_course_containers()


def test_a_process_worker_on_the_docker_pool_gets_prefects_type_mismatch_warning(deployed):
    name = "worker-mismatch"
    started = lifecycle.start(
        name,
        [os.path.join(os.path.dirname(sys.executable), "prefect")]
        + ["worker", "start", "--pool", containers.POOL, "--type", "process", "--name", name],
        cwd=REPO_ROOT,
    )
    try:
        lifecycle.wait_until(started, lambda: MISMATCH in started.new_log(), what="the mismatch warning", timeout=60)
    finally:
        lifecycle.stop(name)


def test_a_missing_image_crashes_the_run_with_a_state_message_that_names_it(deployed):
    workers.start_worker(containers.POOL, worker_type="docker")
    try:
        flow_run = run_deployment(
            "taxi-training/taxi-docker", timeout=0, job_variables={"image": "course-flows:no-such-tag"}
        )
        finished = wait_final(flow_run.id, timeout=120)
    finally:
        workers.stop_worker(containers.POOL)
    assert finished.state_name == "Crashed"
    assert "course-flows:no-such-tag" in finished.state.message, finished.state.message


def test_a_container_that_cannot_reach_the_server_says_so_in_one_line_and_the_run_crashes_with_its_exit_code(deployed):
    workers.start_worker(containers.POOL, worker_type="docker")
    try:
        # network_mode none: the container's 127.0.0.1 is its own, as on a bridge network, with no server on it.
        flow_run = run_deployment("taxi-training/taxi-docker", timeout=0, job_variables={"network_mode": "none"})
        finished = wait_final(flow_run.id, timeout=180)
    finally:
        workers.stop_worker(containers.POOL)
    assert finished.state_name == "Crashed"
    assert finished.state.message == (
        "Flow run infrastructure exited with non-zero status code 3. Process exited with an unexpected status code."
    ), finished.state

    docker_client = containers.client()
    (container,) = [
        c for c in containers.course_containers(docker_client) if c.labels[containers.RUN_LABEL] == str(flow_run.id)
    ]
    assert container.attrs["HostConfig"]["NetworkMode"] == "none"
    # Off the host network, Prefect's worker gives the container host.docker.internal for 127.0.0.1.
    (api_url,) = [e.split("=", 1)[1] for e in container.attrs["Config"]["Env"] if e.startswith("PREFECT_API_URL=")]
    assert api_url == os.environ["PREFECT_API_URL"].replace("127.0.0.1", "host.docker.internal")
    logged = container.logs().decode().strip().splitlines()
    assert len(logged) == 1, logged
    said = re.fullmatch(
        re.escape(f"✗ This container cannot reach the Prefect server at {api_url} (")
        + r"(?P<reason>[^)]+)"
        + re.escape(
            "). The course's server listens on your machine's 127.0.0.1 only, which a container reaches on the host "
            "network alone: run it with network_mode: host (the course_docker job variables in "
            "03_deploy_local/prefect.yaml do), and start the server with `make server`."
        ),
        logged[0],
    )
    assert said and said["reason"], logged[0]
    containers.stop_course_containers()


def test_make_worker_for_the_docker_pool_refuses_to_start_without_the_image(deployed, monkeypatch):
    from coursekit.cli import main

    monkeypatch.setattr(containers, "IMAGE", "course-flows-never-built")
    with pytest.raises(lifecycle.ServiceError) as refused:
        main.cmd_worker(argparse.Namespace(pool=containers.POOL))
    assert str(refused.value) == (
        "There is no image course-flows-never-built:latest on this machine, and every run on 'course-docker' "
        "starts in it: build it with `make image` (minutes, once)."
    )
    assert lifecycle.status(workers.service_name(containers.POOL)) is None  # no worker was started


@pytest.mark.parametrize("command", [["-m", "coursekit", "image"]])
def test_without_a_daemon_make_image_says_how_to_start_or_install_docker(command, tmp_path):
    nowhere = f"unix://{tmp_path}/docker.sock"
    done = run("python", *command, env={"DOCKER_HOST": nowhere})
    assert done.returncode == 1, output(done)
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert lines == [
        f"✗ No Docker daemon answers at {nowhere}: start Docker (Docker Desktop, or `sudo systemctl start docker`); "
        "on Debian or Ubuntu, `sudo apt-get install docker.io` installs it."
    ], output(done)


def test_without_a_daemon_stage_3_skips_the_docker_part_in_one_line(monkeypatch, tmp_path, capsys):
    from coursekit.cli.stages import stage3

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/docker.sock")
    assert stage3.docker_part() is False
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and printed[0].startswith("! Skipped the Docker part of this lesson (taxi-docker): No "), (
        printed
    )
