"""predict, export and evaluate on a checkpoint trained on the tiny fake MNIST; checkpoint safety."""

from __future__ import annotations

import json
import math
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from digit_lit.errors import CheckpointError, ConfigError
from digit_lit.export import export
from digit_lit.guard import Guard
from digit_lit.models import MOVES, build_net, moved_views, view_grids
from digit_lit.predict import read_file
from tests.helpers.cli import cli, error_lines
from tests.helpers.pictures import fake_digit_png
from tests.helpers.tamper import RunsCode
from tests.helpers.tiny_mnist import make_digits, write_tiny_mnist


def test_reader_reads_pil_and_array(tiny_ckpt: Path) -> None:
    guard = Guard.load(tiny_ckpt)
    x = make_digits(1, 5)[0][0]
    for image in (Image.fromarray(x), x):
        out = guard.read(image)
        assert set(out) == {"digit", "confidence", "top3", "accepted"}
        assert 0 <= out["digit"] <= 9 and 0 < out["confidence"] <= 1 and len(out["top3"]) == 3
        assert out["top3"][0][0] == out["digit"] and out["accepted"] == (out["confidence"] >= guard.threshold)


def test_bad_files_get_an_error_and_the_batch_goes_on(tiny_ckpt: Path, tmp_path: Path) -> None:
    good = fake_digit_png(tmp_path / "good.png", 3)
    (tmp_path / "text.png").write_text("not an image")
    (tmp_path / "truncated.png").write_bytes(good.read_bytes()[:300])
    Image.new("RGB", (64, 64), (250, 250, 250)).save(tmp_path / "blank.jpg")
    Image.new("1", (8000, 6000)).save(tmp_path / "huge.png")  # 48 MP, tiny on disk
    reader = Guard.load(tiny_ckpt)
    results = {p.name: read_file(reader, p) for p in sorted(tmp_path.iterdir())}
    results["missing.png"] = read_file(reader, tmp_path / "missing.png")
    assert "error" not in results["good.png"]
    expected = {
        "text.png": "not an image in a supported format",
        "truncated.png": "unreadable image",
        "blank.jpg": "blank",
        "huge.png": "over the 40 MP limit",
        "missing.png": "no such file",
    }
    for name, message in expected.items():
        assert message in results[name]["error"], (name, results[name])
        assert results[name]["accepted"] is False and results[name]["digit"] is None


