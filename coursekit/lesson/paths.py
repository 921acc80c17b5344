"""Where the course keeps data and models: gitignored folders at the top of the repository.

Both can be moved by an environment variable (COURSE_DATA_DIR, COURSE_MODELS_DIR), which is how the
tests keep theirs apart and how a worker running cloned code finds the course's own folders.
"""

from __future__ import annotations

from pathlib import Path

from coursekit import config


def data_dir() -> Path:
    return config.current().data_dir


def models_dir() -> Path:
    return config.current().models_dir


def model_file() -> Path:
    """Where the lesson-2 training flow saves its model (and lesson 4 picks it up to upload)."""
    return models_dir() / "trip_duration.skops"


def sent_emails_dir() -> Path:
    """Where lesson 5's send-email flow records which run ends it has emailed about (and locks them)."""
    return config.current().state_dir / "sent-emails"
