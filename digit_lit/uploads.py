"""What a request to the server asks for: one function, `parse`, turns a request as sent into (picture, options).

Every way of sending a picture meets `predict`'s rules (its documented formats only, a pixel limit, its modes, the same
words for what is wrong); each mode of predict.MODES has its reader in the server (serve_api.READERS). Accepted bodies:

    multipart/form-data          field `file` (the picture); optional fields `mode`, `expected_length`
    image/png, image/jpeg, ...   the picture itself (PNG, JPEG, BMP, GIF, TIFF, WebP)
    application/json             {"image": "<base64, or a data: URL>"} or {"array": [[0-255, ...], ...]} (H x W grey
                                 levels, any ink on any paper, as a canvas gives them); optional "mode" (a string),
                                 "expected_length" (a number)

and any request may give its options in the query string instead (`?mode=code&expected_length=4`). Each field and
option is given once: a repeated one (two pictures, two modes) is refused, not settled by which came last.
`mode` is "digit" (the default: one digit) or "code" (one line of digits, `detect.read_code`); `expected_length`, for
mode "code" only, is the count of digits the code must have. Errors are `RequestError`s: an HTTP status and one line.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from PIL import Image
from python_multipart import FormParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header

from digit_lit.errors import ConfigError, DigitLitError
from digit_lit.predict import FORMATS, MODES, check_mode, unreadable

OPTIONS = ("mode", "expected_length")
# the longest code a request may ask for: the code reader works at a size fit for a line of up to 10 digits
# (detect.WORK_SIDE) and is measured on codes of up to 10 (codes.LENGTHS); predict's own bound is only a typo check
MAX_EXPECTED_LENGTH = 10
Image.init()  # registers every plugin, so Image.MIME knows the documented formats' types
IMAGE_TYPES = tuple(Image.MIME[f] for f in FORMATS)
JSON_TYPE, FORM_TYPE = "application/json", "multipart/form-data"
ACCEPTED = f"send multipart/form-data (field file), the picture as {', '.join(IMAGE_TYPES)}, or {JSON_TYPE}"

Picture = Image.Image | np.ndarray
T = TypeVar("T")


class RequestError(DigitLitError):
    """A request the server cannot read: `status` is the HTTP answer (4xx), the message says what to send instead."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    max_bytes: int  # request body; the HTTP front checks it while reading
    max_pixels: int  # width x height of the picture, checked before any pixel is decoded


@dataclass(frozen=True)
class Options:
    """What a request asks for beside its picture."""

    mode: str = MODES[0]
    expected_length: int | None = None  # mode "code": the count of digits the code must have (None: not checked)


@dataclass(frozen=True)
class Upload:
    """A request as sent: what the HTTP front hands a worker (plain data, so it crosses process queues)."""

    content_type: str
    body: bytes = field(repr=False)  # never in a log line
    query: dict[str, str] = field(default_factory=dict)


def names(unknown: list[str], shown: int = 5) -> str:
    """The first few names a request sent (each cut to 40 characters), and how many more: 200,000 unknown JSON keys
    were all echoed back, a one-line error of 3.7 MB."""
    listed = ", ".join(name[:40] for name in unknown[:shown])
    return listed + (f" and {len(unknown) - shown:,} more" if len(unknown) > shown else "")


def each_once(pairs: Iterable[tuple[str, T]], what: str) -> dict[str, T]:
    """Named values as sent, in order (a query string's parameters, a form's fields, a JSON object's keys), as a dict:
    a name given twice (two pictures, `?mode=code&mode=digit`) is refused, not settled by which came last, as a
    plain dict (json, the multipart parser, the query string's) would settle it in silence."""
    named: dict[str, T] = {}
    for name, value in pairs:
        if name in named:
            raise RequestError(400, f"{what} {name[:40]} given twice; send one picture and each option once")
        named[name] = value
    return named


