"""The course's command line, called by the Makefile: `python -m coursekit COMMAND`."""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import subprocess
import sys
import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import Any

from coursekit import before_prefect, config, console, course
from coursekit.services import lifecycle, server


def cmd_server(_: argparse.Namespace) -> None:
    server.ensure_running()


def cmd_facts(_: argparse.Namespace) -> None:
    from coursekit.services import facts_api

    url = facts_api.ensure_running()
    console.ok(f"Local facts API up at {url} (try {url}/cat/fact); lesson 1's scripts read it from COURSE_FACTS_URL")


def cmd_s3(_: argparse.Namespace) -> None:
    from coursekit.services import s3

    settings = s3.settings()
    if not settings.local:
        console.say(f"COURSE_S3_ENDPOINT_URL points at {settings.where}: no local endpoint needed.")
        return
    s3.ensure_local_endpoint()
    s3.ensure_bucket(settings)
    console.ok(f"Local S3 endpoint up at {settings.endpoint_url}, bucket {settings.bucket!r}")


def cmd_smtp(_: argparse.Namespace) -> None:
    from coursekit.services import smtp

    settings = smtp.settings()
    if not settings.local:
        console.say(f"COURSE_SMTP_SERVER points at {settings.where}: no local mail server needed.")
        return
    smtp.ensure_local_server()
    console.ok(f"Local SMTP server up at {settings.where}; mail it receives goes to {config.shown(smtp.mail_dir())}")


def cmd_mlflow(_: argparse.Namespace) -> None:
    from coursekit.services import tracking

    cfg = config.current()
    if not tracking.uses_own_server():
        console.say(f"MLFLOW_TRACKING_URI points at {cfg.tracking_uri}: no local tracking server needed.")
        return
    url = tracking.ensure_running()
    console.ok(f"MLflow tracking server up at {url}: open it for the experiment nyc-taxi-experiment")


def cmd_worker(args: argparse.Namespace) -> None:
    """A worker for one of the course's pools, in the background until `make stop`: a process worker, or a
    Docker worker for lesson 3's Docker pool (the worker's type must match its pool's)."""
    from coursekit.services import containers, workers

    server.ensure_running(quiet=True)
    worker_type = "docker" if args.pool == containers.POOL else "process"
    if worker_type == "docker":
        containers.require_image()
    workers.ensure_pool(args.pool, pool_type=worker_type)
    name = workers.service_name(args.pool)
    already = lifecycle.status(name) is not None
    if not already:
        workers.start_worker(args.pool, worker_type=worker_type)
    console.ok(
        f"Worker {name} {'was already polling' if already else 'polls'} work pool {args.pool!r} in the background "
        f"(log: {config.shown(config.current().log_dir / (name + '.log'))}). `make stop` stops it."
    )


def cmd_image(_: argparse.Namespace) -> None:
    """`make image`: lesson 3's image for the Docker work pool, built unless it is up to date."""
    from coursekit.services import containers

    built = containers.ensure_image()
    console.say(f"Base image: {built.base} ({built.base_came})")
    done = "Built" if built.fresh else "Up to date:"
    console.ok(
        f"{done} {built.reference}, tagged {containers.IMAGE}:latest (the image the taxi-docker deployment runs)"
    )


def cmd_ui(_: argparse.Namespace) -> None:
    cfg = config.current()
    if not server.healthy(cfg.api_url):
        console.warn(f"The Prefect server is not running; start it with `make server`, then open {cfg.ui_url}")
        return
    console.say(f"Prefect UI: {cfg.ui_url}")
    if shutil.which("xdg-open") or sys.platform == "darwin":
        webbrowser.open(cfg.ui_url)


def cmd_empty_database(_: argparse.Namespace) -> None:
    made = server.make_empty_database()
    console.ok(f"Empty Prefect database migrated once, for every new course server: {config.shown(made)}")


