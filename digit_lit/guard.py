"""The one owner of the accept/refuse decision: load a model, check it, give calibrated probabilities, decide.

`evaluate`, `predict`, `export`, the server and the code reader all go through `Guard`; nothing else computes
softmax(logits / T) or compares a score with the threshold. A model is a `.ckpt` written by `digit_lit.train` or an
`.onnx` written by `digit_lit.export`; both carry their decision `Rule` and a digest that binds it to the weights, and
loading refuses (one line, `GuardError`) anything whose numbers could make the guard accept what its calibrated rule
would refuse. The ONNX path needs neither torch nor Lightning.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from digit_lit.constants import IMAGE_SIZE, NUM_CLASSES
from digit_lit.errors import CheckpointError, ConfigError

FORMAT = "digit_lit.guard/1"  # bump when the meaning of a stored rule changes
SCORES = ("msp",)  # max calibrated probability (of the members' mean, for an ensemble)


class GuardError(CheckpointError):
    """A model file (or its decision rule) that must not be used."""


def check_max_wrong_accept(value: object, name: str = "model.max_wrong_accept") -> float:
    """The wrong-accept target the threshold is fitted to: a real number strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ConfigError(f"{name}={value!r} must be a number between 0 and 1 (e.g. 0.001 for 0.1%)")
    return float(value)


def _scalar(value: object) -> object:
    """A stored number as a Python scalar (checkpoints keep 0-d tensors); anything else is left for _number to judge."""
    return value.item() if getattr(value, "ndim", None) == 0 and hasattr(value, "item") else value  # type: ignore