def test_predict_cli_json_lines_and_exit_status(tiny_ckpt: Path, tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    for d in (1, 7):
        fake_digit_png(folder / f"d{d}.png", d)
    ok = cli("digit_lit.predict", f"ckpt_path={tiny_ckpt}", f"inputs=[{folder}]")
    assert ok.returncode == 0, ok.stderr[-2000:]
    lines = [json.loads(line) for line in ok.stdout.splitlines()]
    assert [Path(r["path"]).name for r in lines] == ["d1.png", "d7.png"]
    reader = Guard.load(tiny_ckpt)
    assert lines == [read_file(reader, folder / name) for name in ("d1.png", "d7.png")]
    (folder / "broken.png").write_text("x")
    bad = cli("digit_lit.predict", f"ckpt_path={tiny_ckpt}", f"inputs=[{folder},{tmp_path}/nope.png]")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    errors = [json.loads(line).get("error") for line in bad.stdout.splitlines()]
    assert errors.count(None) == 2 and len(errors) == 4


def test_export_onnx_parity_and_predict_without_lightning(tiny_ckpt: Path, tmp_path: Path) -> None:
    onnx_path = export(tiny_ckpt, tmp_path / "model.onnx")
    meta = json.loads(onnx_path.with_suffix(".json").read_text())
    torch_reader, onnx_reader = Guard.load(tiny_ckpt), Guard.load(onnx_path)
    assert meta["rule"]["threshold"] == pytest.approx(torch_reader.threshold) == onnx_reader.threshold
    images = make_digits(1000, 9)[0][:, None].astype(np.float32) / 255
    diff = np.abs(torch_reader.probs(images) - onnx_reader.probs(images)).max()
    assert diff <= 1e-4
    png = fake_digit_png(tmp_path / "d4.png", 4)
    res = cli("digit_lit.predict", f"model_path={onnx_path}", f"inputs=[{png}]")
    assert res.returncode == 0, res.stderr[-2000:]
    # the ONNX path serves without torch or Lightning
    probe = (
        "import sys; from pathlib import Path; from digit_lit.guard import Guard; "
        "from digit_lit.predict import read_file; "
        f"print(read_file(Guard.load({str(onnx_path)!r}), Path({str(png)!r}))['digit']); "
        "assert not {'torch', 'lightning'} & set(sys.modules), 'imported torch'"
    )
    light = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert light.returncode == 0, light.stderr[-2000:]
    from_onnx, from_torch = json.loads(res.stdout), read_file(torch_reader, png)
    assert from_onnx["digit"] == from_torch["digit"] and from_onnx["accepted"] == from_torch["accepted"]
    assert from_onnx["confidence"] == pytest.approx(from_torch["confidence"], abs=1e-4)


def test_checkpoints_that_carry_code_or_garbage_are_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": RunsCode(marker)}, evil)
    with pytest.raises(CheckpointError, match="not a valid digit_lit checkpoint"):
        Guard.load(evil)
    assert not marker.exists()
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(pickle.dumps([1, 2]) + b"\x00garbage")
    with pytest.raises(CheckpointError):
        Guard.load(junk)
    with pytest.raises(CheckpointError, match="does not exist"):
        Guard.load(tmp_path / "missing.ckpt")
    res = cli("digit_lit.evaluate", f"ckpt_path={evil}", f"hydra.run.dir={tmp_path}/run")
    assert res.returncode == 2 and "Traceback" not in res.stderr and not marker.exists()
    assert error_lines(res)[0].startswith(f"error: {evil} is not a valid digit_lit checkpoint")


def test_evaluate_reports_rejection_and_fashion(tiny_ckpt: Path, tmp_path: Path) -> None:
    data = write_tiny_mnist(tmp_path / "data", 300, 100)
    write_tiny_mnist(data, 300, 100, name="FashionMNIST")  # stands in for the non-digit set: only the path is tested
    res = cli(
        "digit_lit.evaluate",
        f"ckpt_path={tiny_ckpt}",
        f"paths.data_dir={data}",
        "data.val_size=50",
        "nondigits=3",
        f"hydra.run.dir={tmp_path}/run",
    )
    assert res.returncode == 0, res.stderr[-2000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    keys = ("test/acc", "test/ece", "test/coverage", "test/wrong_accept", "fashion/refused", "threshold")
    for key in (*keys, "nondigit/letter/refused", "nondigit/scribble/refused"):
        assert isinstance(metrics[key], float), key
    assert len(metrics["test/f1_per_class"]) == 10 and len(metrics["test/confusion_matrix"]) == 10
    for figure in ("misclassified", "reliability", "confusion_matrix"):  # beside metrics.json
        png = (tmp_path / "run" / f"{figure}.png").read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000, figure
    assert "per-class figures" in res.stdout


@pytest.fixture(scope="module")
def tiny_ensemble(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-member ensemble of tiny CNNs trained for two epochs on the tiny fake MNIST."""
    from digit_lit.train import train
    from tests.helpers.configs import compose_train

    base = tmp_path_factory.mktemp("ensemble")
    overrides = ["model=ensemble", "model.net.size=2", "~model.net.member", "+model.net.member={name: tiny_cnn}"]
    overrides += ["trainer.max_epochs=2", "data.val_size=100", "data.batch_size=50", "logger=none"]
    overrides += ["model.max_wrong_accept=0.05", "callbacks.progress_bar=null"]
    return Path(train(compose_train(overrides, base / "run", write_tiny_mnist(base / "data")))["best_ckpt"])


def test_ensemble_checkpoint_and_onnx_give_the_same_verdicts(tiny_ensemble: Path, tmp_path: Path) -> None:
    torch_guard = Guard.load(tiny_ensemble)
    onnx_guard = Guard.load(export(tiny_ensemble, tmp_path / "ensemble.onnx"))
    assert torch_guard.rule == onnx_guard.rule and torch_guard.spec["size"] == 2
    images = make_digits(1000, 11)[0]
    logits = onnx_guard.logits(images)
    assert logits.shape == (1000, 2, 10)  # both members travel in the ONNX graph
    assert np.abs(torch_guard.probs(images) - onnx_guard.probs(images)).max() <= 1e-5
    pairs = zip(torch_guard.verdicts(images), onnx_guard.verdicts(images), strict=True)
    for a, b in pairs:
        assert (a["digit"], a["accepted"]) == (b["digit"], b["accepted"])
        assert a["confidence"] == pytest.approx(b["confidence"], abs=1e-5)


def test_test_time_views_are_the_moves_they_claim() -> None:
    """In eval mode an ensemble with views reads each picture as it is and as moved by models.MOVES, member by
    member; training sees the pictures as they are; the views add no weights, so checkpoints without them load."""
    torch.manual_seed(0)
    spec = {"name": "ensemble", "size": 2, "member": {"name": "tiny_cnn"}}
    net = build_net(**spec, views=5).eval()
    x = torch.zeros(3, 1, 28, 28)
    x[:, :, 8:20, 10:16] = torch.rand(3, 1, 12, 6)  # ink away from the border: a 1-px shift loses none
    with torch.no_grad():
        z = net(x).reshape(3, 5, 2, 10)  # [N, views, members, 10]
        assert torch.allclose(z[:, 0], net.members_of(x), atol=1e-5)  # the picture itself (batching moves the last bit)
        assert MOVES[3] == (0.0, 1, 0) and MOVES[4] == (0.0, -1, 0)  # one pixel each way
        for view, shift in ((3, -1), (4, 1)):  # sampling a pixel to the right moves the ink left
            assert torch.allclose(z[:, view], net.members_of(torch.roll(x, shift, dims=3)), atol=1e-5)
        moved = moved_views(x, view_grids(5)).reshape(5, 3, 1, 28, 28)
        for view in range(5):
            assert torch.allclose(z[:, view], net.members_of(moved[view]), atol=1e-5)
        bar = torch.zeros(1, 1, 28, 28)
        bar[..., 4:24, 13:15] = 1.0  # an upright stroke through the centre
        turned = moved_views(bar, view_grids(3))[1:, 0]  # +6 and -6 degrees

        def column(rows: slice) -> torch.Tensor:  # where the ink of those rows lies, per view
            ink = turned[:, rows].sum(1)
            return (ink * torch.arange(28.0)).sum(1) / ink.sum(1)

        lean = column(slice(4, 10)) - column(slice(18, 24))  # top against bottom, 14 rows apart
        assert MOVES[1][0] == 6.0 and MOVES[2][0] == -6.0
        assert lean[0] * lean[1] < 0 and torch.allclose(
            lean.abs(), torch.tensor(14 * math.tan(math.radians(6))).expand(2), atol=0.4
        )
        assert (turned.sum((1, 2)) - bar.sum()).abs().max() < 0.03 * bar.sum()  # the same ink, turned
        assert net.train()(x).shape == (3, 2, 10)
    assert net.state_dict().keys() == build_net(**spec).state_dict().keys()
    for bad in (0, len(MOVES) + 1, True, 2.5):
        with pytest.raises(ConfigError, match=r"model\.net\.views"):
            build_net(**spec, views=bad)


@pytest.fixture(scope="module")
def guard_preset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """`experiment=guard` itself (its ensemble, world pictures, drawn non-digits, bounded threshold), one epoch on the
    tiny fake MNIST, with targets loose enough for 100 validation images to certify a threshold below 1."""
    from digit_lit.train import train
    from tests.helpers.configs import compose_train

    base = tmp_path_factory.mktemp("guard_preset")
    overrides = ["experiment=guard", "trainer.max_epochs=1", "trainer.check_val_every_n_epoch=1"]
    overrides += ["data.val_size=100", "data.batch_size=50"]
    overrides += ["data.world.outliers=300", "data.world.val_outliers=200", "data.world.val_renders=2"]
    overrides += ["model.max_wrong_accept=0.05", "model.max_world_wrong_accept=0.1", "model.max_nondigit_accept=0.2"]
    cfg = compose_train([*overrides, "logger=none", "callbacks.progress_bar=null"], base / "run", base / "data")
    write_tiny_mnist(base / "data")
    return Path(train(cfg)["best_ckpt"]), dict(cfg.model.net)


def test_guard_preset_ships_its_last_epoch(tmp_path: Path) -> None:
    """The preset keeps the checkpoint of its last validated epoch, chosen by no validation figure (the threshold's
    bound is not spent on a choice among epochs): its checkpoint callback, on a tiny MLP run of four epochs, keeps
    epoch 4's alone, which the run tests and names as `best_ckpt`."""
    from digit_lit.train import train
    from tests.helpers.configs import compose_train

    preset = compose_train(["experiment=guard"], tmp_path / "unused").callbacks.model_checkpoint
    assert preset.monitor is None
    overrides = ["model=mlp", "trainer.max_epochs=4", "data.val_size=100", "data.batch_size=50", "logger=none"]
    overrides += ["model.max_wrong_accept=0.05", "callbacks.progress_bar=null"]
    cfg = compose_train(overrides, tmp_path / "run", write_tiny_mnist(tmp_path / "data"))
    cfg.callbacks.model_checkpoint = preset
    metrics = train(cfg)
    kept = sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("epoch_*.ckpt"))
    assert kept == ["epoch_003.ckpt"] and Path(metrics["best_ckpt"]).name == "epoch_003.ckpt"
    assert torch.load(metrics["best_ckpt"], weights_only=True)["epoch"] == 3


def test_guard_preset_ckpt_and_onnx_give_the_same_verdicts(guard_preset: tuple[Path, dict], tmp_path: Path) -> None:
    """The shipped recipe's .ckpt and its .onnx carry the same rule and give the same verdicts on 1,000 pictures:
    500 fake digits and 500 world views of others (what predict hands the net from a photo or scan)."""
    from digit_lit.world import world_views

    ckpt, net = guard_preset
    torch_guard = Guard.load(ckpt)
    onnx_guard = Guard.load(export(ckpt, tmp_path / "guard.onnx"))
    assert torch_guard.rule == onnx_guard.rule and 0 < torch_guard.threshold < 1
    assert torch_guard.spec["size"] == net["size"] and torch_guard.spec["member"]["name"] == net["member"]["name"]
    views, _ = world_views(make_digits(500, 12)[0], seed=3, workers=1)
    images = np.concatenate([make_digits(500, 11)[0], views.numpy()]).astype(np.float32) / 255
    # every member and every test-time view travels in the ONNX graph
    assert onnx_guard.logits(images).shape == (1000, net["size"] * net["views"], 10)
    assert net["views"] > 1 and torch_guard.spec["views"] == net["views"]
    assert np.abs(torch_guard.probs(images) - onnx_guard.probs(images)).max() <= 1e-5
    verdicts = list(zip(torch_guard.verdicts(images), onnx_guard.verdicts(images), strict=True))
    for a, b in verdicts:
        assert (a["digit"], a["accepted"]) == (b["digit"], b["accepted"])
    assert 0 < sum(a["accepted"] for a, _ in verdicts) < 1000  # both verdicts occur: the parity is not vacuous


def test_a_checkpoint_whose_views_were_edited_is_refused(guard_preset: tuple[Path, dict], tmp_path: Path) -> None:
    """The rule was calibrated on the views the spec names: a checkpoint edited to read fewer (or more) views would
    apply it to confidences it was not fitted on, so the digest, which binds the spec, refuses it."""
    from digit_lit.guard import GuardError
    from tests.helpers.tamper import edit_checkpoint

    ckpt, net = guard_preset

    def one_view(state: dict) -> None:
        state["hyper_parameters"]["net"] = {**state["hyper_parameters"]["net"], "views": 1}

    edited = edit_checkpoint(ckpt, tmp_path / "one_view.ckpt", one_view)
    assert net["views"] != 1
    with pytest.raises(GuardError, match="digest mismatch"):
        Guard.load(edited)
