"""Where the project lives, for tests that run its CLI or compose its configs."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "digit_lit" / "conf"
