"""Quiet runs: the lines third-party libraries print on every run that tell a person nothing, silenced at the source.

Every entry point imports this module first. Each filter below matches one message exactly and says what it hides and
why; anything else (digit_lit's own warnings, any other library's) stays visible.
"""

from __future__ import annotations

import logging
import warnings

# torch 2.14 deprecates `isinstance(x, LeafSpec)`, which Lightning's own utilities/_pytree.py still does on every fit
# (once per process: twice under 2-process DDP). Nothing in digit_lit to change; Lightning has to.
warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated", category=FutureWarning)


class DropMessages(logging.Filter):
    """Drops the log records whose message starts with one of the given texts."""

    def __init__(self, *starts: str) -> None:
        super().__init__()
        self.starts = starts

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.starts)


LIGHTNING_NOISE = DropMessages(
    # adverts for Lightning's cloud services (litlogger, litmodels), printed at the start of every fit
    "💡 Tip:",
    # bookkeeping printed when a one-cycle schedule asks for the run length; the user chose that length
    "Loading `train_dataloader` to estimate number of stepping batches",
)
# Lightning's rank_zero_info logs through one of these (whichever Lightning package was imported last); a filter on a
# logger applies to the records made there, whatever handlers (Hydra's or Lightning's own) print them later.
for _name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
    logging.getLogger(_name).addFilter(LIGHTNING_NOISE)

# alembic, Optuna's database layer, is loaded by the Optuna sweeper even with in-memory storage and logs
# "setup plugin alembic...." at INFO seven times, which Hydra's logging then prints.
logging.getLogger("alembic").setLevel(logging.WARNING)


def lightning_logs_once() -> None:
    """Print each of Lightning's log lines once. `import lightning` gives the "lightning" logger a console handler of
    its own (lightning/__init__.py, whatever logging is set up already), and the records also propagate to the root
    logger, where Hydra's handlers print them to the console and the run's log file: every line ("Seed set to 42",
    "GPU available: ...") came twice, once as "INFO: ...". Call it once lightning is imported, under Hydra's logging."""
    if logging.getLogger().hasHandlers():
        lightning_logger = logging.getLogger("lightning")
        for handler in list(lightning_logger.handlers):
            lightning_logger.removeHandler(handler)
