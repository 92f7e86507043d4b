"""Export a checkpoint to ONNX for serving without torch or Lightning: `python -m digit_lit.export ckpt_path=X.ckpt`.

Writes X.onnx: input `image` [N, 1, 28, 28] float in [0, 1] (white ink on black), output `logits`
[N, members x views, 10] (normalisation and an ensemble's test-time views inside the graph). The decision rule
(temperature, score, threshold) travels in the file's `metadata_props`, bound to the graph by a digest, and
`guard.Guard` applies it. X.json beside it is a card for people: the same rule, and the sha256 of the .onnx it
describes. Both files are written atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hydra
import torch
from omegaconf import DictConfig
from torch import nn

import digit_lit.quiet  # noqa: F401 - on import, silences third-party noise (see quiet.py)
from digit_lit.config import no_added_settings, one_path, path_of
from digit_lit.constants import IMAGE_SIZE, MNIST_MEAN, MNIST_STD, NUM_CLASSES
from digit_lit.errors import ConfigError, command_line, exit_cleanly
from digit_lit.files import atomic_write, cannot_write
from digit_lit.guard import FORMAT, Guard
from digit_lit.guard_onnx import INPUT, META_DIGEST, META_FORMAT, META_NET, META_RULE, OUTPUT, onnx_digest
from digit_lit.models import members


class MemberLogits(nn.Module):
    """The net with its logits always shaped [N, members (x views), 10] (a single net is an ensemble of one)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return members(self.net(image))


def onnx_model(guard: Guard, spec: dict[str, Any]) -> Any:
    """The ONNX ModelProto of a checkpoint-loaded guard, with its rule and digest in metadata_props."""
    example = torch.rand(2, 1, IMAGE_SIZE, IMAGE_SIZE)
    program = torch.onnx.export(
        MemberLogits(guard.net).eval(),
        (example,),
        input_names=[INPUT],
        output_names=[OUTPUT],
        dynamic_shapes=({0: torch.export.Dim("batch")},),
        dynamo=True,
        verbose=False,
    )
    model = program.model_proto
    rule = guard.rule
    meta = {
        META_FORMAT: FORMAT,
        META_RULE: json.dumps(rule.as_dict()),
        META_NET: json.dumps(spec),
        META_DIGEST: onnx_digest(model, rule, spec),
    }
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return model


def export(ckpt_path: str | Path, out: str | Path | None = None) -> Path:
    ckpt_path = Path(ckpt_path)
    if ckpt_path.suffix.lower() == ".onnx":
        raise ConfigError(f"ckpt_path={ckpt_path} is already an ONNX export; give the .ckpt it came from")
    out = Path(out) if out else ckpt_path.with_suffix(".onnx")
    if out.suffix != ".onnx":
        raise ConfigError(f"out={out} must end in .onnx")
    if out.with_suffix(".json").resolve() == ckpt_path.resolve():  # a checkpoint named X.json: the card replaced it
        raise ConfigError(
            f"the export's card {out.with_suffix('.json')} would replace the checkpoint it is made from; rename the "
            "checkpoint to .ckpt, or give out= elsewhere"
        )
    guard = Guard.load(ckpt_path)
    spec = guard.spec or {}
    model = onnx_model(guard, spec).SerializeToString()
    card = {
        "sha256": hashlib.sha256(model).hexdigest(),
        "input": {"name": INPUT, "shape": ["N", 1, IMAGE_SIZE, IMAGE_SIZE], "range": [0.0, 1.0], "ink": "white"},
        "output": {"name": OUTPUT, "shape": ["N", "members x views", NUM_CLASSES]},
        # applied inside the graph; stated so other readers of the file know the training statistics
        "normalisation": {"mean": MNIST_MEAN, "std": MNIST_STD, "in_graph": True},
        "rule": guard.rule.as_dict(),
        "accept": "mean over members and views of softmax(logits / temperature); accept when its max >= threshold",
        "net": spec,
        "checkpoint": str(ckpt_path),
        "checkpoint_sha256": guard.identity["sha256"],
    }
    with _restored_on_failure(out):  # a card that cannot be written left the new model beside the old card: broken
        atomic_write(out, model)
        atomic_write(out.with_suffix(".json"), json.dumps(card, indent=1))
    return out


@contextlib.contextmanager
def _restored_on_failure(path: Path) -> Iterator[None]:
    """`path` as it was, should the block fail (an export replaced in two files, its model and its card)."""
    if not path.is_file():
        yield
        return
    kept = None
    try:
        try:
            fd, kept = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".kept", dir=path.parent)
            os.close(fd)
            shutil.copy2(path, kept)
        except OSError as exc:
            raise cannot_write(path, exc) from exc
        try:
            yield
        except BaseException:
            os.replace(kept, path)
            raise
    finally:
        if kept is not None:
            with contextlib.suppress(OSError):
                os.unlink(kept)


@command_line
@hydra.main(version_base="1.3", config_path="conf", config_name="export")
@exit_cleanly
def main(cfg: DictConfig) -> None:
    why = "its settings are ckpt_path= and out=; the export carries the checkpoint's whole rule"
    no_added_settings("export", why, own=(cfg, "export"))
    ckpt = path_of(cfg, "ckpt_path", "give ckpt_path=RUN/checkpoints/X.ckpt: the checkpoint to export")
    out = cfg.get("out")
    out = export(ckpt, None if out in (None, "") else one_path("out", out))
    print(f"wrote {out} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
