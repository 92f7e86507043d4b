"""The HTTP server, as a client sees it: a real `python -m digit_lit.serve` process on a free port, one per module."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import HTTPException as FastAPIHTTPException
from hydra import compose, initialize_config_dir
from PIL import Image, ImageDraw
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request as StarletteRequest
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from digit_lit.detect import choose, read_candidates, read_code
from digit_lit.errors import ConfigError
from digit_lit.export import export
from digit_lit.guard import Guard, GuardError
from digit_lit.in_flight import InFlightLimit
from digit_lit.predict import read_file
from digit_lit.preprocess import to_mnist
from digit_lit.serve import build, check
from digit_lit.serve_api import GuardAPI
from digit_lit.serve_http import json_error, read_upload
from digit_lit.serve_process import Server, serving
from digit_lit.uploads import MAX_EXPECTED_LENGTH, Limits, Upload
from tests.helpers.cli import cli, error_lines
from tests.helpers.glyphs import code_picture
from tests.helpers.paths import CONF, ROOT
from tests.helpers.pictures import SEND_SIDE, STROKES, as_shown, as_stored, drawn, encode, fake_digit, png_pixels

MAX_BYTES = 200_000  # the test server's limits: small, so that going over them is cheap
MAX_MEGAPIXELS = 1


@pytest.fixture(scope="module")
def model(tiny_ckpt: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(tiny_ckpt, tmp_path_factory.mktemp("serve") / "tiny.onnx")


@pytest.fixture(scope="module")
def server(model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("serve_log") / "serve.log"
    # debug: the most the server ever logs, so the test of its log sees everything
    overrides = (f"max_bytes={MAX_BYTES}", f"max_megapixels={MAX_MEGAPIXELS}", "log_level=debug")
    with serving(model, *overrides, log=log, cwd=ROOT) as running:
        yield running


@pytest.fixture(scope="module")
def guard(model: Path) -> Guard:
    return Guard.load(model)


def post(server: Server, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{server.url}/predict", timeout=30, **kwargs)


def answer_of(response: httpx.Response) -> dict[str, Any]:
    """A 200 answer without its view and model identity: what predict prints for a file, less the path."""
    assert response.status_code == 200, response.text
    body = response.json()
    return {k: v for k, v in body.items() if k not in ("view", "model")}


def predict_line(guard: Guard, path: Path, mode: str = "digit", expected_length: int | None = None) -> dict[str, Any]:
    line = read_file(guard, path, mode, expected_length)
    assert "error" not in line, line
    return {k: v for k, v in line.items() if k != "path"}


def code_answer_of(response: httpx.Response) -> tuple[dict[str, Any], np.ndarray]:
    """A 200 answer to mode=code without the model identity and its digits' views, and those views (uint8)."""
    body = answer_of(response)
    views = [png_pixels(digit.pop("view")) for digit in body["digits"]]
    return body, np.stack(views) if views else np.zeros((0, 28, 28), np.uint8)


def code_views(guard: Guard, picture: Image.Image, expected_length: int | None = None) -> np.ndarray:
    """The 28x28 views (uint8) of the digits the code reader takes in a picture: what the guard read of each."""
    found = read_candidates(guard, picture)
    chosen, _ = choose(guard, found, expected_length)
    return np.rint(found.views[chosen] * 255).astype(np.uint8)


