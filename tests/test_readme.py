"""The README's (and docs/'s) commands work as written: every entry-point command composes with the overrides it shows,
and every make target it names exists. (Running them all would take hours: composing catches a renamed option or
group.)"""

from __future__ import annotations

import re
import shlex

import pytest
from hydra import compose, initialize_config_dir

from tests.helpers.paths import CONF, ROOT

README = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
# `python -m digit_lit.train ...`, `.venv/bin/python -m ...`, `digit-lit-train ...`, `make train ARGS=...`
ENTRY = re.compile(r"^(?:\.venv/bin/)?(?:python -m digit_lit\.(?P<module>\w+)|digit-lit-(?P<script>\w+))(?P<args>.*)$")
MAKE = re.compile(r"^make (?P<target>[\w-]+)")


def shown_commands() -> list[str]:
    """Each command line of the README's bash blocks (comments dropped) and of its inline code."""
    lines = [ln for block in re.findall(r"```bash\n(.*?)```", README, re.S) for ln in block.splitlines()]
    lines += re.findall(r"`([^`\n]+)`", README)
    return sorted({ln.split(" #")[0].strip() for ln in lines if ln.strip() and not ln.startswith("#")})


def config_name(module: str) -> str:
    """The Hydra config an entry point composes (its @hydra.main's config_name)."""
    found = re.search(r'config_name="(\w+)"', (ROOT / "digit_lit" / f"{module}.py").read_text())
    assert found, f"digit_lit/{module}.py has no @hydra.main(config_name=...)"
    return found.group(1)


ENTRY_COMMANDS = [c for c in shown_commands() if ENTRY.match(c)]
MAKE_COMMANDS = [c for c in shown_commands() if MAKE.match(c)]


def test_the_readme_shows_commands() -> None:
    assert len(ENTRY_COMMANDS) >= 20 and len(MAKE_COMMANDS) >= 4


@pytest.mark.parametrize("command", ENTRY_COMMANDS)
def test_entry_point_command_composes(command: str) -> None:
    match = ENTRY.match(command)
    assert match is not None
    args = [a for a in shlex.split(match["args"]) if a != "..."]  # "..." stands for "your arguments" in prose
    # a command given flags (--help, -sc install=bash) has no overrides to check
    overrides = [] if any(a.startswith("-") for a in args) else args
    with initialize_config_dir(str(CONF), version_base="1.3"):
        compose(config_name(match["module"] or match["script"]), overrides=overrides)


@pytest.mark.parametrize("command", MAKE_COMMANDS)
def test_make_target_exists(command: str) -> None:
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    match = MAKE.match(command)
    assert match is not None and match["target"] in targets
    overrides = re.search(r'ARGS="(.*)"', command)
    if match["target"] == "train" and overrides:  # make train passes ARGS to python -m digit_lit.train
        with initialize_config_dir(str(CONF), version_base="1.3"):
            compose("train", overrides=shlex.split(overrides[1]))