def parse(upload: Upload, limits: Limits) -> tuple[Picture, Options]:
    """The picture (a lazily decoded PIL image, or a uint8 H x W array) and the options of one request."""
    media, _ = parse_options_header(upload.content_type)
    media_type = media.decode("latin-1").lower()
    if not upload.body:
        raise RequestError(400, f"empty request body; {ACCEPTED}")
    if media_type == FORM_TYPE:
        data, fields = _form(upload)
    elif media_type in IMAGE_TYPES:
        data, fields = upload.body, {}
    elif media_type == JSON_TYPE:
        data, fields = _json(upload.body, limits)
    else:
        raise RequestError(415, f"content type {media_type or '(none)'} is not accepted; {ACCEPTED}")
    options = _options(fields, upload.query)  # before any decoding: a wrong option costs nothing
    return (open_picture(data, limits) if isinstance(data, bytes) else data), options


def open_picture(data: bytes, limits: Limits) -> Image.Image:
    """Open (header only) with predict's decoders; refuse over the pixel limit before any pixel is decoded."""
    try:
        img = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError as exc:  # PIL's own size limit, met before ours: too large, as ours says
        raise RequestError(413, unreadable(exc)) from None
    except Exception as exc:  # noqa: BLE001 - any decoder failure is this request's error, in predict's words
        raise RequestError(400, unreadable(exc)) from None
    _check_pixels(img.width, img.height, limits)
    return img


def _check_pixels(width: int, height: int, limits: Limits) -> None:
    if width * height > limits.max_pixels:
        raise RequestError(
            413, f"image is {width}x{height} pixels, over the {limits.max_pixels / 1e6:g} MP limit; downscale it"
        )


def _options(fields: dict[str, object], query: dict[str, str]) -> Options:
    unknown = sorted(set(query) - set(OPTIONS))
    if unknown:
        raise RequestError(400, f"unknown query parameter {names(unknown)}; known: {', '.join(OPTIONS)}")
    mode = _once("mode", fields, query, _mode)
    length = _once("expected_length", fields, query, _length)
    try:  # predict's rules and words: a known mode; expected_length with mode=code only
        mode, length = check_mode(MODES[0] if mode is None else mode, length)
    except ConfigError as exc:
        raise RequestError(400, str(exc)) from None
    return Options(mode, length)


def _once(name: str, fields: dict[str, object], query: dict[str, str], read: Callable[[object], T]) -> T | None:
    """An option given in the body or the query string (both: the same value), as `read` makes it; None if absent."""
    given = {read(v) for v in (fields.get(name), query.get(name)) if v is not None}
    if len(given) > 1:
        values = ", ".join(sorted(map(str, given)))
        raise RequestError(400, f"{name} given twice with different values ({values}); give it once")
    return given.pop() if given else None


def _mode(value: object) -> str:
    if not isinstance(value, str):
        raise RequestError(400, f"mode must be a string, e.g. {MODES[0]!r}")
    return value


def _length(value: object) -> int:
    """expected_length from a form field or the query string (decimal digits) or JSON (a whole number)."""
    # a string of thousands of digits is no count (and past 4,300 `int` refuses it with a ValueError: a 500)
    decimal = isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 6
    count = int(value) if decimal else value
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_EXPECTED_LENGTH:
        rule = f"a whole number of digits from 1 to {MAX_EXPECTED_LENGTH}"
        shown = repr(value) if len(repr(value)) <= 24 else repr(value)[:20] + "..."
        raise RequestError(400, f"expected_length={shown} must be {rule} (or left out: no check of the count)")
    return count


