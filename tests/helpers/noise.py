"""The third-party lines a digit_lit run must not print (see digit_lit/quiet.py and train's test(verbose=False))."""

from __future__ import annotations

NOISE = {
    "Lightning's litlogger advert": "try installing [litlogger]",
    "Lightning's litmodels advert": "try installing [litmodels]",
    "torch's LeafSpec deprecation, via Lightning": "isinstance(treespec, LeafSpec)` is deprecated",
    "alembic's plugin lines, via Optuna": "setup plugin alembic",
    "torch.onnx's progress lines": "[torch.onnx]",
    "Lightning's table of test metrics": "Test metric",
    "Lightning's note on estimating the run length": "to estimate number of stepping batches",
}


def noise_in(output: str) -> list[str]:
    """What, of NOISE, the output contains (by description)."""
    return [what for what, text in NOISE.items() if text in output]
