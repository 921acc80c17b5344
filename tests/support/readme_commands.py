"""The shell commands that the course's READMEs and docs/ pages show, read from their fenced code blocks.

A command is what a learner would paste into a terminal: comment lines and trailing comments dropped,
continuation lines (ending in a backslash) joined, output lines left out. Blocks marked bash, sh, shell
or console hold commands (in a console block, only the lines after a `$ ` prompt); a plain ``` block
usually holds output, so only its lines that start with a command the course uses count.
"""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from coursekit.config import REPO_ROOT

SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}
# The programs the READMEs tell a learner to run. A plain block's line that starts with one is a command.
PROGRAMS = {"make", "python", "prefect", "eval", "export", "cd", "diff", "git", "uv", "pip", "dask"}
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")


@dataclass(frozen=True)
class Command:
    readme: str  # relative to the top of the repository
    line: int  # where the command starts
    text: str

    def __str__(self) -> str:
        return f"{self.readme}:{self.line}: {self.text}"


def readmes(root: Path = REPO_ROOT) -> list[Path]:
    """README.md, */README.md and */exercises/README.md: the top README and the lessons'."""
    found = [root / "README.md", *root.glob("*/README.md"), *root.glob("*/exercises/README.md")]
    return sorted(p for p in found if p.is_file() and not _hidden(p, root))


def learner_docs(root: Path = REPO_ROOT) -> list[Path]:
    """The READMEs and docs/*.md: every page that tells a learner what to type."""
    return sorted([*readmes(root), *(p for p in root.glob("docs/*.md") if not _hidden(p, root))])


def linked_docs(root: Path = REPO_ROOT) -> list[Path]:
    """Every page whose links must resolve: the learner's pages and the maintainer's CONTRIBUTING.md."""
    contributing = root / "CONTRIBUTING.md"
    return sorted([*learner_docs(root), *([contributing] if contributing.is_file() else [])])


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)  # .venv, caches


def commands_in(markdown: str, readme: str = "README.md") -> list[Command]:
    found: list[Command] = []
    block: list[tuple[int, str]] | None = None
    fence = language = ""
    for number, line in enumerate(markdown.splitlines(), start=1):
        opened = FENCE.match(line)
        if block is None:
            if opened:
                block, fence, language = [], opened.group(2), opened.group(3).lower()
            continue
        if line.strip().startswith(fence[0] * len(fence)) and not line.strip().strip(fence[0]):
            found += _commands_of_block(block, language, readme)
            block = None
            continue
        block.append((number, line))
    return found


def _commands_of_block(lines: list[tuple[int, str]], language: str, readme: str) -> list[Command]:
    if language and language not in SHELL_LANGUAGES:
        return []  # python, yaml, text: not commands
    commands, pending, start = [], "", 0
    for number, raw in lines:
        line = raw.strip()
        if not pending:
            if language == "console":
                if not line.startswith("$ "):
                    continue  # output
                line = line[2:]
            if not line or line.startswith("#"):
                continue
            if language == "" and line.split()[0] not in PROGRAMS:
                continue  # output shown in a plain block
            start = number
        line = strip_comment(line)
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        commands.append(Command(readme, start, " ".join((pending + line).split())))
        pending = ""
    if pending:
        commands.append(Command(readme, start, " ".join(pending.split())))
    return commands


