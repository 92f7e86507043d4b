"""Export a checkpoint to ONNX for serving without Lightning: `python -m digit_lit.export ckpt_path=X.ckpt`.

Writes X.onnx (input `image` [N, 1, 28, 28] float in [0, 1], white ink on black; outputs `logits` and calibrated
`probs`; normalisation and temperature are inside the graph) and X.json beside it with the threshold and the rest.
"""

from __future__ import annotations

import json
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig
from torch import nn

from digit_lit.constants import IMAGE_SIZE, MNIST_MEAN, MNIST_STD, NUM_CLASSES
from digit_lit.errors import exit_cleanly
from digit_lit.module import DigitClassifier
from digit_lit.run import load_checkpoint


class Calibrated(nn.Module):
    def __init__(self, model: DigitClassifier) -> None:
        super().__init__()
        self.net, self.temperature = model.net, float(model.temperature)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.net(image)
        return logits, torch.softmax(logits / self.temperature, dim=1)


def export(ckpt_path: str | Path, out: str | Path | None = None) -> Path:
    model = load_checkpoint(ckpt_path)
    out = Path(out) if out else Path(ckpt_path).with_suffix(".onnx")
    out.parent.mkdir(parents=True, exist_ok=True)
    example = torch.rand(2, 1, IMAGE_SIZE, IMAGE_SIZE)
    torch.onnx.export(
        Calibrated(model).eval(),
        (example,),
        str(out),
        input_names=["image"],
        output_names=["logits", "probs"],
        dynamic_shapes=({0: torch.export.Dim("batch")},),
        dynamo=True,
        external_data=False,
    )
    meta = {
        "input": {"name": "image", "shape": ["N", 1, IMAGE_SIZE, IMAGE_SIZE], "range": [0.0, 1.0], "ink": "white"},
        "outputs": ["logits", "probs"],
        "classes": NUM_CLASSES,
        # applied inside the graph; stated so other readers of the file know the training statistics
        "normalisation": {"mean": MNIST_MEAN, "std": MNIST_STD, "in_graph": True},
        "temperature": float(model.temperature),
        "threshold": float(model.threshold),
        "max_wrong_accept": model.max_wrong_accept,
        "net": model.hparams["net"],
        "checkpoint": str(ckpt_path),
    }
    out.with_suffix(".json").write_text(json.dumps(meta, indent=1))
    return out


@hydra.main(version_base="1.3", config_path="../conf", config_name="export")
@exit_cleanly
def main(cfg: DictConfig) -> None:
    out = export(cfg.ckpt_path, cfg.get("out"))
    print(f"wrote {out} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