def test_every_kind_of_request_gets_predicts_answer(server: Server, guard: Guard, tmp_path: Path) -> None:
    png = encode(drawn(STROKES["7"], SEND_SIDE))
    path = tmp_path / "seven.png"
    path.write_bytes(png)
    expected = predict_line(guard, path)
    as_b64 = base64.b64encode(png).decode()
    as_png = {"Content-Type": "image/png"}
    requests = {
        "multipart": {"files": {"file": ("seven.png", png, "image/png")}},
        "multipart with mode": {"files": {"file": ("seven.png", png)}, "data": {"mode": "digit"}},
        "raw body": {"content": png, "headers": as_png},
        "raw body, mode in query": {"content": png, "headers": as_png, "params": {"mode": "digit"}},
        "json base64": {"json": {"image": as_b64}},
        "json data URL": {"json": {"image": f"data:image/png;base64,{as_b64}", "mode": "digit"}},
    }
    for kind, kwargs in requests.items():
        response = post(server, **kwargs)
        assert answer_of(response) == expected, kind
        body = response.json()
        assert body["model"] == guard.identity, kind
        view = np.asarray(Image.open(io.BytesIO(base64.b64decode(body["view"]))))
        with Image.open(path) as img:
            assert np.array_equal(view, np.rint(to_mnist(img) * 255).astype(np.uint8)), kind

    # a canvas's grey levels as an H x W array: read as the guard reads the same array
    grey = np.asarray(drawn(STROKES["1"], SEND_SIDE, mode="L"))
    response = post(server, json={"array": grey.tolist()})
    assert answer_of(response) == guard.read(grey)
    other_formats = {"JPEG": "image/jpeg", "BMP": "image/bmp", "WEBP": "image/webp"}
    for fmt, content_type in other_formats.items():
        (tmp_path / f"four.{fmt}").write_bytes(data := encode(drawn(STROKES["4"], 140), fmt))
        response = post(server, content=data, headers={"Content-Type": content_type})
        assert answer_of(response) == predict_line(guard, tmp_path / f"four.{fmt}"), fmt


def test_code_mode_in_every_kind_of_request_gets_predicts_answer(server: Server, guard: Guard, tmp_path: Path) -> None:
    """mode=code answers what `predict mode=code` prints for the same file, with each digit's view as the guard read
    it. (The tiny model reads these drawn digits poorly: the check is that the server and predict agree.)"""
    path = tmp_path / "code.png"
    code_picture("1704")[0].save(path)
    png = path.read_bytes()
    as_b64 = base64.b64encode(png).decode()
    as_png = {"Content-Type": "image/png"}
    four = {"mode": "code", "expected_length": 4}
    requests = {
        "multipart": ({"files": {"file": ("code.png", png)}, "data": {"mode": "code", "expected_length": "4"}}, 4),
        "raw body, options in query": ({"content": png, "headers": as_png, "params": four}, 4),
        "json": ({"json": {"image": as_b64, **four}}, 4),
        "json, options in query": ({"json": {"image": as_b64}, "params": four}, 4),
        "raw body, no expected_length": ({"content": png, "headers": as_png, "params": {"mode": "code"}}, None),
        "raw body, a wrong expected_length": (
            {"content": png, "headers": as_png, "params": {**four, "expected_length": 5}},
            5,
        ),
    }
    with Image.open(path) as picture:
        views = {length: code_views(guard, picture, length) for length in (4, None, 5)}
    for kind, (kwargs, length) in requests.items():
        response = post(server, **kwargs)
        answer, shown = code_answer_of(response)
        assert answer == predict_line(guard, path, "code", length), kind
        assert response.json()["model"] == guard.identity, kind
        assert len(answer["digits"]) >= 1 and np.array_equal(shown, views[length]), kind
        if length == 5:
            assert answer["accepted"] is False and "reason" in answer, kind

    # a canvas's grey levels: read as the code reader reads the same array
    grey = np.asarray(code_picture("17", height=40)[0].convert("L"))  # small: within the test server's max_bytes
    answer, shown = code_answer_of(post(server, json={"array": grey.tolist(), "mode": "code"}))
    assert answer == read_code(guard, grey)
    assert np.array_equal(shown, code_views(guard, grey))


