"""User-facing errors: one line that says what is wrong and what to do, then a non-zero exit."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class DigitLitError(Exception):
    """A problem the user can fix; its message is shown as-is, without a stack trace."""


class DataError(DigitLitError):
    pass


class ConfigError(DigitLitError):
    pass


class CheckpointError(DigitLitError):
    pass


def _is_user_error(err: BaseException) -> bool:
    # Lightning's own verdict on a bad setting (not imported here: predict runs without Lightning)
    return isinstance(err, DigitLitError) or type(err).__name__ == "MisconfigurationException"


def exit_cleanly(main: Callable[..., T]) -> Callable[..., T]:
    """Turn a DigitLitError (also when Hydra wraps it) into `error: ...` on stderr and exit code 2."""

    @functools.wraps(main)
    def wrapper(*args: object, **kwargs: object) -> T:
        try:
            return main(*args, **kwargs)
        except Exception as exc:
            err: BaseException | None = exc
            while err is not None and not _is_user_error(err):
                err = err.__cause__ or err.__context__
            if err is None:
                raise
            print(f"error: {str(err).strip().splitlines()[0]}", file=sys.stderr)
            sys.exit(2)

    return wrapper
