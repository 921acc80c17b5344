"""`make bench`: the course's speed and accuracy figures, measured on this machine.

1. The taxi pipeline's compute alone (no Prefect): validation RMSE and seconds per step, median of
   several repetitions, for train 2023-01 / validation 2023-02.
2. The whole training flow as a learner runs it (`python 02_workflow/orchestrate.py`) against the
   running course server: once with the cache refreshed, once served from it.
3. Load: 30 runs of one deployment submitted at once to a pool with two workers, drained (runs per minute).
4. The whole tour (`make tour`) from cold, as on a fresh clone after `make setup`: a throw-away course
   (its own state and data folders, free ports) whose server starts from nothing. Target: < 3 minutes.
   Stage 3 runs its Docker part when a daemon answers; the figure says whether it did, and whether the
   image had to be built first.

Figures go to the terminal and to .course/bench.json. `python -m coursekit bench --only tour` measures
the tour alone (into .course/bench-tour.json), for repeated timings.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from coursekit import config, console, runs
from coursekit.lesson import taxi
from coursekit.lesson.lessons import lesson_module
from coursekit.lesson.timing import Stopwatch
from coursekit.services import lifecycle, server

TRAIN, VAL = "2023-01", "2023-02"
REPEATS = 5


def compute() -> dict:
    # The lesson's own functions, without Prefect: `.fn` is the plain function under each @task.
    pipeline = lesson_module("02_workflow/orchestrate.py")
    prepare, train, evaluate = pipeline.prepare_features.fn, pipeline.train_model.fn, pipeline.evaluate.fn
    train_trips, val_trips = taxi.read_month(TRAIN), taxi.read_month(VAL)
    synthetic = any("synthetic" in str(taxi.resolve(m)) for m in (TRAIN, VAL))
    laps, score = [], float("nan")
    for _ in range(REPEATS):
        clock = Stopwatch()
        X_train, y_train = prepare(train_trips)
        X_val, y_val = prepare(val_trips)
        clock.lap("prepare")
        model = train(X_train, y_train)
        clock.lap("train")
        score = evaluate(model, X_val, y_val)
        clock.lap("evaluate")
        laps.append(clock.seconds)
    median = {step: statistics.median(lap[step] for lap in laps) for step in laps[0]}
    return {
        "data": "synthetic (offline)" if synthetic else "real TLC files",
        "rmse_minutes": round(score, 3),
        "seconds_per_step": {step: round(s, 3) for step, s in median.items()},
        "compute_seconds": round(statistics.median(sum(lap.values()) for lap in laps), 3),
    }


def whole_run(refresh_cache: bool) -> dict:
    env = {**os.environ, "PREFECT_TASKS_REFRESH_CACHE": "true" if refresh_cache else "false"}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "02_workflow/orchestrate.py", "--train", TRAIN, "--val", VAL],
        cwd=config.REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"✗ The training flow failed during the benchmark:\n{done.stderr[-2000:]}")
    linked = FLOW_RUN_LINK.findall(done.stdout)
    if not linked:
        raise SystemExit("✗ The training flow printed no link to its run during the benchmark.")
    # The run's states and its task runs reach the server as events, written a moment after the process
    # ends: read them once they have settled.
    runs.task_attempts(linked[-1])
    flow_run = runs.read_flow_run(linked[-1])
    for _ in range(30):
        if flow_run.total_run_time.total_seconds() > 0:
            break
        time.sleep(0.5)
        flow_run = runs.read_flow_run(linked[-1])
    return {
        "wall_seconds": round(wall, 2),
        "flow_run_seconds": round(flow_run.total_run_time.total_seconds(), 2),
        "prepare_seconds": round(runs.task_seconds(flow_run.id, "Prepare features"), 3),
        "cached_task_runs": runs.cached_task_runs(flow_run.id),
    }


FLOW_RUN_LINK = re.compile(r"/runs/flow-run/([0-9a-f-]{36})")
TOUR_TARGET_SECONDS = 180


def tour_cold() -> dict:
    """`python -m coursekit tour` in a throw-away course: new server, empty data folder, free ports."""
    log = config.current().state_dir / "bench-tour.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="course-bench-") as tmp:
        course = lifecycle.throwaway_course(Path(tmp))
        env = {**os.environ, **course}
        started = time.perf_counter()
        with log.open("w") as out, console.waiting(f"Touring stages 1-5 (output: {config.shown(log)})") as wait:
            tour = subprocess.Popen(
                [sys.executable, "-m", "coursekit", "tour"], cwd=config.REPO_ROOT, env=env, stdout=out, stderr=out
            )
            while tour.poll() is None:
                wait.tick()
                time.sleep(1)
            wait.done("done" if tour.returncode == 0 else f"failed (exit code {tour.returncode})")
        wall = time.perf_counter() - started
        subprocess.run([sys.executable, "-m", "coursekit", "stop"], cwd=config.REPO_ROOT, env=env, capture_output=True)
        if tour.returncode != 0:
            raise SystemExit(f"✗ The tour failed during the benchmark; its output is in {config.shown(log)}")
        summary = json.loads(Path(course["COURSE_STATE_DIR"], "summary", "tour.json").read_text())
    return {
        "wall_seconds": round(wall, 1),
        "target_seconds": TOUR_TARGET_SECONDS,
        "stages": {
            str(s["stage"]): {"seconds": s["seconds"], "key_figure": s["key_figure"]} for s in summary["stages"]
        },
        "log": config.shown(log),
    }


def docker_part() -> str:
    """Whether the tour's stage 3 runs its Docker part, and with which image: the figure depends on it."""
    from coursekit.services import containers

    why_not = containers.daemon_answers()
    if why_not:
        return f"without the Docker part ({why_not})"
    try:
        containers.require_image()
    except lifecycle.ServiceError:
        return "with the Docker part, its image built during the tour"
    return "with the Docker part, its image already built"


