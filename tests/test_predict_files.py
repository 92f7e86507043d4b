"""One bad file never stops predict's batch (issue 10, item 2): only the documented formats are decoded, only regular
files are opened, and every failure is that file's own JSON line, with exit status 1."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from digit_lit.guard import Guard
from digit_lit.predict import read_file
from digit_lit.preprocess import MAX_PIXELS, MULTI_FRAME
from digit_lit.serve_api import Failure, read_request
from digit_lit.uploads import Limits, RequestError, Upload, parse
from tests.helpers.cli import cli
from tests.helpers.paths import ROOT
from tests.helpers.pictures import fake_digit, fake_digit_png


def undocumented_image(path: Path, fmt: str) -> Path:
    """A small SPIDER or DDS image under `path` (written under another name: saving a SPIDER file makes PIL write
    every later file with that suffix as SPIDER, for the rest of the process)."""
    neutral = path.with_suffix(f".{fmt.lower()}")
    Image.new("F" if fmt == "SPIDER" else "RGB", (32, 32)).save(neutral, format=fmt)
    return neutral.rename(path)


@pytest.mark.parametrize("fmt", ["SPIDER", "DDS"])
def test_undocumented_format_named_png_is_that_files_error(fmt: str, tiny_ckpt: Path, tmp_path: Path) -> None:
    """PIL recognises Spider and DDS by content whatever the name; their decoders raised through read_file."""
    odd = undocumented_image(tmp_path / "a_odd.png", fmt)
    assert Image.open(odd).format == fmt  # what PIL alone would have decoded
    good = fake_digit_png(tmp_path / "b_good.png", 3)
    guard = Guard.load(tiny_ckpt)
    results = [read_file(guard, p) for p in (odd, good)]
    assert results[0]["accepted"] is False and results[0]["digit"] is None
    assert results[0]["error"].startswith("not an image in a supported format (PNG, JPEG, BMP, GIF, TIFF, WEBP)")
    assert "error" not in results[1] and results[1]["digit"] is not None  # the file after it is still read


def test_fifo_does_not_block_the_batch(tiny_ckpt: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    fifo = folder / "a_pipe.png"
    os.mkfifo(fifo)  # nobody writes to it: opening it for reading would wait forever
    fake_digit_png(folder / "b_good.png", 5)
    undocumented_image(folder / "c_spider.png", "SPIDER")
    res = cli("digit_lit.predict", f"ckpt_path={tiny_ckpt}", f"inputs=[{fifo},{folder}]", timeout=120)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    by_name = {Path(r["path"]).name: r for r in lines}
    assert by_name["a_pipe.png"]["error"].startswith("not a regular file")
    assert "error" not in by_name["b_good.png"]
    assert by_name["c_spider.png"]["error"].startswith("not an image in a supported format")
    # the pipe given by name, then the folder's entries named as pictures, the pipe again among them: each its line
    assert [Path(r["path"]).name for r in lines] == ["a_pipe.png", "a_pipe.png", "b_good.png", "c_spider.png"]


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP", "TIFF"])
def test_a_picture_of_more_than_one_frame_is_refused(fmt: str, tiny_ckpt: Path, tmp_path: Path) -> None:
    """An animation or a multi-page file shows more than its first frame, which alone was read (and accepted): which
    frame holds the digit is the sender's to say, so the picture is refused, in both modes, by predict and by the
    server's reader of a request (`serve_api.read_request`)."""
    first, second = fake_digit(7).convert("RGB"), fake_digit(1).convert("RGB")
    path = tmp_path / f"moving.{fmt.lower()}"
    first.save(path, format=fmt, save_all=True, append_images=[second])
    assert Image.open(path).n_frames == 2
    guard = Guard.load(tiny_ckpt)
    for mode in ("digit", "code"):
        result = read_file(guard, path, mode=mode)
        assert result["error"] == MULTI_FRAME and result["accepted"] is False, (mode, result)
        sent = read_request(guard, Upload(Image.MIME[fmt], path.read_bytes(), {"mode": mode}), Limits(10**6, 10**6))
        assert sent == Failure(422, MULTI_FRAME), (mode, sent)  # the server's reading of the same bytes
    first.save(path, format=fmt)  # the same picture as one frame is read
    assert "error" not in read_file(guard, path)