def bad_requests() -> dict[str, tuple[dict[str, Any], int, str]]:
    """name: (request, status, what the error says)."""
    png = encode(drawn(STROKES["7"], SEND_SIDE))
    huge = encode(Image.new("1", (1200, 1000)))  # 1.2 MP, small on disk
    as_png, as_json = {"Content-Type": "image/png"}, {"Content-Type": "application/json"}

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold while reading
        yield from [b"\0" * 50_000] * 5

    return {
        "not an image": ({"content": b"hello, not a picture", "headers": as_png}, 400, "not an image in a supported"),
        "empty body": ({"content": b"", "headers": as_png}, 400, "empty request body"),
        "truncated image": ({"content": png[: len(png) // 2], "headers": as_png}, 400, "unreadable image"),
        "over the byte limit": ({"content": b"\0" * (MAX_BYTES + 1), "headers": as_png}, 413, "byte limit"),
        "over the byte limit, chunked": ({"content": chunks(), "headers": as_png}, 413, "byte limit"),
        "over the pixel limit": ({"content": huge, "headers": as_png}, 413, f"over the {MAX_MEGAPIXELS} MP limit"),
        "blank picture": ({"content": encode(Image.new("L", (64, 64), 255)), "headers": as_png}, 422, "blank"),
        "wrong content type": ({"content": png, "headers": {"Content-Type": "text/plain"}}, 415, "not accepted"),
        "no content type": ({"content": png}, 415, "not accepted"),
        "invalid JSON": ({"content": b'{"image": ', "headers": {"Content-Type": "application/json"}}, 400, "not valid"),
        "JSON not an object": ({"json": [1, 2]}, 400, "must be an object"),
        "JSON unknown field": ({"json": {"picture": "x"}}, 400, "unknown JSON field picture"),
        "JSON both image and array": ({"json": {"image": "aGk=", "array": [[1]]}}, 400, "exactly one"),
        "base64 that is not base64": ({"json": {"image": "%%%not base64%%%"}}, 400, "not valid base64"),
        "base64 of a non-image": ({"json": {"image": "aGVsbG8gd29ybGQ="}}, 400, "not an image in a supported"),
        "array with ragged rows": ({"json": {"array": [[0, 1, 2], [3]]}}, 400, "rows differ"),
        "array of 3 dimensions": ({"json": {"array": [[[0, 0, 0]] * 9] * 9}}, 400, "3-D"),
        "array of strings": ({"json": {"array": [["a"] * 9] * 9}}, 400, "grey levels"),
        "array out of range": ({"json": {"array": [[300] * 9] * 9}}, 400, "outside 0-255"),
        "unknown mode": ({"content": png, "headers": as_png, "params": {"mode": "codes"}}, 400, "mode='codes' is not"),
        "unknown query parameter": ({"content": png, "headers": as_png, "params": {"x": "1"}}, 400, "unknown query"),
        "form without a file": ({"data": {"mode": "digit"}, "files": {"other": ("a", b"x")}}, 400, "form field"),
        "form with two pictures": ({"files": [("file", ("a.png", png)), ("file", ("b.png", png))]}, 400, "given twice"),
        "mode twice in the query": (
            {"content": png, "headers": as_png, "params": [("mode", "code"), ("mode", "digit")]},
            400,
            "query parameter mode given twice",
        ),
        "JSON field twice": (
            {"content": b'{"mode": "code", "mode": "digit", "image": "aGk="}', "headers": as_json},
            400,
            "JSON field mode given twice",
        ),
        "JSON nested too deeply": ({"content": b"[" * 10_000 + b"]" * 10_000, "headers": as_json}, 400, "too deeply"),
        "compressed body": ({"content": png, "headers": {**as_png, "Content-Encoding": "gzip"}}, 415, "uncompressed"),
        **bad_code_requests(),
    }


def bad_code_requests() -> dict[str, tuple[dict[str, Any], int, str]]:
    """mode=code: a bad expected_length in each place it can be given, and pictures with no code in them."""
    code = encode(code_picture("1704")[0])
    raw = {"content": code, "headers": {"Content-Type": "image/png"}}
    whole = f"must be a whole number of digits from 1 to {MAX_EXPECTED_LENGTH}"
    line = Image.new("RGB", (400, 120), "white")
    ImageDraw.Draw(line).line([(20, 60), (380, 60)], fill="black", width=5)

    def query(length: object) -> dict[str, Any]:
        return {**raw, "params": {"mode": "code", "expected_length": length}}

    return {
        "expected_length 0": (query(0), 400, f"expected_length='0' {whole}"),
        "expected_length over the most": (query(MAX_EXPECTED_LENGTH + 1), 400, whole),
        "expected_length negative": (query(-4), 400, whole),
        "expected_length not a number": (query("four"), 400, f"expected_length='four' {whole}"),
        "expected_length empty": (query(""), 400, whole),
        "expected_length in a form": (
            {"files": {"file": ("c.png", code)}, "data": {"mode": "code", "expected_length": "4.5"}},
            400,
            whole,
        ),
        "expected_length a fraction in JSON": (
            {"json": {"image": base64.b64encode(code).decode(), "mode": "code", "expected_length": 4.5}},
            400,
            f"expected_length=4.5 {whole}",
        ),
        "expected_length without mode=code": (
            {**raw, "params": {"expected_length": 4}},
            400,
            "expected_length applies to mode=code only",
        ),
        "expected_length twice": (
            {
                "files": {"file": ("c.png", code)},
                "data": {"mode": "code", "expected_length": "4"},
                "params": {"expected_length": 5},
            },
            400,
            "expected_length given twice with different values (4, 5)",
        ),
        "blank picture, code mode": (
            {"content": encode(Image.new("L", (300, 100), 255)), "headers": raw["headers"], "params": {"mode": "code"}},
            422,
            "blank",
        ),
        "only a line, code mode": (
            {"content": encode(line), "headers": raw["headers"], "params": {"mode": "code"}},
            422,
            "no digits found",
        ),
    }


def test_bad_requests_get_one_line_errors_and_the_server_keeps_serving(server: Server) -> None:
    good = {"content": encode(drawn(STROKES["1"], SEND_SIDE)), "headers": {"Content-Type": "image/png"}}
    for name, (kwargs, status, message) in bad_requests().items():
        response = post(server, **kwargs)
        assert response.status_code == status, (name, response.status_code, response.text)
        error = response.json()["error"]
        assert message in error and "\n" not in error, (name, error)
        assert post(server, **good).status_code == 200, f"not serving after: {name}"
    code = {"content": encode(code_picture("17")[0]), "headers": good["headers"], "params": {"mode": "code"}}
    assert post(server, **code).status_code == 200, "code mode not served after the bad requests"
    for method, path, status in (("GET", "/predict", 405), ("GET", "/nowhere", 404)):
        response = httpx.request(method, f"{server.url}{path}")
        assert response.status_code == status and set(response.json()) == {"error"}


def test_a_client_gone_mid_upload_leaves_no_traceback(server: Server) -> None:
    """A body cut off (the client closes the connection after 8 of 1,000 bytes): Starlette's ClientDisconnect went
    through LitServe's handler as an unhandled exception, a traceback in the log for every aborted upload."""
    host, port = server.url.removeprefix("http://").split(":")
    logged = len(server.log.read_bytes())
    for _ in range(3):
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            head = f"POST /predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n"
            conn.sendall(head.encode() + b"\x89PNG\r\n\x1a\n")
    good = {"content": encode(drawn(STROKES["1"], SEND_SIDE)), "headers": {"Content-Type": "image/png"}}
    assert post(server, **good).status_code == 200  # still serving, and whatever the server logs is written by now
    since = server.log.read_bytes()[logged:]
    assert b"Traceback" not in since and b"Unhandled exception" not in since and b"ClientDisconnect" not in since


def test_a_phone_photo_is_read_the_way_up_it_is_shown(server: Server, guard: Guard) -> None:
    """An upload whose EXIF says how to turn it (a phone held upside down or sideways) is read as the page and every
    viewer show it: the server's view is the upright picture's, and a code's boxes are in the upright picture."""
    upright = drawn(STROKES["7"], SEND_SIDE, mode="L")
    for orientation in (3, 6, 8):
        stored = as_stored(upright, orientation, "JPEG")
        response = post(server, files={"file": ("photo.jpg", stored, "image/jpeg")})
        with Image.open(io.BytesIO(stored)) as img:
            shown = as_shown(Image.fromarray(np.asarray(img)), orientation)
        assert np.array_equal(png_pixels(response.json()["view"]), np.rint(to_mnist(shown) * 255)), orientation
    code = code_picture("17")[0]
    response = post(server, content=as_stored(code, 6), headers={"Content-Type": "image/png"}, params={"mode": "code"})
    assert [d["box"] for d in response.json()["digits"]] == [d["box"] for d in read_code(guard, code)["digits"]]


def test_32_parallel_requests_match_predict(server: Server, guard: Guard, tmp_path: Path) -> None:
    pictures = [fake_digit(d % 10, 60 + 4 * d) for d in range(16)]
    pictures += [drawn(STROKES[k], SEND_SIDE + 8 * i) for i in range(4) for k in STROKES]
    paths = []
    for i, picture in enumerate(pictures):
        paths.append(tmp_path / f"{i}.png")
        picture.save(paths[-1])
    assert len(paths) == 32

    async def send_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            posts = (client.post("/predict", files={"file": (p.name, p.read_bytes())}) for p in paths)
            return await asyncio.gather(*posts)

    responses = asyncio.run(send_all())
    assert [answer_of(r) for r in responses] == [predict_line(guard, p) for p in paths]


def test_a_batch_of_digits_and_codes_reads_each_as_alone(model: Path, guard: Guard) -> None:
    """With batching, the digit views of a batch go to the model in one call and each code's crops in one call of its
    own; every answer is the one the request gets alone, failures stay in their place (in process: no server)."""
    api = GuardAPI(str(model), guard.identity["sha256"], Limits(MAX_BYTES, MAX_MEGAPIXELS * 10**6), 8, 0.01)
    api.setup("cpu")
    calls: list[int] = []
    inner = api.guard._logits
    api.guard._logits = lambda x: calls.append(len(x)) or inner(x)  # type: ignore[method-assign]
    seven, one = drawn(STROKES["7"], SEND_SIDE), drawn(STROKES["1"], SEND_SIDE)
    codes = [code_picture("1704")[0], code_picture("23")[0]]
    as_code = {"mode": "code", "expected_length": "4"}
    uploads = [
        Upload("image/png", encode(seven)),
        Upload("image/png", encode(codes[0]), as_code),
        Upload("image/png", encode(Image.new("L", (64, 64), 255)), as_code),  # blank: 422
        Upload("image/png", encode(one)),
        Upload("image/png", encode(codes[1]), {"mode": "code"}),
    ]
    outputs = api.predict(api.batch([api.decode_request(u) for u in uploads]))
    answers = [api.encode_response(output) for output in outputs]
    assert calls[-1] == 2 and len(calls) == 3, "one call per code (decode_request), then the two digits stacked"

    def without_views(answer: dict[str, Any]) -> dict[str, Any]:
        digits = [{k: v for k, v in d.items() if k != "view"} for d in answer["digits"]]
        return {**{k: v for k, v in answer.items() if k != "model"}, "digits": digits}

    assert {k: v for k, v in answers[0].items() if k not in ("view", "model")} == guard.read(seven)
    assert {k: v for k, v in answers[3].items() if k not in ("view", "model")} == guard.read(one)
    assert without_views(answers[1]) == read_code(guard, codes[0], 4)
    assert without_views(answers[4]) == read_code(guard, codes[1])
    assert answers[2].status_code == 422 and b"blank" in answers[2].body


def test_health_names_the_model_and_the_page_is_served(server: Server, guard: Guard) -> None:
    health = httpx.get(f"{server.url}/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "model": guard.identity, "max_bytes": MAX_BYTES}  # the page shrinks to it
    # a monitor's HEAD was 405; a GET of the API said only "Method Not Allowed"
    for path in ("/", "/health"):
        assert httpx.head(f"{server.url}{path}").status_code == 200, path
    wrong = httpx.get(f"{server.url}/predict")
    assert wrong.status_code == 405 and wrong.json() == {"error": "GET reads nothing here: POST a picture to /predict"}
    page = httpx.get(f"{server.url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<canvas id="pad"' in page.text
    assert f'id="length" type="number" min="1" max="{MAX_EXPECTED_LENGTH}"' in page.text, (
        "the page's bound is the API's"
    )
    for asset in ("/static/app.js", "/static/style.css"):
        assert httpx.get(f"{server.url}{asset}").status_code == 200, asset
    # its first line names the model and its threshold as stored, to six digits (four printed 0.9890 for 0.98896...)
    who = guard.identity
    first = f"serving {who['model']} (sha256 {who['sha256'][:12]}, threshold {who['threshold']:.6g})"
    assert server.log.read_text().splitlines()[0] == first


def test_the_log_holds_no_picture(server: Server) -> None:
    """Runs after the others in this module (file order): by now every kind of request has been logged, at debug."""
    pictures = [encode(drawn(STROKES["7"], SEND_SIDE)), encode(drawn(STROKES["1"], SEND_SIDE))]
    log = server.log.read_bytes()
    assert log, "the server logged nothing at debug: the check below would be empty"
    assert b"\x89PNG" not in log and b"Traceback" not in log
    for data in pictures:
        encoded = base64.b64encode(data)
        assert encoded[40:80] not in log and data[60:90] not in log


def test_an_invalid_model_starts_nothing(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    res = cli("digit_lit.serve", f"model_path={junk}", "port=8123")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    refused = f"error: {junk}: not an ONNX model (DecodeError); export it again with digit_lit.export"
    assert error_lines(res) == [refused]
    assert "serving" not in res.stdout


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model_path=null", "give model_path=X.onnx"),
        ("port=80", "port=80 must be an integer over 1023 and at most 65535"),
        ("host=example.org", "host=example.org must be 127.0.0.1 (this machine only), 0.0.0.0 or ::"),
        ("workers_per_device=0", "workers_per_device=0 must be an integer over 0"),
        ("batch_timeout=20", "batch_timeout=20 must be a finite number over 0 and at most 10"),
        ("timeout=inf", "timeout=inf must be a finite number over 0"),
        ("keep_alive=inf", "keep_alive=inf must be a finite number over 0"),
        ("max_batch_size=8", "max_batch_size=8 needs batch_timeout > 0"),
        ("max_megapixels=100", "max_megapixels=100 must be a finite number over 0 and at most 40"),
        ("log_level=loud", "log_level=loud must be one of critical, error, warning, info, debug, trace"),
        # a million workers were started one by one, the server never up; a batch_timeout of 1e-12 s passed the check
        # for 0 and spun a core a worker; max_megapixels=1e-9 refused every picture
        ("workers_per_device=1000000", "workers_per_device=1000000 must be an integer over 0 and at most 64"),
        ("num_api_servers=1000", "num_api_servers=1000 must be an integer over 0 and at most 64"),
        ("batch_timeout=1e-12", "batch_timeout=1e-12 must be 0 (no batching) or at least 0.001 s"),
        ("max_megapixels=1e-9", "max_megapixels=1e-09 would refuse every picture: at least 6.4e-05"),
    ],
)
def test_settings_are_checked_before_anything_starts(override: str, message: str) -> None:
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("serve", overrides=["model_path=m.onnx", override])
    with pytest.raises(ConfigError) as err:
        check(cfg)
    assert str(err.value).startswith(message)


def test_settings_reach_litserve() -> None:
    """Workers, batching, timeout and the in-flight bound, as conf/serve.yaml gives them (nothing is started)."""
    settings = ["workers_per_device=3", "max_batch_size=4", "batch_timeout=0.01", "timeout=7", "max_in_flight=5"]
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("serve", overrides=["model_path=m.onnx", *settings])
    identity = {"model": "m.onnx", "sha256": "0" * 64, "threshold": 0.9}
    server = build(cfg, check(cfg), SimpleNamespace(identity=identity))
    api = server.litapi_connector.lit_apis[0]
    assert (server.workers_per_device, server.timeout, api.max_batch_size, api.batch_timeout) == (3, 7.0, 4, 0.01)
    assert api.sha256 == identity["sha256"] and api.model_path == "m.onnx"
    bounds = [m.kwargs for m in server.app.user_middleware if m.cls is InFlightLimit]
    assert bounds == [{"limit": 5, "path": "/predict"}]


def test_overload_is_answered_503_at_once() -> None:
    """More requests in flight than the limit: the extra one gets 503 with a JSON error, the others their answer."""
    release = asyncio.Event()

    async def slow(request: Any) -> PlainTextResponse:
        await release.wait()
        return PlainTextResponse("done")

    app = InFlightLimit(Starlette(routes=[Route("/predict", slow, methods=["POST"])]), limit=3, path="/predict")

    async def scenario() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            held = [asyncio.create_task(client.post("/predict")) for _ in range(3)]
            await asyncio.sleep(0.05)
            extra = await asyncio.wait_for(client.post("/predict"), timeout=5)
            release.set()
            return [extra, *await asyncio.gather(*held), await client.post("/predict")]

    extra, *rest = asyncio.run(scenario())
    assert extra.status_code == 503 and extra.headers["retry-after"] == "1"
    assert json.loads(extra.text)["error"].startswith("server busy")
    assert [r.status_code for r in rest] == [200] * 4


def test_a_body_that_never_arrives_is_answered_408() -> None:
    """Headers, then 3 bytes of a declared 1,000, then nothing: the request held its place in flight for ever (64 such
    and every other client got 503). Now the body has `timeout` seconds to arrive."""
    sent = [{"type": "http.request", "body": b"\x89PN", "more_body": True}]

    async def receive() -> dict:
        if sent:
            return sent.pop()
        await asyncio.Event().wait()  # the client says nothing more
        return {}

    scope = {"type": "http", "method": "POST", "path": "/predict", "query_string": b"", "headers": []}
    scope["headers"] = [(b"content-type", b"image/png"), (b"content-length", b"1000")]

    async def scenario() -> None:
        await asyncio.wait_for(read_upload(StarletteRequest(scope, receive), max_bytes=5000, deadline=0.2), timeout=5)

    with pytest.raises(FastAPIHTTPException) as err:
        asyncio.run(scenario())
    assert err.value.status_code == 408
    assert err.value.detail == "the body stopped arriving (nothing for 0.2 s, or too slow); send it again"

    # a slow but steady upload goes on: ten parts 0.1 s apart, each sooner than the deadline, 1 s in all
    parts = [{"type": "http.request", "body": b"x" * 100, "more_body": k < 9} for k in range(10)]

    async def steady() -> dict:
        await asyncio.sleep(0.1)
        return parts.pop(0)

    async def slow_upload() -> bytes:
        upload = await read_upload(StarletteRequest(scope, steady), max_bytes=50_000, deadline=0.2)
        return upload.body

    assert asyncio.run(slow_upload()) == b"x" * 1000


def test_a_request_no_worker_took_in_time_says_busy_and_when_to_retry() -> None:
    """LitServe's 504 said only "Request timed out", as if the picture were at fault: now it says the server was busy
    for `timeout` s, with Retry-After."""
    app = Starlette()
    app.state.timeout, app.state.api_path = 10.0, "/predict"
    request = StarletteRequest({"type": "http", "method": "POST", "path": "/predict", "headers": [], "app": app})
    answer = asyncio.run(json_error(request, HTTPException(504, "Request timed out")))
    assert answer.status_code == 504 and answer.headers["retry-after"] == "1"
    assert json.loads(answer.body) == {
        "error": "no worker was free to read it within 10 s (server busy); retry in a moment"
    }


def test_litserves_timeout_log_names_serves_own_setting() -> None:
    """The worker's log line for a request that waited too long pointed at `LitServe(..., timeout=30)`, a call the
    operator never writes; it names serve's `timeout=` now."""
    from litserve.loops import simple_loops

    api = GuardAPI("no-such-model.onnx", "0" * 64, Limits(max_bytes=1000, max_pixels=1000), 1, 0.0)
    with pytest.raises(GuardError):  # no such model: the filter is in place before the model loads
        api.setup("cpu")
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    simple_loops.logger.addHandler(handler)
    try:
        simple_loops.logger.error(
            "Request 1 was waiting in the queue for too long (10 seconds) and has been timed out. You can adjust the "
            "timeout by providing the `timeout` argument to LitServe(..., timeout=30)."
        )
    finally:
        simple_loops.logger.removeHandler(handler)
    assert seen == [
        "Request 1 was waiting in the queue for too long (10 seconds) and has been timed out. You can adjust the "
        "timeout with serve's timeout= (conf/serve.yaml)."
    ]
