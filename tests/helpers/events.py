"""Reading TensorBoard event files back as TensorBoard itself does (with its purge of steps that go back)."""

from __future__ import annotations

from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.plugins.hparams import plugin_data_pb2


def event_dirs(root: Path) -> list[Path]:
    """The folders under root holding event files: TensorBoard's runs."""
    return sorted({p.parent for p in root.rglob("events.out.tfevents.*")})


def load_run(run_dir: Path) -> EventAccumulator:
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def hparams_plugin_data(acc: EventAccumulator) -> dict[str, plugin_data_pb2.HParamsPluginData]:
    """The hparams plugin's summaries (experiment, session start/end) by tag."""
    out = {}
    for tag, content in acc.PluginTagToContent("hparams").items():
        data = plugin_data_pb2.HParamsPluginData()
        data.ParseFromString(content)
        out[tag] = data
    return out


def summaries_in_order(run_dir: Path) -> list[tuple[int, str]]:
    """(step, tag) of every summary value, in the order the run wrote them."""
    out = []
    for path in sorted(run_dir.glob("events.out.tfevents.*")):
        for event in EventFileLoader(str(path)).Load():
            out += [(event.step, value.tag) for value in event.summary.value]
    return out
