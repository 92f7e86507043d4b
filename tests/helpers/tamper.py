"""Model files edited after the fact, as a careless script or a hostile user would: checkpoints and ONNX exports."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch


def edit_checkpoint(src: Path, dst: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of checkpoint `src` at `dst` with `edit` applied to its loaded dict (its digest is left as it was)."""
    ckpt = torch.load(src, map_location="cpu", weights_only=True)
    edit(ckpt)
    torch.save(ckpt, dst)
    return dst


def set_buffer(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """An edit that stores `value` (a number, bool or NaN) as the buffer `name` (temperature, threshold)."""

    def edit(ckpt: dict[str, Any]) -> None:
        ckpt["state_dict"][name] = torch.tensor(value)

    return edit


def poison_weights(ckpt: dict[str, Any]) -> None:
    """An edit that puts a NaN into the net's first weight."""
    first = next(k for k in ckpt["state_dict"] if k.startswith("net."))
    ckpt["state_dict"][first] = ckpt["state_dict"][first].clone()
    ckpt["state_dict"][first].view(-1)[0] = float("nan")


def edit_onnx_rule(src: Path, dst: Path, rule: str | None) -> Path:
    """A copy of export `src` at `dst` whose stored rule (metadata `digit_lit.rule`) is `rule` (None: removed)."""
    import onnx

    from digit_lit.guard_onnx import META_RULE

    model = onnx.load(str(src))
    props = [(p.key, p.value) for p in model.metadata_props if p.key != META_RULE]
    if rule is not None:
        props.append((META_RULE, rule))
    del model.metadata_props[:]
    for key, value in props:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(dst))
    return dst


def rule_json(src: Path, **changes: Any) -> str:
    """The rule stored in export `src`, as JSON, with `changes` made (a value None removes that key)."""
    import onnx

    from digit_lit.guard_onnx import META_RULE

    stored = {p.key: p.value for p in onnx.load(str(src)).metadata_props}
    rule = json.loads(stored[META_RULE])
    for key, value in changes.items():
        if value is None:
            rule.pop(key, None)
        else:
            rule[key] = value
    return json.dumps(rule)


class RunsCode:
    """Pickled, it calls Path.write_text(marker, "pwned") when loaded: a checkpoint that carries code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (self.marker, "pwned"))
