"""uploads.parse on its own: what each kind of request gives the server's readers (tests/test_serve.py: over HTTP)."""

from __future__ import annotations

import base64
import json

import httpx
import numpy as np
import pytest
from PIL import Image

from digit_lit.serve_api import READERS
from digit_lit.uploads import MAX_EXPECTED_LENGTH, MODES, Limits, Options, RequestError, Upload, each_once, parse
from tests.helpers.pictures import STROKES, drawn, encode

LIMITS = Limits(max_bytes=1_000_000, max_pixels=10_000)


def multipart(files: dict, data: dict | None = None) -> Upload:
    """A multipart body exactly as an HTTP client library encodes it."""
    request = httpx.Request("POST", "http://x/predict", files=files, data=data)
    return Upload(request.headers["content-type"], request.read())


def test_each_body_kind_gives_the_picture_and_its_mode() -> None:
    png = encode(drawn(STROKES["7"], 64))
    b64 = base64.b64encode(png).decode()
    uploads = [
        Upload("image/png", png),
        Upload("IMAGE/PNG; charset=binary", png),
        Upload("application/json", f'{{"image": "data:image/png;base64,{b64}"}}'.encode()),
        multipart({"file": ("7.png", png, "image/png")}),
        multipart({"file": ("7.png", png)}, {"mode": "digit"}),
    ]
    for upload in uploads:
        picture, options = parse(upload, LIMITS)
        assert isinstance(picture, Image.Image) and picture.size == (64, 64), upload.content_type
        assert options == Options("digit", None)
    grey = [[0, 255.0], [17, 3]]
    picture, _ = parse(Upload("application/json", f'{{"array": {grey}}}'.encode()), LIMITS)
    assert isinstance(picture, np.ndarray) and picture.dtype == np.uint8 and picture.tolist() == [[0, 255], [17, 3]]


def test_mode_is_given_once_and_known() -> None:
    png = encode(drawn(STROKES["1"], 32))
    assert parse(Upload("image/png", png, {"mode": "digit"}), LIMITS)[1] == Options("digit")
    both = Upload("application/json", b'{"image": "aGk=", "mode": "digit"}', {"mode": "other"})
    with pytest.raises(RequestError, match="mode given twice") as err:
        parse(both, LIMITS)
    assert err.value.status == 400
    with pytest.raises(RequestError, match="mode must be a string"):
        parse(Upload("application/json", b'{"image": "aGk=", "mode": 3}'), LIMITS)
    with pytest.raises(RequestError, match="mode='codes' is not a mode: use mode=digit"):
        parse(Upload("image/png", png, {"mode": "codes"}), LIMITS)
    assert set(READERS) == set(MODES) == {"digit", "code"}, "every mode parse lets through has a reader in the server"


def test_code_mode_and_its_expected_length_in_each_kind_of_request() -> None:
    png = encode(drawn(STROKES["1"], 32))
    b64 = base64.b64encode(png).decode()
    code = Options("code", None)
    four = Options("code", 4)
    cases = [
        (Upload("image/png", png, {"mode": "code"}), code),
        (Upload("image/png", png, {"mode": "code", "expected_length": "4"}), four),
        (Upload("application/json", f'{{"image": "{b64}", "mode": "code", "expected_length": 4}}'.encode()), four),
        (Upload("application/json", f'{{"image": "{b64}", "mode": "code"}}'.encode(), {"expected_length": "4"}), four),
        (multipart({"file": ("c.png", png)}, {"mode": "code", "expected_length": "4"}), four),
        (multipart({"file": ("c.png", png)}, {"mode": "code"}), code),
        (
            Upload("image/png", png, {"mode": "code", "expected_length": str(MAX_EXPECTED_LENGTH)}),
            Options("code", MAX_EXPECTED_LENGTH),
        ),
    ]
    for upload, expected in cases:
        options = parse(upload, LIMITS)[1]
        assert options == expected, upload


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (Upload("image/png", b"x", {"mode": "code", "expected_length": "0"}), "expected_length='0' must be a whole"),
        (Upload("image/png", b"x", {"mode": "code", "expected_length": "11"}), "from 1 to 10"),
        (Upload("image/png", b"x", {"mode": "code", "expected_length": "-1"}), "expected_length='-1'"),
        (Upload("image/png", b"x", {"mode": "code", "expected_length": "four"}), "expected_length='four'"),
        (Upload("image/png", b"x", {"mode": "code", "expected_length": ""}), "expected_length=''"),
        (Upload("image/png", b"x", {"mode": "code", "expected_length": "4.0"}), "expected_length='4.0'"),
        # 5,000 digits: `int` refuses past 4,300 with a ValueError, which was a 500; echoed cut short
        (Upload("image/png", b"x", {"mode": "code", "expected_length": "1" * 5000}), "='1111111111111111111... must"),
        (Upload("application/json", b'{"image": "aGk=", "mode": "code", "expected_length": 4.5}'), "=4.5 must"),
        (Upload("application/json", b'{"image": "aGk=", "mode": "code", "expected_length": true}'), "=True must"),
        (Upload("image/png", b"x", {"expected_length": "4"}), "expected_length applies to mode=code only"),
        (
            Upload(
                "application/json", b'{"image": "aGk=", "mode": "code", "expected_length": 4}', {"expected_length": "5"}
            ),
            "expected_length given twice with different values (4, 5)",
        ),
    ],
)
def test_a_bad_expected_length_is_a_bad_request(upload: Upload, message: str) -> None:
    with pytest.raises(RequestError) as err:
        parse(upload, LIMITS)
    assert err.value.status == 400 and message in str(err.value), str(err.value)


