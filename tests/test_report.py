"""The report's last line: every figure as it was measured, in words a person reads."""

from __future__ import annotations

import logging

import pytest

from digit_lit.report import print_report


def test_counts_are_whole_and_the_threshold_has_six_digits(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="digit_lit.report"):
        print_report({"threshold": 0.9889618159896388, "world/pictures": 20000.0, "test/wrong_accept": 0.0})
    line = caplog.text.strip().splitlines()[-1]
    # 4 significant digits printed "world/pictures: 2e+04" and the threshold as 0.989, which is not the one stored
    assert line == "threshold: 0.988962, world/pictures: 20000, test/wrong_accept: 0"
