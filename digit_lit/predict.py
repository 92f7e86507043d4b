"""Read handwritten digits from image files, and refuse what cannot be read.

    python -m digit_lit.predict ckpt_path=RUN/checkpoints/best.ckpt inputs=[photo.jpg,scans/]
    python -m digit_lit.predict model_path=model.onnx inputs=[photo.jpg]     # onnxruntime, no Lightning

One JSON line per image: path, digit, confidence, top3, accepted (and error when the file could not be used).
Exit status 1 when any file failed. In Python: `Reader.load(path).read(pil_image_or_array)`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from omegaconf import DictConfig
from PIL import Image, UnidentifiedImageError

from digit_lit.errors import ConfigError, exit_cleanly
from digit_lit.preprocess import PreprocessError, to_mnist

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


@dataclass
class Reader:
    """A classifier with its calibration: probs(batch) gives calibrated probabilities; `threshold` guards them."""

    backend: Any
    threshold: float
    kind: str

    @classmethod
    def load(cls, path: str | Path) -> Reader:
        path = Path(path)
        if path.suffix == ".onnx":
            return cls._load_onnx(path)
        from digit_lit.run import load_checkpoint  # torch + Lightning only on this path

        model = load_checkpoint(path)
        return cls(model, float(model.threshold), "torch")

    @classmethod
    def _load_onnx(cls, path: Path) -> Reader:
        import onnxruntime as ort

        meta_path = path.with_suffix(".json")
        if not path.is_file() or not meta_path.is_file():
            raise ConfigError(
                f"{path} and {meta_path.name} beside it are both needed; write them with digit_lit.export"
            )
        meta = json.loads(meta_path.read_text())
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # one small image: threads cost more than they give
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        return cls(session, float(meta["threshold"]), "onnx")

    def probs(self, batch: np.ndarray) -> np.ndarray:
        """Calibrated probabilities [N, 10] of images [N, 1, 28, 28] in [0, 1]."""
        if self.kind == "onnx":
            return self.backend.run(["probs"], {"image": batch.astype(np.float32)})[0]
        import torch

        with torch.inference_mode():
            return self.backend.calibrated_probs(torch.from_numpy(batch)).numpy()

    def read(self, image: Image.Image | np.ndarray) -> dict[str, Any]:
        """digit, confidence, top3 and accepted for one picture (raises PreprocessError when it is unusable)."""
        x = to_mnist(image)[None, None]
        p = self.probs(x)[0]
        top = np.argsort(p)[::-1][:3]
        confidence = float(p[top[0]])
        return {
            "digit": int(top[0]),
            "confidence": round(confidence, 6),
            "top3": [[int(d), round(float(p[d]), 6)] for d in top],
            "accepted": confidence >= self.threshold,
        }


def expand(inputs: Sequence[str]) -> Iterator[Path]:
    """Files as given; folders as their image files, sorted."""
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        else:
            yield path


def read_file(reader: Reader, path: Path) -> dict[str, Any]:
    try:
        with Image.open(path) as img:
            return {"path": str(path), **reader.read(img)}
    except FileNotFoundError:
        error = "no such file"
    except IsADirectoryError:
        error = "is a directory"
    except PermissionError:
        error = "permission denied"
    except UnidentifiedImageError:
        error = "not an image PIL can read (PNG, JPG, BMP...)"
    except Image.DecompressionBombError as exc:
        error = f"image too large: {exc}"
    except PreprocessError as exc:
        error = str(exc)
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or malformed files
        error = f"unreadable image ({str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__})"
    return {"path": str(path), "digit": None, "confidence": None, "top3": [], "accepted": False, "error": error}


def predict(model: str, inputs: Sequence[str]) -> int:
    """Print one JSON line per image; return the exit status (1 when any image failed)."""
    reader = Reader.load(model)
    paths = list(expand(inputs))
    if not paths:
        raise ConfigError("no images to read: give inputs=[FILE_OR_DIR,...]")
    failed = 0
    for path in paths:
        result = read_file(reader, path)
        failed += "error" in result
        print(json.dumps(result), flush=True)
    return 1 if failed else 0


@hydra.main(version_base="1.3", config_path="../conf", config_name="predict")
@exit_cleanly
def main(cfg: DictConfig) -> None:
    model = cfg.get("model_path") or cfg.get("ckpt_path")
    if not model:
        raise ConfigError("give ckpt_path=RUN/checkpoints/X.ckpt or model_path=X.onnx")
    inputs = cfg.get("inputs") or []
    sys.exit(predict(str(model), [inputs] if isinstance(inputs, str) else list(inputs)))


if __name__ == "__main__":
    main()
