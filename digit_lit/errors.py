"""User-facing errors: one line that says what is wrong and what to do, then a non-zero exit."""

from __future__ import annotations

import functools
import logging
import signal
import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

T = TypeVar("T")

# Written to the run's log file only (conf/hydra/default.yaml sends this logger there): stderr already has the line.
run_log = logging.getLogger(__name__)


class DigitLitError(Exception):
    """A problem the user can fix; its message is shown as-is, without a stack trace."""

    exit_code = 2


class DataError(DigitLitError):
    pass


class ConfigError(DigitLitError):
    pass


class CheckpointError(DigitLitError):
    pass


class Stopped(DigitLitError):
    """A run stopped by a signal: exit status 128 + its number, as a shell reports it (SIGTERM 143, SIGINT 130)."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum


def fail(err: DigitLitError) -> NoReturn:
    """`error: <first line>` on stderr (and in the run's log file, when there is one), then exit."""
    line = f"error: {str(err).strip().splitlines()[0]}"
    print(line, file=sys.stderr, flush=True)
    if run_log.handlers:
        run_log.error(line)
    sys.exit(err.exit_code)


def exit_cleanly(main: Callable[..., T]) -> Callable[..., T]:
    """Turn a DigitLitError (also when Hydra wraps it) or a Ctrl+C into one `error: ...` line and a non-zero exit."""

    @functools.wraps(main)
    def wrapper(*args: object, **kwargs: object) -> T:
        try:
            return main(*args, **kwargs)
        except KeyboardInterrupt:
            fail(Stopped("stopped by SIGINT (Ctrl+C)", signal.SIGINT))
        except Exception as exc:
            err: BaseException | None = exc
            while err is not None and not isinstance(err, DigitLitError):
                err = err.__cause__ or err.__context__
            if err is None:
                raise
            fail(err)

    return wrapper