def test_a_phones_mpo_photo_is_read_as_its_one_picture(tiny_ckpt: Path, tmp_path: Path) -> None:
    """A JPEG with previews appended (MPO, as phones save) is one photo: its first picture is the photo."""
    path = tmp_path / "photo.jpg"
    fake_digit(4).convert("RGB").save(path, format="MPO", save_all=True, append_images=[Image.new("RGB", (16, 16))])
    assert Image.open(path).format == "MPO"
    result = read_file(Guard.load(tiny_ckpt), path)
    assert "error" not in result and result["digit"] is not None, result


def test_a_decompression_bomb_is_refused_as_too_large(tiny_ckpt: Path, tmp_path: Path) -> None:
    """A PNG header claiming 100,000 x 100,000 pixels: PIL refuses it before our own limit can; the words are ours."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb)
    message = f"image too large: over {MAX_PIXELS // 1_000_000} MP (past PIL's decompression-bomb limit); downscale it"
    assert read_file(Guard.load(tiny_ckpt), path)["error"] == message
    with pytest.raises(RequestError) as err:
        parse(Upload("image/png", bomb), Limits(10**9, 10**9))
    assert err.value.status == 413 and str(err.value) == message


def predict_process(model: Path, folder: Path, stdout: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "digit_lit.predict", f"model_path={model}", f"inputs=[{folder}]"],
        cwd=ROOT,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_results_that_cannot_be_written_are_one_line(tiny_onnx: Path, tmp_path: Path) -> None:
    """stdout on a full disk (/dev/full) ended in an OSError traceback: the results are lost, so say so, exit 2."""
    for i in range(3):
        fake_digit_png(tmp_path / f"{i}.png", i)
    with open("/dev/full", "w") as full:
        proc = predict_process(tiny_onnx, tmp_path, full)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "Traceback" not in err, err[-2000:]
    assert err.strip() == (
        "error: cannot write the results to standard output (No space left on device); send them to a file with "
        "free space"
    )


def test_a_reader_that_stops_early_stops_predict_quietly(tiny_onnx: Path, tmp_path: Path) -> None:
    """`predict ... | head -1`: the reader closes the pipe after one line; predict stops as tools in a pipe do
    (SIGPIPE's status, 141), where it ended in a BrokenPipeError traceback."""
    for i in range(40):
        fake_digit_png(tmp_path / f"{i:02d}.png", i % 10)
    proc = predict_process(tiny_onnx, tmp_path, subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = json.loads(proc.stdout.readline())
    proc.stdout.close()  # before the 40 pictures are read: the next line meets a closed pipe
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141 and err == "", err[-2000:]
    assert first["path"].endswith("00.png")


def test_a_picture_in_a_folder_that_cannot_be_read_is_its_own_line(tiny_ckpt: Path, tmp_path: Path) -> None:
    """A broken link or a pipe named as a picture in a folder was skipped in silence (exit 0), as if not there."""
    fake_digit_png(tmp_path / "a.png", 3)
    (tmp_path / "b.png").symlink_to(tmp_path / "gone.png")
    os.mkfifo(tmp_path / "c.png")
    (tmp_path / "d.png").mkdir()  # a folder named as a picture: looked into, not read
    res = cli("digit_lit.predict", f"ckpt_path={tiny_ckpt}", f"inputs=[{tmp_path}]")
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert res.returncode == 1 and [Path(r["path"]).name for r in lines] == ["a.png", "b.png", "c.png"]
    assert "error" not in lines[0] and lines[1]["error"] == "no such file"
    assert "not a regular file" in lines[2]["error"]
