"""The guard as a LitServe API: what each inference worker process does with a request.

Each worker loads the model through `Guard.load` (the one owner of accept/refuse) and reads a request as `predict`
reads a file: `uploads.parse` -> `preprocess.to_mnist` -> `Guard.verdicts`. The answer is a predict line (digit,
confidence, top3, accepted), the model's identity, and the 28x28 view the model saw, as a base64 PNG.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import litserve as ls
import numpy as np
from fastapi.responses import JSONResponse
from PIL import Image

from digit_lit.guard import Guard, GuardError
from digit_lit.predict import unreadable
from digit_lit.preprocess import PreprocessError, to_mnist
from digit_lit.uploads import Limits, Picture, RequestError, Upload, parse

# one reader per mode of uploads.MODES; a new mode (e.g. "code", a whole handwritten code) adds its reader here
READERS: dict[str, Callable[[Picture], np.ndarray]] = {"digit": to_mnist}


@dataclass(frozen=True)
class Failure:
    """Why one request has no verdict: its HTTP status (4xx) and one line."""

    status: int
    error: str


def view_png(view: np.ndarray) -> str:
    """The 28x28 view (floats in [0, 1], white ink on black) as base64 PNG."""
    buf = io.BytesIO()
    Image.fromarray(np.rint(view * 255).astype(np.uint8)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def read_view(upload: Upload, limits: Limits) -> np.ndarray | Failure:
    """The MNIST-style view of a request's picture, or why there is none."""
    try:
        picture, options = parse(upload, limits)
    except RequestError as exc:
        return Failure(exc.status, str(exc))
    try:
        return READERS[options["mode"]](picture)
    except PreprocessError as exc:  # a picture, but no digit in it (blank, one colour, too small)
        return Failure(422, str(exc))
    except Exception as exc:  # noqa: BLE001 - truncated or malformed data fails in the decoder: predict's words
        return Failure(400, unreadable(exc))
    finally:
        if isinstance(picture, Image.Image):
            picture.close()


class GuardAPI(ls.LitAPI):
    """POST /predict. Batching (max_batch_size > 1) stacks the views of concurrent requests into one model call."""

    def __init__(self, model_path: str, sha256: str, limits: Limits, max_batch_size: int, batch_timeout: float) -> None:
        super().__init__(max_batch_size=max_batch_size, batch_timeout=batch_timeout)
        self.model_path, self.sha256, self.limits = model_path, sha256, limits
        self.guard: Guard | None = None

    def setup(self, device: str) -> None:
        guard = Guard.load(self.model_path)
        if guard.identity["sha256"] != self.sha256:
            raise GuardError(f"{self.model_path} changed after the server checked it (sha256 differs); start it again")
        if guard.net is not None:  # a .ckpt: torch's threads would fight the other workers for the same cores
            import torch

            torch.set_num_threads(1)
        self.guard = guard

    def decode_request(self, request: Upload, **kwargs: Any) -> np.ndarray | Failure:
        # never raises: in a batch, LitServe fails every request of the batch on one exception
        return read_view(request, self.limits)

    def batch(self, inputs: list[np.ndarray | Failure]) -> list[np.ndarray | Failure]:
        return inputs  # views and failures stay in order; predict stacks the views

    def predict(self, x: Any, **kwargs: Any) -> Any:
        assert self.guard is not None, "setup() loads the guard"
        items = x if self.max_batch_size > 1 else [x]
        views = [item for item in items if isinstance(item, np.ndarray)]
        verdicts = iter(self.guard.verdicts(np.stack(views)) if views else [])
        out = [item if isinstance(item, Failure) else (next(verdicts), item) for item in items]
        return out if self.max_batch_size > 1 else out[0]

    def encode_response(self, output: Any, **kwargs: Any) -> Any:
        if isinstance(output, Failure):
            return JSONResponse({"error": output.error}, status_code=output.status)
        verdict, view = output
        return {**verdict, "model": self.guard.identity, "view": view_png(view)}
