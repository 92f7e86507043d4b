"""Read handwritten digits from image files, and refuse what cannot be read.

    python -m digit_lit.predict ckpt_path=RUN/checkpoints/best.ckpt inputs=[photo.jpg,scans/]
    python -m digit_lit.predict model_path=model.onnx inputs=[photo.jpg]     # onnxruntime, no torch or Lightning
    python -m digit_lit.predict model_path=model.onnx inputs=[code.jpg] mode=code expected_length=6

One JSON line per image: path, digit, confidence, top3, accepted (and error when the file could not be used); with
mode=code: path, code, confidence, accepted, digits (each: digit, confidence, accepted, box), reason when refused.
Exit status 1 when any file failed (a refused digit or code is a verdict, not a failure). In Python:
`Guard.load(path).read(pil_image_or_array)` (digit_lit.guard), `read_code(guard, picture)` (digit_lit.detect).
"""

from __future__ import annotations

import json
import os
import signal
import stat
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, ListConfig
from PIL import Image, UnidentifiedImageError

import digit_lit.quiet  # noqa: F401 - on import, silences third-party noise (see quiet.py)
from digit_lit.config import model_of, no_added_settings, one_path
from digit_lit.detect import check_expected_length, read_code
from digit_lit.errors import ConfigError, command_line, exit_cleanly
from digit_lit.files import OutputError
from digit_lit.guard import Guard
from digit_lit.preprocess import MAX_PIXELS, PreprocessError

# The formats predict documents, by PIL's name: only these decoders ever see a user's file (PIL would otherwise try
# some forty formats by content, whatever the suffix, some of which fail in ways no caller expects).
FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
MODES = ("digit", "code")  # one digit per picture, or a code (one line of digits)


def expand(inputs: Sequence[str]) -> Iterator[Path]:
    """Files as given; folders as their image files, sorted."""
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            # every entry named as a picture but a folder: a broken link or a pipe gets its own error line, not silence
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and not p.is_dir())
        else:
            yield path


def open_image(path: Path) -> Image.Image:
    """Open a regular file with the documented decoders only (a FIFO or device would block or never end)."""
    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(path)
    if not stat.S_ISREG(mode):
        raise PreprocessError("not a regular file (a pipe, device or socket); give an image file")
    return Image.open(path, formats=FORMATS)


def failure(error: str, mode: str = "digit") -> dict[str, Any]:
    if mode == "code":
        return {"code": None, "confidence": None, "accepted": False, "digits": [], "error": error}
    return {"digit": None, "confidence": None, "top3": [], "accepted": False, "error": error}


def unreadable(exc: Exception) -> str:
    """Why a picture could not be read, in one line: the same words for a file here and an upload to the server."""
    if isinstance(exc, UnidentifiedImageError):
        return f"not an image in a supported format ({', '.join(FORMATS)})"
    if isinstance(exc, Image.DecompressionBombError):  # PIL's own limit, before ours (MAX_PIXELS) can see the size
        return f"image too large: over {MAX_PIXELS // 1_000_000} MP (past PIL's decompression-bomb limit); downscale it"
    if isinstance(exc, PreprocessError):
        return str(exc)
    return f"unreadable image ({str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__})"


def read_file(guard: Guard, path: Path, mode: str = "digit", expected_length: int | None = None) -> dict[str, Any]:
    """One picture's JSON object (one digit, or with mode="code" a code); any way the file can fail becomes its
    "error", never an exception."""
    try:
        with open_image(path) as img:
            verdict = guard.read(img) if mode == "digit" else read_code(guard, img, expected_length)
            return {"path": str(path), **verdict}
    except FileNotFoundError:
        error = "no such file"
    except IsADirectoryError:
        error = "is a directory"
    except PermissionError:
        error = "permission denied"
    except Exception as exc:  # noqa: BLE001 - any decoder failure (truncated, malformed, exotic) is this file's error
        error = unreadable(exc)
    return {"path": str(path), **failure(error, mode)}


def check_mode(mode: object, expected_length: object) -> tuple[str, int | None]:
    """mode and expected_length as predict takes them; ConfigError says what is wrong."""
    if mode not in MODES:
        raise ConfigError(f"mode={mode!r} is not a mode: use mode=digit (one digit a picture) or mode=code")
    if expected_length is None:
        return str(mode), None
    if mode != "code":
        raise ConfigError("expected_length applies to mode=code only; add mode=code or drop expected_length")
    return str(mode), check_expected_length(expected_length)


def predict(model: str, inputs: Sequence[str], mode: str = "digit", expected_length: int | None = None) -> int:
    """Print one JSON line per image; return the exit status (1 when any image failed)."""
    mode, expected_length = check_mode(mode, expected_length)
    guard = Guard.load(model)
    paths = list(expand(inputs))
    if not paths:
        raise ConfigError("no images to read: give inputs=[FILE_OR_DIR,...]")
    failed = 0
    for path in paths:
        result = read_file(guard, path, mode, expected_length)
        failed += "error" in result
        try:
            print(json.dumps(result, allow_nan=False), flush=True)
        except BrokenPipeError:
            # the reader has gone (`predict ... | head -1`): stop as a tool in a pipe does, silently, with SIGPIPE's
            # status; stdout to devnull, or the interpreter's own flush at exit fails again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 128 + signal.SIGPIPE
        except OSError as exc:
            raise OutputError(
                f"cannot write the results to standard output ({exc.strerror}); send them to a file with free space"
            ) from None
    return 1 if failed else 0


@command_line
@hydra.main(version_base="1.3", config_path="conf", config_name="predict")
@exit_cleanly
def main(cfg: DictConfig) -> None:
    no_added_settings("predict", "the decision rule is the model's own; retrain to change it", own=(cfg, "predict"))
    model = model_of(cfg, "give ckpt_path=RUN/checkpoints/X.ckpt or model_path=X.onnx")
    given = cfg.get("inputs")
    # none, or an empty list: "no images to read" (an empty list was read as one empty path)
    items = [] if given in (None, "") else list(given) if isinstance(given, ListConfig) else [given]
    inputs = [one_path(f"inputs[{i}]", item) for i, item in enumerate(items)]
    sys.exit(predict(model, inputs, cfg.get("mode", "digit"), cfg.get("expected_length")))


if __name__ == "__main__":
    main()
