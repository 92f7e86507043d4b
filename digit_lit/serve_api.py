"""The guard as a LitServe API: what each inference worker process does with a request.

Each worker loads the model through `Guard.load` (the one owner of accept/refuse) and reads a request as `predict`
reads a file, by its mode:

    digit   `uploads.parse` -> `preprocess.to_mnist` -> `Guard.verdicts`: a predict line (digit, confidence, top3,
            accepted), the model's identity, and the 28x28 view the model saw, as a base64 PNG
    code    `uploads.parse` -> `detect.read_candidates` -> `detect.choose`: what `predict mode=code` prints (code,
            confidence, accepted, digits, reason), the model's identity, and in each digit the 28x28 view read as it

With batching (max_batch_size > 1) the digit views of a batch are stacked into one model call; a code's candidate
crops are read in one call of their own, as `read_code` reads them (a code is ~20 crops: it needs no batch to fill).
"""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import litserve as ls
import numpy as np
from fastapi.responses import JSONResponse
from PIL import Image

from digit_lit.detect import Candidates, choose, read_candidates
from digit_lit.guard import Guard, GuardError
from digit_lit.predict import unreadable
from digit_lit.preprocess import PreprocessError, to_mnist
from digit_lit.uploads import Limits, Picture, RequestError, Upload, parse

LITSERVE_ADVICE = "by providing the `timeout` argument to LitServe(..., timeout=30)"


class OwnSettingsInLog(logging.Filter):
    """LitServe's log line for a request that waited too long tells the operator to pass `timeout` to its constructor,
    which digit_lit calls: the setting is serve's `timeout=` (conf/serve.yaml)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if LITSERVE_ADVICE in message:
            record.msg, record.args = message.replace(LITSERVE_ADVICE, "with serve's timeout= (conf/serve.yaml)"), ()
        return True


def digit_view(guard: Guard, picture: Picture) -> np.ndarray:
    return to_mnist(picture)  # the guard reads it in `predict`, stacked with the batch's other views


# one reader per mode of uploads.MODES: a picture to what `GuardAPI.predict` takes (a 28x28 view, or a code's
# candidates already read by the guard)
READERS: dict[str, Callable[[Guard, Picture], np.ndarray | Candidates]] = {
    "digit": digit_view,
    "code": read_candidates,
}


@dataclass(frozen=True)
class Failure:
    """Why one request has no verdict: its HTTP status (4xx) and one line."""

    status: int
    error: str


@dataclass(frozen=True)
class Code:
    """A code request between decode_request and predict: its candidates, read, and the count it must have."""

    found: Candidates
    expected_length: int | None


def view_png(view: np.ndarray) -> str:
    """The 28x28 view (floats in [0, 1], white ink on black) as base64 PNG."""
    buf = io.BytesIO()
    Image.fromarray(np.rint(view * 255).astype(np.uint8)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def read_request(guard: Guard, upload: Upload, limits: Limits) -> np.ndarray | Code | Failure:
    """What `predict` needs of a request (a digit's view, a code's candidates), or why there is none."""
    try:
        picture, options = parse(upload, limits)
    except RequestError as exc:
        return Failure(exc.status, str(exc))
    try:
        read = READERS[options.mode](guard, picture)
        return read if isinstance(read, np.ndarray) else Code(read, options.expected_length)
    except PreprocessError as exc:  # a picture, but no digit in it (blank, one colour, too small)
        return Failure(422, str(exc))
    except Exception as exc:  # noqa: BLE001 - truncated or malformed data fails in the decoder: predict's words
        return Failure(400, unreadable(exc))
    finally:
        if isinstance(picture, Image.Image):
            picture.close()


def code_verdict(guard: Guard, code: Code) -> tuple[dict[str, Any], np.ndarray] | Failure:
    """A code's verdict (as `predict mode=code` prints it) and the views of its digits, or why there is none."""
    try:
        chosen, verdict = choose(guard, code.found, code.expected_length)
    except PreprocessError as exc:  # marks that cannot be read as a line of digits
        return Failure(422, str(exc))
    return verdict, code.found.views[chosen]


class GuardAPI(ls.LitAPI):
    """POST /predict. Batching (max_batch_size > 1) stacks the views of concurrent requests into one model call."""

    def __init__(self, model_path: str, sha256: str, limits: Limits, max_batch_size: int, batch_timeout: float) -> None:
        super().__init__(max_batch_size=max_batch_size, batch_timeout=batch_timeout)
        self.model_path, self.sha256, self.limits = model_path, sha256, limits
        self.guard: Guard | None = None

    def setup(self, device: str) -> None:
        # the worker's queue loop logs a request that waited too long (in this process)
        logging.getLogger("litserve.loops.simple_loops").addFilter(OwnSettingsInLog())
        guard = Guard.load(self.model_path)
        if guard.identity["sha256"] != self.sha256:
            raise GuardError(f"{self.model_path} changed after the server checked it (sha256 differs); start it again")
        if guard.net is not None:  # a .ckpt: torch's threads would fight the other workers for the same cores
            import torch

            torch.set_num_threads(1)
        self.guard = guard

    def decode_request(self, request: Upload, **kwargs: Any) -> np.ndarray | Code | Failure:
        # never raises: in a batch, LitServe fails every request of the batch on one exception
        assert self.guard is not None, "setup() loads the guard"
        return read_request(self.guard, request, self.limits)

    def batch(self, inputs: list[np.ndarray | Code | Failure]) -> list[np.ndarray | Code | Failure]:
        return inputs  # views, codes and failures stay in order; predict stacks the views

    def predict(self, x: Any, **kwargs: Any) -> Any:
        assert self.guard is not None, "setup() loads the guard"
        items = x if self.max_batch_size > 1 else [x]
        views = [item for item in items if isinstance(item, np.ndarray)]
        verdicts = iter(self.guard.verdicts(np.stack(views)) if views else [])
        out: list[tuple[dict[str, Any], np.ndarray] | Failure] = []
        for item in items:
            if isinstance(item, np.ndarray):
                out.append((next(verdicts), item))
            else:
                out.append(code_verdict(self.guard, item) if isinstance(item, Code) else item)
        return out if self.max_batch_size > 1 else out[0]

    def encode_response(self, output: Any, **kwargs: Any) -> Any:
        if isinstance(output, Failure):
            return JSONResponse({"error": output.error}, status_code=output.status)
        verdict, views = output
        if "code" not in verdict:
            return {**verdict, "model": self.guard.identity, "view": view_png(views)}
        digits = [{**d, "view": view_png(v)} for d, v in zip(verdict["digits"], views, strict=True)]
        return {**verdict, "digits": digits, "model": self.guard.identity}
