"""Lightning's CSVLogger, except that a resumed run keeps the rows already in its metrics.csv.

Lightning's writer deletes metrics.csv whenever its folder is not empty, so `ckpt_path=last` on a CSV-logged run lost
every row logged before the resume. Subclassed, not copied: only that check and the first save change.
"""

from __future__ import annotations

import csv

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter


class KeepingWriter(ExperimentWriter):
    """Keeps the rows already in metrics.csv that come before this run's first step.

    A step belongs to the run that reached it last: rows at or past the first step this run logs are the tail a killed
    run wrote after its last checkpoint (the resumed run does those steps again), or, for a new run started in the same
    folder, everything.
    """

    def __init__(self, log_dir: str) -> None:
        self._first_save = True
        super().__init__(log_dir=log_dir)

    def _check_log_dir_exists(self) -> None:
        """Lightning's deletes metrics.csv here; `save` decides what to keep."""

    def save(self) -> None:
        if self._first_save and self.metrics:
            self._first_save = False
            self._keep_rows_before(min(float(m["step"]) for m in self.metrics))
        super().save()

    def _keep_rows_before(self, first_step: float) -> None:
        if not self._fs.isfile(self.metrics_file_path):
            return
        with self._fs.open(self.metrics_file_path, "r", newline="") as file:
            reader = csv.DictReader(file)
            header, rows = list(reader.fieldnames or []), list(reader)
        kept = [row for row in rows if row.get("step") and float(row["step"]) < first_step]
        # the parent's save appends under these columns, and rewrites the header when this run logs new ones
        self.metrics_keys = header
        with self._fs.open(self.metrics_file_path, "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=header)
            writer.writeheader()
            writer.writerows(kept)


class ResumableCSVLogger(CSVLogger):
    """`CSVLogger` writing through `KeepingWriter` (conf/logger/csv.yaml)."""

    @property
    @rank_zero_experiment
    def experiment(self) -> KeepingWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = KeepingWriter(log_dir=self.log_dir)
        return self._experiment