def _form(upload: Upload) -> tuple[bytes, dict[str, object]]:
    _, params = parse_options_header(upload.content_type)
    if not params.get(b"boundary"):
        raise RequestError(400, "multipart body without a boundary in its Content-Type; let the client library set it")
    sent: list[tuple[str, bytes | None]] = []

    def keep(part: Any) -> None:  # a Field (plain value) or a File (it had a filename)
        value = part.file_object.getvalue() if hasattr(part, "file_object") else part.value
        sent.append(((part.field_name or b"").decode("utf-8", "replace"), value))

    # every part stays in memory: the body is already within max_bytes
    parser = FormParser(FORM_TYPE, keep, keep, boundary=params[b"boundary"], config={"MAX_MEMORY_FILE_SIZE": 1 << 62})
    try:
        parser.write(upload.body)
        parser.finalize()
    except (FormParserError, ValueError) as exc:
        raise RequestError(400, f"malformed multipart body ({str(exc).splitlines()[0][:120]})") from None
    parts = each_once(sent, "form field")
    unknown = sorted(set(parts) - {"file", *OPTIONS})
    if unknown:
        raise RequestError(400, f"unknown form field {names(unknown)}; send the picture in field file")
    if not parts.get("file"):
        raise RequestError(400, "no picture in the form: send it in field file (curl -F file=@digit.png)")
    fields: dict[str, object] = {k: (v or b"").decode("utf-8", "replace") for k, v in parts.items() if k in OPTIONS}
    return parts["file"], fields


def _json(body: bytes, limits: Limits) -> tuple[bytes | np.ndarray, dict[str, object]]:
    usage = 'send {"image": "<base64>"} or {"array": [[0-255, ...], ...]}'
    try:
        doc = json.loads(body, object_pairs_hook=lambda pairs: each_once(pairs, "JSON field"))
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError; the message names a position, never the body
        raise RequestError(400, f"body is not valid JSON ({str(exc)[:80]}); {usage}") from None
    except RecursionError:  # thousands of nested brackets: json's recursion, not a picture
        raise RequestError(400, f"body is not valid JSON (nested too deeply); {usage}") from None
    if not isinstance(doc, dict):
        raise RequestError(400, f"JSON body must be an object; {usage}")
    unknown = sorted(set(doc) - {"image", "array", *OPTIONS})
    if unknown:
        raise RequestError(400, f"unknown JSON field {names(unknown)}; {usage}")
    if ("image" in doc) == ("array" in doc):
        raise RequestError(400, f"give exactly one of image and array; {usage}")
    fields = {k: doc[k] for k in OPTIONS if k in doc}
    _once("mode", fields, {}, _mode)  # a wrong option costs no decoding
    _once("expected_length", fields, {}, _length)
    data = _base64(doc["image"]) if "image" in doc else _array(doc["array"], limits)
    return data, fields


def _base64(value: object) -> bytes:
    if not isinstance(value, str):
        raise RequestError(400, "image must be a base64 string (or a data:image/...;base64, URL)")
    text = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    # whitespace is taken out (MIME's line breaks: GNU base64 wraps at 76 columns); anything else not base64 is refused
    text = "".join(text.split())
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(400, "image is not valid base64; encode the picture's file bytes") from None
    if not data:
        raise RequestError(400, "image is empty; encode the picture's file bytes in base64")
    return data


def _array(value: object, limits: Limits) -> np.ndarray:
    shape_rule = "array must be H rows of W grey levels (numbers 0-255)"
    if not isinstance(value, list) or not value or not all(isinstance(row, list) and row for row in value):
        raise RequestError(400, shape_rule)
    height, width = len(value), len(value[0])
    if any(len(row) != width for row in value):
        raise RequestError(400, f"{shape_rule}; its rows differ in length")
    _check_pixels(width, height, limits)
    try:
        grey = np.array(value)
    except ValueError:
        raise RequestError(400, shape_rule) from None
    # bool, string and null come out as other kinds; nested rows as more dimensions
    if grey.ndim != 2 or grey.dtype.kind not in "iuf":
        raise RequestError(400, f"{shape_rule}, got {grey.ndim}-D {grey.dtype.name} values")
    if not (np.isfinite(grey).all() and grey.min() >= 0 and grey.max() <= 255):
        raise RequestError(400, f"{shape_rule}; some are outside 0-255")
    if grey.min() < grey.max() <= 1:  # at 0-255 one colour: a mask, or floats in 0-1 (as Python's to_mnist takes)
        raise RequestError(400, f"{shape_rule}; all of these lie within 0-1: for levels in 0-1, multiply by 255")
    return np.rint(grey).astype(np.uint8)