def cmd_status(_: argparse.Namespace) -> None:
    run_dir = config.current().run_dir
    names = sorted(p.stem for p in run_dir.glob("*.json")) if run_dir.is_dir() else []
    alive = [r for r in map(lifecycle.status, names) if r is not None]
    if not alive:
        console.say("No course process is running.")
    for r in alive:
        port = f" on port {r.port}" if r.port else ""
        console.say(f"{r.name:<20} pid {r.pid}{port}  log: {r.log}")


def cmd_stop(_: argparse.Namespace) -> None:
    run_dir = config.current().run_dir
    names = sorted(p.stem for p in run_dir.glob("*.json")) if run_dir.is_dir() else []
    others = [name for name in names if name != server.NAME]
    busy_workers = [name for name in others if name.startswith("worker-") and lifecycle.descendant_pids([name])]
    marked = 0
    if busy_workers:  # a worker is running a flow: it stops, and its run is marked Crashed (this imports Prefect)
        from coursekit.services import workers

        stopped, marked = workers.stop_leaving_no_run_running(busy_workers)
    else:
        stopped = []
    stopped += lifecycle.stop_many([name for name in others if name not in busy_workers])
    # Lesson 3's containers: finished ones are kept for `docker ps -a` until now; a running one's run is marked.
    from coursekit.services import containers

    removed, crashed = containers.stop_course_containers()
    if removed:
        stopped.append(f"{len(removed)} container(s) of the Docker work pool")
    marked += len(crashed)
    stopped += lifecycle.stop_many([name for name in names if name == server.NAME])  # last: workers report to it
    console.ok(f"Stopped: {', '.join(stopped)}" if stopped else "Nothing was running.")
    if marked:
        console.warn(f"{marked} flow run(s) were still running: each is now Crashed, with `make stop` as the reason.")


def cmd_stage(args: argparse.Namespace) -> None:
    from coursekit.cli import stages  # imports Prefect (seconds); the service commands stay fast without it

    stages.stop_on_ctrl_c()
    try:
        stages.run_stage(args.number)
    except stages.StageFailed as exc:
        raise SystemExit(f"✗ {exc}") from None
    except (KeyboardInterrupt, stages.Interrupted):
        stages.send_what_prefect_holds()
        console.fail(
            f"Stopped by Ctrl-C in stage {args.number}: its workers are stopped; the server and the other services "
            f"keep running (`make status`; `make stop` ends them). `make stage-{args.number}` runs it again."
        )
        raise SystemExit(130) from None


def cmd_bench(args: argparse.Namespace) -> None:
    from coursekit.maintainer import (
        bench,  # imports Prefect: only after main() has pointed the environment at the course
    )

    bench.main(only=args.only)


def cmd_tour(_: argparse.Namespace) -> None:
    server.ensure_running(wait=False)  # it boots while the stage runners import Prefect and scikit-learn
    from coursekit.services import tracking

    if tracking.uses_own_server():
        tracking.ensure_running(wait=False)  # and MLflow's, for stage 2, while stage 1 runs
    from coursekit.cli import stages

    stages.stop_on_ctrl_c()
    try:
        stages.tour()
    except stages.StageFailed as exc:
        raise SystemExit(f"✗ {exc}") from None
    except (KeyboardInterrupt, stages.Interrupted) as exc:
        where = f" in stage {exc.args[0]}" if exc.args else ""
        stages.send_what_prefect_holds()
        console.fail(
            f"Stopped by Ctrl-C{where}. The server and the course's services keep running (`make status` lists "
            "them; `make stop` ends them). `make tour` starts again from stage 1."
        )
        raise SystemExit(130) from None


def cmd_ui_check(_: argparse.Namespace) -> None:
    from coursekit.maintainer import browser  # imports Prefect and Playwright, after main() has set the environment

    browser.main_check()


def cmd_screenshots(_: argparse.Namespace) -> None:
    from coursekit.maintainer import browser, walkthrough

    browser.main_screenshots()
    walkthrough.main(keep_screenshots=True)


def cmd_ui_walkthrough(_: argparse.Namespace) -> None:
    from coursekit.maintainer import walkthrough  # imports Prefect and Playwright, after main() has set the environment

    walkthrough.main(keep_screenshots=False)