def main(only: str | None = None) -> None:
    figures: dict = {}
    if only != "tour":
        measure_all_but_the_tour(figures)
    docker = docker_part()
    console.step(f"The whole tour from cold: python -m coursekit tour, in a throw-away course, {docker}")
    tour = figures["tour"] = tour_cold()
    tour["docker"] = docker
    console.say(
        console.table(
            ["stage", "seconds", "key figure"],
            [[n, f"{s['seconds']:.0f}", s["key_figure"]] for n, s in tour["stages"].items()]
            + [["all", f"{tour['wall_seconds']:.0f}", "process wall clock, server start included"]],
        )
    )
    verdict = "within" if tour["wall_seconds"] < TOUR_TARGET_SECONDS else "OVER"
    console.ok(f"Tour from cold: {tour['wall_seconds']:.0f} s, {verdict} the {TOUR_TARGET_SECONDS} s target ({docker})")

    out = config.current().state_dir / ("bench-tour.json" if only == "tour" else "bench.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2))
    console.say(f"Figures saved to {out}")


def measure_all_but_the_tour(figures: dict) -> None:
    console.step(f"Compute only (no Prefect): train {TRAIN}, validate {VAL}, median of {REPEATS}")
    figures["compute"] = compute()
    c = figures["compute"]
    console.say(console.table(["step", "seconds"], [[k, f"{v:.3f}"] for k, v in c["seconds_per_step"].items()]))
    console.ok(f"RMSE {c['rmse_minutes']:.3f} min on {c['data']}; compute {c['compute_seconds']:.2f} s (target < 3 s)")

    server.ensure_running(quiet=True)
    console.step("Whole flow run with the server up: python 02_workflow/orchestrate.py")
    cold, warm = whole_run(refresh_cache=True), whole_run(refresh_cache=False)
    figures["flow"] = {"cache_refreshed": cold, "cache_hit": warm}
    console.say(
        console.table(
            ["run", "process (wall clock)", "flow run", "Prepare features", "cached task runs"],
            [
                [
                    name,
                    f"{r['wall_seconds']:.1f} s",
                    f"{r['flow_run_seconds']:.1f} s",
                    f"{r['prepare_seconds']:.3f} s",
                    str(r["cached_task_runs"]),
                ]
                for name, r in (("cache refreshed", cold), ("cache hit", warm))
            ],
        )
    )
    speedup = cold["flow_run_seconds"] / max(warm["flow_run_seconds"], 1e-9)
    prepare_speedup = cold["prepare_seconds"] / max(warm["prepare_seconds"], 1e-3)
    figures["flow"]["cache_hit_speedup"] = {"flow_run": round(speedup, 2), "prepare": round(prepare_speedup, 2)}
    console.ok(
        f"Cache-hit re-run: flow run {speedup:.2f}x, Prepare features {prepare_speedup:.2f}x as fast as "
        "with the cache refreshed"
    )

    console.step("Load: 30 runs of one deployment submitted at once to a pool with two workers (limit 4 at a time)")
    from coursekit.maintainer import load

    drained = load.drain(30)
    completed = sum(1 for run in drained.finished if run.state and run.state.is_completed())
    figures["load"] = {
        "runs": len(drained.submitted),
        "completed": completed,
        "seconds_to_drain": round(drained.seconds, 1),
        "runs_per_minute": round(drained.runs_per_minute, 1),
        "by_worker": {
            name: list(drained.workers.values()).count(name) for name in sorted(set(drained.workers.values()))
        },
    }
    console.ok(
        f"{completed} of {len(drained.submitted)} runs Completed in {drained.seconds:.0f} s: "
        f"{drained.runs_per_minute:.1f} runs per minute ({figures['load']['by_worker']})"
    )
