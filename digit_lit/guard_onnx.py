"""Reading an exported `.onnx` as a guard, with onnxruntime only (no torch, no Lightning).

The decision rule travels inside the ONNX file (`metadata_props`), bound to the graph by a digest, so a model file
cannot be paired with another model's threshold. The `.json` card beside it is for people; when present, it must
name this very file (its sha256) or the pair is refused.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from digit_lit.constants import IMAGE_SIZE, NUM_CLASSES
from digit_lit.guard import FORMAT, GuardError, Rule, digest, file_sha256

META_FORMAT, META_RULE, META_NET, META_DIGEST = (
    "digit_lit.format",
    "digit_lit.rule",
    "digit_lit.net",
    "digit_lit.digest",
)
INPUT, OUTPUT = "image", "logits"
MAX_CARD_BYTES = 1_000_000  # an export card is about a kilobyte


def graph_blobs(model: Any) -> list[tuple[str, bytes]]:
    """What the digest covers of an ONNX model: its whole graph (weights and operators)."""
    return [("graph", model.graph.SerializeToString(deterministic=True))]


def onnx_digest(model: Any, rule: Rule, spec: dict[str, Any]) -> str:
    return digest(rule, spec, graph_blobs(model))


def _refuse(path: Path, reason: str) -> GuardError:
    return GuardError(f"{path}: {reason}; export it again with digit_lit.export")


def _check_card(path: Path, rule: Rule) -> None:
    """The card is for people, but a card that says something else than the model is refused, not ignored."""
    card = path.with_suffix(".json")
    try:
        info = card.stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _refuse(path, f"{card.name} beside it cannot be read ({exc.strerror})") from None
    # only a regular file of a card's size is read: a pipe named X.json blocks for ever, /dev/zero fills memory
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(path, f"{card.name} beside it is not a regular file (a pipe, device or folder)")
    if info.st_size > MAX_CARD_BYTES:
        raise _refuse(path, f"{card.name} beside it is {info.st_size} bytes, too large for an export card")
    try:
        meta = json.loads(card.read_text())
        named, stated = meta["sha256"], meta["rule"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _refuse(path, f"{card.name} beside it is not a digit_lit export card ({type(exc).__name__})") from None
    if named != file_sha256(path):
        raise _refuse(path, f"{card.name} beside it describes another export (sha256 differs)")
    if stated != rule.as_dict():
        raise _refuse(path, f"{card.name} beside it states another decision rule than the model's own (edited)")


def load_onnx(path: Path) -> tuple[Callable[[np.ndarray], np.ndarray], Rule]:
    import onnx
    import onnxruntime as ort

    try:
        model = onnx.load(str(path))
    except Exception as exc:
        raise _refuse(path, f"not an ONNX model ({type(exc).__name__})") from exc
    meta = {p.key: p.value for p in model.metadata_props}
    if meta.get(META_FORMAT) != FORMAT:
        raise _refuse(path, "no digit_lit decision rule inside (written by another tool or an older digit_lit)")
    try:
        rule_values, spec = json.loads(meta[META_RULE]), json.loads(meta[META_NET])
    except (KeyError, ValueError) as exc:
        raise _refuse(path, f"its stored decision rule is unreadable ({type(exc).__name__})") from None
    rule = Rule.from_mapping(rule_values, str(path))
    if meta.get(META_DIGEST) != onnx_digest(model, rule, spec):
        raise _refuse(
            path, f"its graph or decision rule (threshold {rule.threshold}) changed after export (digest mismatch)"
        )
    _check_card(path, rule)
    inputs = [(i.name, [d.dim_value or d.dim_param for d in i.type.tensor_type.shape.dim]) for i in model.graph.input]
    outputs = [o.name for o in model.graph.output]
    if (
        len(inputs) != 1
        or inputs[0][0] != INPUT
        or inputs[0][1][1:] != [1, IMAGE_SIZE, IMAGE_SIZE]
        or OUTPUT not in outputs
    ):
        raise _refuse(path, f"unexpected inputs {inputs} / outputs {outputs}")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1  # a few small images per call: threads cost more than they give
    opts.log_severity_level = 4  # fatal only: a load that fails is our one line, not also its own coloured block
    try:
        session = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise _refuse(path, f"onnxruntime cannot load it ({str(exc).splitlines()[0][:120]})") from exc

    def logits(x: np.ndarray) -> np.ndarray:
        z = session.run([OUTPUT], {INPUT: x})[0]
        if z.shape[0] != len(x) or z.shape[-1] != NUM_CLASSES:
            raise _refuse(path, f"it gave logits of shape {z.shape}")
        return z

    return logits, rule
