"""Every option of every config group composes, and the objects it names can be built."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from omegaconf import DictConfig

from digit_lit.config import instantiate
from tests.helpers.cli import cli
from tests.helpers.paths import CONF

GROUPS = sorted(
    (group.name, option.stem)
    for group in CONF.iterdir()
    if group.is_dir() and group.name != "hydra"
    for option in group.glob("*.yaml")
)


def test_groups_are_all_there() -> None:
    groups = {g for g, _ in GROUPS}
    assert {"data", "model", "trainer", "callbacks", "logger", "experiment", "debug", "hparams_search"} <= groups
    assert {"linear", "mlp", "cnn"} <= {o for g, o in GROUPS if g == "model"}
    assert {"cpu", "gpu", "ddp", "ddp_cpu"} <= {o for g, o in GROUPS if g == "trainer"}


@pytest.mark.parametrize(("group", "option"), GROUPS, ids=[f"{g}={o}" for g, o in GROUPS])
def test_option_composes_and_builds(group: str, option: str, train_cfg: Callable[..., DictConfig]) -> None:
    cfg = train_cfg(f"{group}={option}")
    assert cfg.model.net.name and cfg.trainer.max_epochs is not None
    if group in ("model", "data", "experiment"):
        instantiate(cfg.model)
        instantiate(cfg.data)
    if group in ("callbacks", "logger"):
        for node in (cfg.get(group) or {}).values():
            if node is not None:
                instantiate(node)


@pytest.mark.parametrize("command", ["predict", "evaluate", "export", "serve", "train"])
def test_help_says_how_to_call_the_command_and_lists_what_it_reads(command: str) -> None:
    res = cli(f"digit_lit.{command}", "--help")
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.startswith(f"python -m digit_lit.{command} ")  # each config's hydra.help.header
    # train's config groups (model=, trainer=, experiment=...) are no options of the commands that use a model
    assert ("== Configuration groups ==" in res.stdout) == (command == "train")
    assert ("experiment:" in res.stdout) == (command == "train")
    assert "ckpt_path:" in res.stdout  # a setting each of the five reads
