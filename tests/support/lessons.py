"""Lesson scripts live in numbered folders, which are not packages: load one by its path."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from coursekit.config import REPO_ROOT


def load_lesson(relative_path: str) -> ModuleType:
    name = "lesson_" + relative_path.replace("/", "_").removesuffix(".py")
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / relative_path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
