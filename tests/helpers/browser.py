"""The system Chromium, driven by Playwright (its own browser download is not reachable here: Debian's package is)."""

from __future__ import annotations

import math
import os
import shutil
from itertools import pairwise
from types import ModuleType
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"


def require(what: str) -> None:
    """A missing browser fails under DIGIT_LIT_REQUIRE_MNIST=1 (CI, where .ci/run installs it) and skips elsewhere."""
    if os.environ.get("DIGIT_LIT_REQUIRE_MNIST") == "1":
        pytest.fail(f"{what}; CI must run the browser tests (.ci/run installs chromium with apt-get)")
    pytest.skip(what)


def playwright_api() -> ModuleType:
    try:
        import playwright.sync_api as api
    except ImportError:
        require("playwright is not installed (pip install -e '.[dev]')")
    return api


def chromium_path() -> str:
    found = shutil.which("chromium") or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    if found is None:
        require("no system Chromium (apt-get install -y chromium)")
    return str(found)


def launch_args() -> list[str]:
    # Chromium refuses to start as root unless its sandbox is off (CI containers run as root)
    return ["--no-sandbox"] if os.geteuid() == 0 else []


def stroke(page: Any, points: list[tuple[float, float]], steps: int = 12) -> None:
    """Draw a polyline on the pad with the mouse (pointer events), in pad pixels."""
    box = page.locator("#pad").bounding_box()
    scale = box["width"] / int(page.locator("#pad").get_attribute("width"))
    xy = [(box["x"] + x * scale, box["y"] + y * scale) for x, y in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for point in xy[1:]:
        page.mouse.move(*point, steps=steps)
    page.mouse.up()


def touch_stroke(page: Any, points: list[tuple[float, float]], steps: int = 12) -> None:
    """Draw a polyline with a finger: real touch input through the DevTools protocol (Chromium makes pointer events
    of pointerType "touch" from it, as from a phone's screen)."""
    box = page.locator("#pad").bounding_box()
    scale = box["width"] / int(page.locator("#pad").get_attribute("width"))
    xy = [(box["x"] + x * scale, box["y"] + y * scale) for x, y in points]
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": xy[0][0], "y": xy[0][1]}]})
    for (x0, y0), (x1, y1) in pairwise(xy):
        for k in range(1, steps + 1):
            x, y = x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def shown_percent(p: float) -> str:
    """A probability as the page shows it (app.js percent(): rounded down to 0.01%)."""
    return f"{math.floor(p * 10000) / 100:.2f}%"
