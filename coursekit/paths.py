"""Where the course keeps data and models: gitignored folders at the top of the repository.

Both can be moved by an environment variable, which is how the tests keep theirs apart.
"""

from __future__ import annotations

import os
from pathlib import Path

from coursekit.config import REPO_ROOT


def data_dir() -> Path:
    return Path(os.environ.get("COURSE_DATA_DIR", REPO_ROOT / "data")).resolve()


def models_dir() -> Path:
    return Path(os.environ.get("COURSE_MODELS_DIR", REPO_ROOT / "models")).resolve()