def cmd_check(args: argparse.Namespace) -> None:
    """Run a stage's exercise tests against the learner's own files, on the running course server."""
    try:
        stage = course.stage(args.number)
    except course.NoSuchStage as exc:
        raise SystemExit(f"✗ {exc}") from None
    test_file = stage.exercise_tests
    if not test_file.exists():
        with_exercises = [str(s.number) for s in course.STAGES if s.exercise_tests.exists()]
        raise SystemExit(
            f"✗ Stage {args.number} has no exercises (yet); the stages with exercises: {', '.join(with_exercises)}"
        )
    server.ensure_running(quiet=True)
    console.step(f"Checking your exercises in {stage.folder}/exercises/")
    if not _check(stage):
        raise SystemExit(1)


def _check(stage: course.Stage, only: str | None = None) -> bool:
    """The stage's exercise tests on the learner's files (one exercise with `only`); True if all pass."""
    run_dir = config.current().run_dir
    running_before = {p.stem for p in run_dir.glob("*.json")} if run_dir.is_dir() else set()
    command = [sys.executable, "-m", "pytest", str(stage.exercise_tests), "--exercises=learner", "-q", "--no-header"]
    command += ["-p", "no:cacheprovider", "--tb=no", "-rN", *([f"--only-exercise={only}"] if only else [])]
    done = subprocess.run(command, cwd=config.REPO_ROOT, env={**os.environ, "COURSE_TEST_USE_RUNNING_SERVER": "1"})
    # A check may start a worker to run an exercise's deployment: leave running only what was running.
    if run_dir.is_dir():
        lifecycle.stop_many(sorted({p.stem for p in run_dir.glob("*.json")} - running_before))
    return done.returncode == 0


def cmd_hint(args: argparse.Namespace) -> None:
    """`make hint N=2-3`: the next hint for stage 2's third exercise (the first, then both)."""
    from coursekit import exercises

    try:
        exercise = exercises.find(args.ref)
    except exercises.NoSuchExercise as exc:
        raise SystemExit(f"✗ {exc}") from None
    console.say(f"{exercise.ref} {exercise.name}: {exercise.goal}")
    hints = exercises.ask_hint(exercise)
    for level, hint in enumerate(hints, start=1):
        console.say(f"  hint {level}: {hint}")
    if len(hints) == len(exercise.hints):
        console.say(f"  (no more hints; the reference solution: {exercise.solution.relative_to(config.REPO_ROOT)})")


def cmd_progress(_: argparse.Namespace) -> None:
    from coursekit import exercises

    for line in exercises.progress_lines():
        console.say(line)


def _only(file: Path) -> Callable[[Any, str], bool]:
    """A watchfiles filter that lets through the changes of one file only."""
    return lambda _change, path: path == str(file)


def cmd_watch(_: argparse.Namespace) -> None:
    """`make watch`: check the first exercise not done yet each time its file is saved; move on once it passes."""
    from watchfiles import watch

    from coursekit import exercises

    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, even when started in the background
    server.ensure_running(quiet=True)
    try:
        while (current := next((e for e in exercises.every() if not exercises.is_done(e)), None)) is not None:
            console.step(f"Exercise {current.ref}: {config.shown(current.file)}")
            console.say(f"  goal: {current.goal}")
            checked = current.file.read_bytes()
            if _check(current.stage, only=current.name):
                console.ok(f"{current.ref} {current.name} passes: on to the next one.")
                continue
            console.say(f"Edit {config.shown(current.file)} and save it: it is checked again (Ctrl-C stops).")
            # One save (or several within the debounce) is one new check. The folder is watched, not the file:
            # editors that save by writing a new file and renaming it over the old one are seen too. The first
            # timeout comes once the watcher is in place: a save made while the check ran is caught then.
            for changes in watch(
                current.file.parent,
                watch_filter=_only(current.file),
                debounce=400,
                rust_timeout=500,
                yield_on_timeout=True,
            ):
                if changes or current.file.read_bytes() != checked:
                    break
    except KeyboardInterrupt:
        console.say(
            "Stopped watching. `make watch` goes on from the first exercise not done; `make progress` lists them."
        )
        return
    console.ok("Every exercise is done. `make progress` shows them all.")


