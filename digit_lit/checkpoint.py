"""Reading a training checkpoint as a guard: tensors and plain data only, every number checked before use.

`torch.load(weights_only=True)` runs nothing in the file. The net is sized on the meta device and its shapes are
compared with the stored tensors before any memory is allocated, so a checkpoint cannot make us build a giant net.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from digit_lit.guard import FORMAT, GuardError, Rule, digest
from digit_lit.models import build_net

NET_PREFIX = "net."
SPEC_SHOWN = 200  # characters of a net spec an error shows


def tensor_blobs(weights: Mapping[str, torch.Tensor]) -> list[tuple[str, bytes]]:
    """The bytes the digest covers: each tensor by name, dtype and shape."""
    out = []
    for name, t in weights.items():
        a = t.detach().cpu().contiguous()
        out.append((f"{name}:{a.dtype}:{tuple(a.shape)}", a.reshape(-1).view(torch.uint8).numpy().tobytes()))
    return out


def rule_values(state: Mapping[str, Any], hparams: Mapping[str, Any]) -> dict[str, Any]:
    """The stored numbers the rule is made of: calibration buffers and the training target."""
    return {
        "temperature": state.get("temperature"),
        "threshold": state.get("threshold"),
        "max_wrong_accept": hparams.get("max_wrong_accept"),
        "score": hparams.get("score", "msp"),
    }


def net_weights(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k[len(NET_PREFIX) :]: v for k, v in state.items() if k.startswith(NET_PREFIX)}


def checkpoint_digest(rule: Rule, spec: Mapping[str, Any], state: Mapping[str, torch.Tensor]) -> str:
    return digest(rule, spec, tensor_blobs(net_weights(state)))


def _invalid(path: Path, reason: str) -> GuardError:
    return GuardError(f"{path} is not a valid digit_lit checkpoint ({reason}); use a .ckpt written by digit_lit.train")


def _check_shapes(path: Path, spec: Mapping[str, Any], weights: Mapping[str, torch.Tensor]) -> None:
    try:
        with torch.device("meta"):  # sizes the net without allocating it
            expected = build_net(**spec).state_dict()
    except Exception as exc:
        shown = str(dict(spec))
        shown = shown if len(shown) <= SPEC_SHOWN else shown[:SPEC_SHOWN] + "...}"  # a spec can be any size
        raise _invalid(path, f"its net spec {shown} cannot be built: {str(exc).splitlines()[0][:120]}") from exc
    if set(expected) != set(weights):
        odd = sorted(set(expected) ^ set(weights))[:3]
        raise _invalid(path, f"its weights do not match the net spec (e.g. {', '.join(odd)})")
    for name, t in expected.items():
        if not isinstance(weights[name], torch.Tensor) or tuple(weights[name].shape) != tuple(t.shape):
            raise _invalid(
                path, f"weight {name} has shape {tuple(getattr(weights[name], 'shape', ()))}, not {tuple(t.shape)}"
            )


def load_net(path: str | Path) -> tuple[nn.Module, Rule, dict[str, Any]]:
    """The trained net (eval mode, CPU), its validated rule and its spec; GuardError in one line otherwise."""
    path = Path(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _invalid(path, reason[:200]) from exc
    if not isinstance(ckpt, Mapping) or not isinstance(ckpt.get("state_dict"), Mapping):
        raise _invalid(path, "no state_dict")
    state, hparams = ckpt["state_dict"], ckpt.get("hyper_parameters")
    if not isinstance(hparams, Mapping) or not isinstance(hparams.get("net"), Mapping):
        raise _invalid(path, "no net spec in its hyper_parameters")
    spec = dict(hparams["net"])
    if not isinstance(spec.get("name"), str):
        raise _invalid(path, "its net spec has no name")
    rule = Rule.from_mapping(rule_values(state, hparams), str(path))
    weights = net_weights(state)
    _check_shapes(path, spec, weights)
    for name, t in weights.items():
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise GuardError(f"{path}: weight {name} holds NaN or infinite values; the file is damaged, retrain")
    stored = ckpt.get("digit_lit")
    if not isinstance(stored, Mapping) or stored.get("format") != FORMAT:
        raise _invalid(
            path, "it carries no digit_lit decision rule; it was written before calibration or by another tool"
        )
    if stored.get("digest") != checkpoint_digest(rule, spec, state):
        raise GuardError(
            f"{path}: its weights or decision rule (threshold {rule.threshold}) were changed after training "
            "(digest mismatch); use the checkpoint as digit_lit.train wrote it"
        )
    net = build_net(**spec)
    net.load_state_dict(weights)
    return net.eval(), rule, spec