def test_limits_hold_before_any_pixel_is_decoded() -> None:
    big = encode(Image.new("L", (101, 100)))
    with pytest.raises(RequestError, match=r"101x100 pixels, over the 0\.01 MP limit") as err:
        parse(Upload("image/png", big), LIMITS)
    assert err.value.status == 413
    with pytest.raises(RequestError, match=r"over the 0\.01 MP limit"):
        parse(Upload("application/json", f'{{"array": {[[0] * 101] * 100}}}'.encode()), LIMITS)


def test_malformed_multipart_is_a_bad_request() -> None:
    with pytest.raises(RequestError, match="without a boundary") as err:
        parse(Upload("multipart/form-data", b"--x\r\n"), LIMITS)
    assert err.value.status == 400
    for body in (b"--zz\r\nContent-Disposition: form-data\r\n\r\nabc", b"no boundary here"):
        with pytest.raises(RequestError, match="malformed multipart body"):
            parse(Upload("multipart/form-data; boundary=zz", body), LIMITS)
    assert "secret" not in repr(Upload("image/png", b"secret bytes")), "a logged Upload never shows its body"


def test_a_request_that_says_two_things_is_refused_not_settled_by_order() -> None:
    """Two pictures, or two modes, in one request: json, the multipart parser and the query string would each keep
    one of them in silence (the last), which the sender may not have meant."""
    png = encode(drawn(STROKES["7"], 64))
    b64 = base64.b64encode(png).decode()
    two_pictures = f'{{"image": "{b64}", "image": "{b64}"}}'.encode()
    two_modes = f'{{"mode": "code", "image": "{b64}", "mode": "digit"}}'.encode()
    two = [
        (Upload("application/json", two_pictures), "JSON field image given twice"),
        (Upload("application/json", two_modes), "JSON field mode given twice"),
        (multipart([("file", ("a.png", png)), ("file", ("b.png", png))]), "form field file given twice"),
        (multipart({"file": ("a.png", png)}, {"mode": ["code", "code"]}), "form field mode given twice"),
    ]
    for upload, message in two:
        with pytest.raises(RequestError, match=message) as err:
            parse(upload, LIMITS)
        assert err.value.status == 400
    query = [("mode", "code"), ("expected_length", "4")]
    assert each_once(query, "query parameter") == {"mode": "code", "expected_length": "4"}
    for pairs in ([("mode", "code"), ("mode", "digit")], [("mode", "code"), ("mode", "code")]):
        with pytest.raises(RequestError, match="query parameter mode given twice; send one picture and each") as err:
            each_once(pairs, "query parameter")
        assert err.value.status == 400


def test_json_nested_too_deeply_is_a_bad_request() -> None:
    """json's decoder recurses once per bracket: 10,000 of them raised RecursionError, a 500 from the server."""
    with pytest.raises(RequestError, match="nested too deeply") as err:
        parse(Upload("application/json", b"[" * 10_000 + b"]" * 10_000), LIMITS)
    assert err.value.status == 400


def test_unknown_names_are_listed_briefly() -> None:
    """200,000 unknown JSON keys were all echoed back in the error, a one-line error of 3.7 MB; now the first five,
    each cut to 40 characters, and how many more."""
    keys = ", ".join(f'"{"k" * 60}{i}": 1' for i in range(200_000))
    many = [
        Upload("application/json", f'{{"image": "aGk=", {keys}}}'.encode()),
        multipart({"file": ("7.png", b"x")}, {f"{'f' * 60}{i}": "1" for i in range(50_000)}),
        Upload("image/png", b"x", {f"{'q' * 60}{i}": "1" for i in range(1000)}),
    ]
    for upload in many:
        with pytest.raises(RequestError, match=r"and [\d,]+ more") as err:
            parse(upload, LIMITS)
        assert err.value.status == 400 and len(str(err.value)) < 400, str(err.value)[:200]


def test_base64_wrapped_in_lines_is_read_and_levels_in_0_1_are_named() -> None:
    """GNU base64 wraps at 76 columns (MIME's lines): such an image was refused as "not valid base64". An array of
    levels within 0-1 (floats as Python's to_mnist takes them, or a 0/1 mask) was read at 0-255 and answered "image
    is blank" (422): now one line that says the scale."""
    png = encode(drawn(STROKES["7"], 64))
    b64 = base64.encodebytes(png).decode()  # 76 columns, "\n" after each line
    assert "\n" in b64.rstrip("\n")
    for text in (b64, b64.replace("\n", "\r\n")):
        picture, _ = parse(Upload("application/json", json.dumps({"image": text}).encode()), LIMITS)
        assert isinstance(picture, Image.Image) and picture.size == (64, 64)
    with pytest.raises(RequestError, match="not valid base64"):
        parse(Upload("application/json", json.dumps({"image": b64.replace("\n", "\n*")}).encode()), LIMITS)
    for levels in ([[0.0, 0.4], [1.0, 0.0]], [[0, 1], [1, 0]]):
        with pytest.raises(RequestError, match="all of these lie within 0-1: for levels in 0-1, multiply by 255") as e:
            parse(Upload("application/json", json.dumps({"array": levels}).encode()), LIMITS)
        assert e.value.status == 400
    picture, _ = parse(Upload("application/json", b'{"array": [[0, 0], [0, 0]]}'), LIMITS)  # blank: the reader says so
    assert picture.tolist() == [[0, 0], [0, 0]]