def cmd_env(_: argparse.Namespace) -> None:
    """Shell exports that point a learner's shell at the course: eval "$(make -s env)"."""
    for name, value in config.current().prefect_env().items():
        print(f"export {name}={shlex.quote(value)}")
    print(f'export PATH={shlex.quote(str(Path(sys.executable).parent))}:"$PATH"')
    print(before_prefect.shell_guard(sys.executable))  # the videos' names (main-flow/...) get the course's


def main(argv: list[str] | None = None) -> int:
    config.apply_to_environment()
    parser = argparse.ArgumentParser(prog="python -m coursekit")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("env", help="print shell exports for the course server").set_defaults(func=cmd_env)
    sub.add_parser("server", help="start the local Prefect server").set_defaults(func=cmd_server)
    sub.add_parser("facts", help="start lesson 1's flaky facts API").set_defaults(func=cmd_facts)
    sub.add_parser("s3", help="start the local S3-compatible endpoint").set_defaults(func=cmd_s3)
    sub.add_parser("smtp", help="start lesson 5's local SMTP server").set_defaults(func=cmd_smtp)
    sub.add_parser("mlflow", help="start lesson 2's MLflow tracking server").set_defaults(func=cmd_mlflow)
    worker = sub.add_parser("worker", help="a worker for a course pool, in the background")
    worker.add_argument("--pool", default="course-pool")
    worker.set_defaults(func=cmd_worker)
    sub.add_parser("image", help="build lesson 3's image for the Docker work pool").set_defaults(func=cmd_image)
    sub.add_parser("ui", help="print (and open) the UI address").set_defaults(func=cmd_ui)
    empty = sub.add_parser("empty-database", help="migrate the empty database new servers start from (make setup)")
    empty.set_defaults(func=cmd_empty_database)
    sub.add_parser("status", help="list running course processes").set_defaults(func=cmd_status)
    sub.add_parser("stop", help="stop every process the course started").set_defaults(func=cmd_stop)
    stage = sub.add_parser("stage", help="run one lesson")
    stage.add_argument("number", type=int)
    stage.set_defaults(func=cmd_stage)
    bench = sub.add_parser("bench", help="speed and accuracy figures")
    bench.add_argument("--only", choices=["tour"], help="only the whole tour from cold (for repeated timings)")
    bench.set_defaults(func=cmd_bench)
    sub.add_parser("tour", help="run every stage in order, then a summary").set_defaults(func=cmd_tour)
    ui_check = sub.add_parser("ui-check", help="check in Chromium that the UI shows what the API says")
    ui_check.set_defaults(func=cmd_ui_check)
    sub.add_parser("screenshots", help="the UI checks and the walkthrough, saving docs/screenshots/").set_defaults(
        func=cmd_screenshots
    )
    walk = sub.add_parser("ui-walkthrough", help="the lessons' UI steps done in Chromium, each checked on the server")
    walk.set_defaults(func=cmd_ui_walkthrough)
    hint = sub.add_parser("hint", help="the next hint of one exercise: hint 2-3")
    hint.add_argument("ref", help="STAGE-NUMBER, e.g. 2-3 for stage 2's third exercise")
    hint.set_defaults(func=cmd_hint)
    sub.add_parser("progress", help="every exercise, done or not").set_defaults(func=cmd_progress)
    sub.add_parser("watch", help="check the current exercise on every save").set_defaults(func=cmd_watch)
    check = sub.add_parser("check", help="check your exercises of one stage")
    check.add_argument("number", type=int)
    check.set_defaults(func=cmd_check)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except lifecycle.ServiceError as exc:
        console.fail(str(exc))
        return 1
    except KeyboardInterrupt:  # a second Ctrl-C, while the first one's clean-up runs, or any other command
        console.fail("Stopped by Ctrl-C. `make status` lists what is still running; `make stop` ends it.")
        return 130
    return 0