def _number(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise GuardError(f"{name}={value!r} is not a finite number")


@dataclass(frozen=True)
class Rule:
    """Everything the decision depends on; a Rule that exists is valid (construction checks every number).

    accept  <=>  score(probs) >= threshold,  probs = mean over members (and views) of softmax(logits / T).
    """

    temperature: float
    threshold: float
    max_wrong_accept: float
    score: str = "msp"

    def __post_init__(self) -> None:
        for name in ("temperature", "threshold", "max_wrong_accept"):
            _number(getattr(self, name), name)
        if self.temperature <= 0:
            raise GuardError(f"temperature={self.temperature} must be > 0")
        if not 0 < self.threshold <= 1:
            raise GuardError(f"threshold={self.threshold} must be in (0, 1]")
        if not 0 < self.max_wrong_accept < 1:
            raise GuardError(f"max_wrong_accept={self.max_wrong_accept} must be in (0, 1)")
        if self.score not in SCORES:
            raise GuardError(f"unknown score {self.score!r} (known: {', '.join(SCORES)})")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], source: str) -> Rule:
        """A validated Rule from stored values (checkpoint buffers, ONNX metadata); GuardError names what is wrong."""
        if not isinstance(values, Mapping):
            raise GuardError(f"{source}: no decision rule found; use a model written by digit_lit.train or export")
        try:
            numbers = {k: _scalar(values.get(k)) for k in ("temperature", "threshold", "max_wrong_accept")}
            return cls(**numbers, score=values.get("score", "msp"))
        except GuardError as exc:
            raise GuardError(f"{source}: {exc}; retrain or export the model again") from None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def probs(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probabilities [N, 10] of logits [N, 10] or, for an ensemble, [N, members (x views), 10]."""
        z = np.asarray(logits, dtype=np.float64) / self.temperature
        z = z.reshape(len(z), -1, NUM_CLASSES)
        z -= z.max(axis=2, keepdims=True)
        e = np.exp(z)
        return (e / e.sum(axis=2, keepdims=True)).mean(axis=1)

    def confidence(self, probs: np.ndarray) -> np.ndarray:
        """The score the threshold applies to (higher = surer)."""
        return np.asarray(probs).max(axis=1)

    def accepts(self, confidence: np.ndarray) -> np.ndarray:
        """The accept rule itself. A non-finite score is never accepted."""
        confidence = np.asarray(confidence)
        return np.isfinite(confidence) & (confidence >= self.threshold)


def rejection_report(accepted: np.ndarray, correct: np.ndarray) -> dict[str, float]:
    """Coverage (share accepted), wrong-accept rate (accepted and wrong, over all) and accuracy on accepted."""
    accepted, correct = np.asarray(accepted, bool), np.asarray(correct, bool)
    n = max(len(accepted), 1)
    n_acc = int(accepted.sum())
    wrong = int((accepted & ~correct).sum())
    return {
        "coverage": n_acc / n,
        "wrong_accept": wrong / n,
        "accepted_acc": (n_acc - wrong) / n_acc if n_acc else float("nan"),
    }


def digest(rule: Rule, net_spec: Mapping[str, Any], blobs: Iterable[tuple[str, bytes]]) -> str:
    """sha256 binding a rule to the weights it was fitted with: a hand-edited threshold or weight no longer matches.

    It catches accidents (a script that rewrites the threshold, an export paired with another model's rule), not an
    attacker who recomputes it: the model file itself must come from a trusted place.
    """
    h = hashlib.sha256(FORMAT.encode())
    h.update(json.dumps(rule.as_dict(), sort_keys=True).encode())
    h.update(json.dumps(net_spec, sort_keys=True, default=str).encode())
    for name, blob in sorted(blobs, key=lambda kv: kv[0]):
        h.update(name.encode())
        h.update(hashlib.sha256(blob).digest())
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _regular_file(path: Path, kind: str) -> None:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise GuardError(f"{path} does not exist; give the path of a {kind}") from None
    except OSError as exc:
        raise GuardError(f"{path} cannot be read ({exc.strerror}); give the path of a {kind}") from None
    if not stat.S_ISREG(mode):
        raise GuardError(f"{path} is not a regular file; give the path of a {kind}")


def as_model_input(images: np.ndarray) -> np.ndarray:
    """The one input contract: uint8 [N, 28, 28] (0-255) or float [N, 28, 28] / [N, 1, 28, 28] in [0, 1], white ink
    on black, as MNIST. Returns float32 [N, 1, 28, 28]."""
    x = np.asarray(images)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3 or x.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"images must be [N, 28, 28] or [N, 1, 28, 28], got shape {x.shape}")
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    elif np.issubdtype(x.dtype, np.floating):
        if x.size and not (np.isfinite(x).all() and x.min() >= 0.0 and x.max() <= 1.0):
            raise ValueError("float images must be finite and in [0, 1]")
        x = x.astype(np.float32)
    else:
        raise ValueError(f"images must be uint8 or float, got {x.dtype}")
    return x[:, None]


class Guard:
    """A model with its validated decision rule. `probs` -> `decide`; `read` does a whole picture."""

    def __init__(self, logits: Callable[[np.ndarray], np.ndarray], rule: Rule, identity: dict[str, Any]) -> None:
        self._logits, self.rule, self.identity = logits, rule, identity
        # the torch module and its plain spec, for a guard loaded from a checkpoint (export needs them)
        self.net: Any = None
        self.spec: dict[str, Any] | None = None

    @property
    def threshold(self) -> float:
        return self.rule.threshold

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Guard:
        """A guard from a `.ckpt` (torch) or `.onnx` (onnxruntime) file; GuardError when it must not be used."""
        path = Path(path)
        kind = "model file (.ckpt from digit_lit.train or .onnx from digit_lit.export)"
        _regular_file(path, kind)
        if path.suffix.lower() == ".onnx":  # model.ONNX too: read as a checkpoint it was refused as a bad one
            from digit_lit.guard_onnx import load_onnx

            logits, rule = load_onnx(path)
            guard = cls(logits, rule, {})
        else:
            from digit_lit.checkpoint import load_net

            net, rule, spec = load_net(path)
            guard = cls.from_net(net, rule, spec)
        guard.identity = {"model": path.name, "sha256": file_sha256(path), "threshold": rule.threshold}
        return guard

    @classmethod
    def from_net(cls, net: Any, rule: Rule, spec: dict[str, Any] | None = None) -> Guard:
        """A guard around an in-memory torch net (eval mode) and a rule, e.g. a model just trained."""
        import torch

        net = net.eval()

        def logits(x: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return net(torch.from_numpy(x)).float().numpy()

        guard = cls(logits, rule, {"model": "in memory", "sha256": None, "threshold": rule.threshold})
        guard.net, guard.spec = net, spec
        return guard

    def logits(self, images: np.ndarray, batch: int = 2000) -> np.ndarray:
        x = as_model_input(images)
        out = [self._logits(x[i : i + batch]) for i in range(0, len(x), batch)]
        z = np.concatenate(out) if out else np.zeros((0, NUM_CLASSES), np.float32)
        if not np.isfinite(z).all():
            raise GuardError(f"{self.identity.get('model')}: the model gave non-finite outputs; its file is damaged")
        return z

    def probs(self, images: np.ndarray) -> np.ndarray:
        """Calibrated probabilities [N, 10] (see `as_model_input` for what images may be)."""
        return self.rule.probs(self.logits(images))

    def confidence(self, probs: np.ndarray) -> np.ndarray:
        return self.rule.confidence(probs)

    def decide(self, probs: np.ndarray) -> np.ndarray:
        """Accept (True) or refuse each row of calibrated probabilities."""
        return self.rule.accepts(self.rule.confidence(probs))

    def verdicts(self, views: np.ndarray) -> list[dict[str, Any]]:
        """digit, confidence, top3 and accepted for each MNIST-style view [N, 28, 28] (as `preprocess.to_mnist`)."""
        p = self.probs(views)
        accepted = self.decide(p)
        out = []
        for row, ok in zip(p, accepted, strict=True):
            top = np.argsort(row)[::-1][:3]
            out.append(
                {
                    "digit": int(top[0]),
                    "confidence": round(float(row[top[0]]), 6),
                    "top3": [[int(d), round(float(row[d]), 6)] for d in top],
                    "accepted": bool(ok),
                }
            )
        return out

    def read(self, picture: Any) -> dict[str, Any]:
        """The verdict on one picture (PIL image or array, any size and colour); raises PreprocessError if unusable."""
        from digit_lit.preprocess import to_mnist

        return self.verdicts(to_mnist(picture)[None])[0]