def strip_comment(line: str) -> str:
    """`cmd  # why` -> `cmd`; a # inside quotes, or inside a word (`a#b`), stays."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip()
    return line.rstrip()


def all_commands(root: Path = REPO_ROOT) -> list[Command]:
    return [c for path in learner_docs(root) for c in commands_in(path.read_text(), str(path.relative_to(root)))]


def code_spans(markdown: str) -> list[str]:
    """The inline `code` of a README, outside its fenced blocks."""
    prose, inside = [], False
    for line in markdown.splitlines():
        if FENCE.match(line):
            inside = not inside
        elif not inside:
            prose.append(line)
    return re.findall(r"(?<!`)`([^`\n]+)`(?!`)", "\n".join(prose))


def section(markdown: str, heading: str) -> str:
    """The text under a `## heading` (with its ### subsections), up to the next `## ` heading."""
    lines = markdown.splitlines()
    start = lines.index(f"## {heading}")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join(lines[start + 1 : end])


def table_rows(text: str) -> list[list[str]]:
    """The cells of every markdown table row in `text`, header and separator rows left out."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("|") or re.fullmatch(r"[|\s:-]+", line):
            continue
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        rows.append(cells)
    return [row for row in rows if not _is_header(row)]


def _is_header(row: list[str]) -> bool:
    return all("`" not in cell and "**" not in cell for cell in row)


def prefect_args(command: str) -> list[list[str]]:
    """The arguments of each `prefect` command in a command line, without the session options.

    `cd 01_intro && prefect --no-prompt deploy --all` -> [["deploy", "--all"]]. `--profile NAME` and
    `--prompt/--no-prompt` choose a profile and prompting, not a command, so they are left out.
    """
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    found, part = [], []
    for token in [*lexer, ";"]:
        if token in ("&&", "||", ";", "|"):
            if part and part[0] == "prefect":
                found.append(_without_session_options(part[1:]))
            part = []
        else:
            part.append(token)
    return found


def _without_session_options(tokens: list[str]) -> list[str]:
    args, rest = [], iter(tokens)
    for token in rest:
        if token in ("--no-prompt", "--prompt"):
            continue
        if token == "--profile":
            next(rest, None)
            continue
        args.append(token)
    return args


# --- the tests that run them: @pytest.mark.readme("command", ...) ----------------------------------------


@dataclass(frozen=True)
class Marker:
    """One `@pytest.mark.readme(...)`: the README commands that `test` runs."""

    test: str  # tests/e2e/test_stage1.py::test_stage_1_recovers_from_every_outage (a module: its path)
    line: int
    commands: tuple[str, ...]
    because: str = ""  # how the test's form of a command differs from the README's, when it does

    def __str__(self) -> str:
        return f"{self.test} (line {self.line})"


@dataclass
class Markers:
    found: list[Marker]
    tests: set[str]  # every test of the files read, marked or not: what NOT_HERE may name as nearest
    problems: list[str]  # markers the reader cannot attach to a test, or whose commands are not plain strings


def readme_markers(root: Path = REPO_ROOT) -> Markers:
    """Every readme marker of the test files under tests/, read with `ast`, without importing them.

    Reading the source takes milliseconds; collecting with pytest would import Prefect and every test
    module. The cost: a marker must be written out where it marks a test, with plain strings.
    """
    index = Markers([], set(), [])
    for path in sorted((root / "tests").rglob("*.py")):
        if not _hidden(path, root):
            found = markers_in(path.read_text(), str(path.relative_to(root)))
            index.found += found.found
            index.tests |= found.tests
            index.problems += found.problems
    return index


def markers_in(source: str, path: str) -> Markers:
    tree = ast.parse(source, filename=path)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    index = Markers([], _tests_in(tree, path), [])
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr == "readme" and _is_mark(node.value)):
            continue
        call = parents.get(node)
        where = f"{path}:{node.lineno}"
        if not (isinstance(call, ast.Call) and call.func is node):
            index.problems.append(f"{where}: write @pytest.mark.readme(...) where it marks a test, not through a name")
            continue
        owner = _marked_test(call, parents, path)
        if owner.startswith("!"):
            index.problems.append(f"{where}: {owner[1:]}")
            continue
        commands = [arg.value for arg in call.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
        because = [kw for kw in call.keywords if kw.arg == "because"]
        plain_because = all(isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str) for kw in because)
        if not commands or len(commands) != len(call.args) or len(because) != len(call.keywords) or not plain_because:
            index.problems.append(
                f'{where}: a readme marker takes the commands as plain strings and, optionally, because="..."'
            )
            continue
        why = because[0].value.value if because else ""  # type: ignore[attr-defined]
        index.found.append(Marker(owner, node.lineno, tuple(" ".join(c.split()) for c in commands), why))
    index.found.sort(key=lambda marker: marker.line)  # ast.walk goes breadth first: back to the file's order
    index.problems.sort(key=lambda problem: int(problem.split(":")[1]))
    return index


def _is_mark(node: ast.expr) -> bool:
    """`pytest.mark` or `mark` (from pytest import mark)."""
    return (isinstance(node, ast.Attribute) and node.attr == "mark") or (
        isinstance(node, ast.Name) and node.id == "mark"
    )


def _tests_in(tree: ast.Module, path: str) -> set[str]:
    tests = {path}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            tests.add(f"{path}::{node.name}")
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            tests.add(f"{path}::{node.name}")
            tests |= {
                f"{path}::{node.name}::{f.name}"
                for f in node.body
                if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and f.name.startswith("test")
            }
    return tests


def _marked_test(call: ast.Call, parents: dict[ast.AST, ast.AST], path: str) -> str:
    """The id of the test a marker call marks, or "!" and why it marks none."""
    child: ast.AST = call
    node = parents.get(child)
    while node is not None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if child not in node.decorator_list:
                return "!a readme marker inside a function or class body is not read: put it on the test"
            names = [node.name]
            outer = parents.get(node)
            while isinstance(outer, ast.ClassDef):
                names.insert(0, outer.name)
                outer = parents.get(outer)
            if not node.name.startswith("Test" if isinstance(node, ast.ClassDef) else "test"):
                return f"!{node.name} is not a test: a readme marker belongs on the test that runs the commands"
            return "::".join([path, *names])
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            outer = parents.get(node)
            return path if isinstance(outer, ast.Module) else f"{path}::{outer.name}"  # type: ignore[union-attr]
        child, node = node, parents.get(node)
    return "!a readme marker outside a test's decorators or pytestmark marks nothing"
