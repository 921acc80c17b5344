"""The Prefect Cloud path of lesson 5: log in under a profile of its own, deploy to a managed pool.

Nothing here runs without PREFECT_API_KEY. The course's own settings (PREFECT_API_URL pointing at the
local server) are left out of these commands' environment, so the `course-cloud` profile decides
where they go; the learner's own default profile is never changed either (PREFECT_HOME is the course's).
"""

from __future__ import annotations

import os
import subprocess

from coursekit import config, console
from coursekit.services import lifecycle
from coursekit.services.server import prefect_executable

PROFILE = "course-cloud"
POOL = "course-managed"
PREFECT_FILE = "05_cloud/prefect.cloud.yaml"
DEPLOYMENT = "taxi-training/taxi-managed"

WHAT_IT_WOULD_DO = f"""\
With PREFECT_API_KEY set, `make stage-5 TARGET=cloud` would:
  1. prefect profile create {PROFILE}                     (a profile of its own; yours stay as they are)
  2. prefect --profile {PROFILE} cloud login -k $PREFECT_API_KEY -w $COURSE_CLOUD_WORKSPACE
  3. prefect --profile {PROFILE} work-pool create {POOL} --type prefect:managed
  4. prefect --profile {PROFILE} --no-prompt deploy --all --prefect-file {PREFECT_FILE}
  5. prefect --profile {PROFILE} deployment run {DEPLOYMENT} --watch
     (Prefect runs it on its own infrastructure: the code is cloned from COURSE_CLOUD_GIT_URL)
Get a key under your account settings in Prefect Cloud (API keys). Here, the same flow is deployed to the
local server and run by a process worker: the deployment notified-local in 05_cloud/prefect.yaml."""


class CloudError(lifecycle.ServiceError):
    pass


def requirements() -> dict[str, str]:
    """The three variables the cloud path needs, checked before anything is sent anywhere."""
    needed = {
        "PREFECT_API_KEY": "an API key from Prefect Cloud (account settings, API keys)",
        "COURSE_CLOUD_WORKSPACE": "your workspace as ACCOUNT/WORKSPACE (the handles in its Cloud URL)",
        "COURSE_CLOUD_GIT_URL": "the https URL of your copy of this repository, which the managed pool clones",
    }
    missing = [f"  {name}: {why}" for name, why in needed.items() if not os.environ.get(name)]
    if missing:
        raise CloudError("The cloud path needs these variables set:\n" + "\n".join(missing))
    workspace = os.environ["COURSE_CLOUD_WORKSPACE"]
    if workspace.count("/") != 1 or not all(workspace.split("/")):
        raise CloudError(
            f"COURSE_CLOUD_WORKSPACE={workspace!r} is not ACCOUNT/WORKSPACE, e.g. my-account/my-workspace."
        )
    return {name: os.environ[name] for name in needed}


def cloud_env() -> dict[str, str]:
    """This process's environment without the settings that point Prefect at the local server."""
    local_only = ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING", "PREFECT_SERVER_API_AUTH_STRING")
    return {name: value for name, value in os.environ.items() if name not in local_only}


def prefect(*args: str, shown: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """`prefect --profile course-cloud ARGS`, printed first (with the key hidden)."""
    console.step(shown or " ".join(["prefect", "--profile", PROFILE, *args]))
    done = subprocess.run(
        [prefect_executable(), "--profile", PROFILE, *args],
        cwd=config.REPO_ROOT,
        env=cloud_env(),
        capture_output=True,
        text=True,
    )
    print((done.stdout + done.stderr).replace(os.environ.get("PREFECT_API_KEY") or "\0", "****"), end="", flush=True)
    if check and done.returncode != 0:
        raise CloudError(f"`prefect {args[0]} {args[1] if len(args) > 1 else ''}` failed (see above).")
    return done


def deploy() -> str:
    """Log in, make sure the managed pool exists, deploy, and run the deployment; return the run's state."""
    needed = requirements()
    subprocess.run(
        [prefect_executable(), "profile", "create", PROFILE], env=cloud_env(), capture_output=True, check=False
    )  # exits 1 when the profile exists already: that is fine
    login = prefect(
        "cloud",
        "login",
        "-k",
        needed["PREFECT_API_KEY"],
        "-w",
        needed["COURSE_CLOUD_WORKSPACE"],
        shown=f"prefect --profile {PROFILE} cloud login -k **** -w {needed['COURSE_CLOUD_WORKSPACE']}",
        check=False,
    )
    if login.returncode != 0:
        raise CloudError(
            "Could not log in to Prefect Cloud (see above). Check the key (it may have expired), the workspace "
            "handle, and that this machine reaches api.prefect.cloud over https."
        )
    if prefect("work-pool", "inspect", POOL, check=False).returncode != 0:
        prefect("work-pool", "create", POOL, "--type", "prefect:managed")
    prefect("--no-prompt", "deploy", "--all", "--prefect-file", PREFECT_FILE)
    done = prefect("deployment", "run", DEPLOYMENT, "--watch", check=False)
    state = "Completed" if done.returncode == 0 else "Failed"
    console.say(
        f"See the run in Prefect Cloud: https://app.prefect.cloud (workspace {needed['COURSE_CLOUD_WORKSPACE']})"
    )
    return state
