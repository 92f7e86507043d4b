"""User-facing errors: one line that says what is wrong and what to do, then a non-zero exit."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import NoReturn, TypeVar

from hydra.errors import ConfigCompositionException, OverrideParseException
from omegaconf.errors import ConfigAttributeError, ConfigKeyError

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


class Terminated(BaseException):
    """SIGTERM, on its way to `exit_cleanly` (which makes it Stopped: one line, status 143). A BaseException, as
    KeyboardInterrupt is: the `except Exception` that turns one unreadable picture into its own error line (predict)
    or one damaged cache file into a redraw (world.cached) must not swallow it."""


@contextlib.contextmanager
def sigterm_stops(message: Callable[[], str]) -> Iterator[None]:
    """SIGTERM raises Terminated(message()), then status 143: by default it ended the process without a word, its run
    dir left half claimed (e.g. while `trainer.fit` draws the world in prepare_data, before Lightning installs its own
    handler). Where Lightning's handler is installed, it is in charge (it composes ours and lets the batch finish)."""
    main = os.getpid()

    def handler(signum: int, frame: object) -> None:
        if os.getpid() != main:  # a forked worker (the world's drawing pool, which pool.terminate() ends with SIGTERM)
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        if signal.getsignal(signum) is handler:
            raise Terminated(message())

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def exit_cleanly(main: Callable[..., T]) -> Callable[..., T]:
    """Turn a DigitLitError (also when Hydra wraps it), a Ctrl+C or a SIGTERM into one `error: ...` line and a
    non-zero exit."""

    @functools.wraps(main)
    def wrapper(*args: object, **kwargs: object) -> T:
        try:
            with sigterm_stops(lambda: "stopped by SIGTERM"):
                return main(*args, **kwargs)
        except KeyboardInterrupt:
            fail(Stopped("stopped by SIGINT (Ctrl+C)", signal.SIGINT))
        except Terminated as stop:
            fail(Stopped(str(stop), signal.SIGTERM))
        except Exception as exc:
            err: BaseException | None = exc
            while err is not None and not isinstance(err, DigitLitError):
                err = err.__cause__ or err.__context__
            if err is None:
                raise
            fail(err)

    return wrapper


def command_line(app: Callable[..., T]) -> Callable[..., T]:
    """The outside of a Hydra entry point: a command line Hydra cannot compose (a misspelt setting, a config group
    option that does not exist, an override that does not parse) is one `error:` line and exit 2, as every other bad
    setting is, not Hydra's report of several lines. Hydra hands those errors to its caller only when HYDRA_FULL_ERROR
    is set, so it is set for the call (a user who set it gets Hydra's full report, as Hydra promises)."""

    @functools.wraps(app)
    def wrapper(*args: object, **kwargs: object) -> T:
        if "HYDRA_FULL_ERROR" in os.environ:
            return app(*args, **kwargs)
        os.environ["HYDRA_FULL_ERROR"] = "1"
        try:
            return app(*args, **kwargs)
        except (ConfigCompositionException, OverrideParseException) as exc:
            fail(ConfigError(composition_error(exc)))
        except ValueError as exc:  # Hydra's override parser turns digits into an int, which refuses 4,300 or more
            if "integer string conversion" not in str(exc):
                raise
            fail(ConfigError("an override holds a number of thousands of digits; no setting takes one"))
        finally:
            os.environ.pop("HYDRA_FULL_ERROR", None)

    return wrapper


def composition_error(exc: Exception) -> str:
    """Hydra's report of a command line it could not compose, in one line: a key that is no setting said so plainly,
    an override that does not parse named, a list of options (one per line in Hydra's report) as a list, the config
    search path left out."""
    cause = exc.__cause__
    if isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and cause.full_key:
        # (Hydra's own hint, +KEY=VALUE to add the key, would turn a misspelt setting into a second, unknown one)
        return f"{cause.full_key} is not a setting: check its spelling (--cfg job prints every setting)"
    parts = [f"cannot read the override {exc.override!r}"] if isinstance(exc, OverrideParseException) else []
    for raw in str(exc).split("\nConfig search path:")[0].splitlines():
        line = raw.strip()
        if line and raw.startswith("\t") and parts:  # an option under "Available options in 'model':"
            parts[-1] += (" " if parts[-1].endswith(":") else ", ") + line
        elif line:
            parts.append(line)
    return "; ".join(parts)
