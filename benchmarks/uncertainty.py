"""Which uncertainty score refuses best: a comparison on the validation groups of a trained ensemble checkpoint.

    python benchmarks/uncertainty.py CKPT [--data-dir data] [--tta 5] [overrides of the preset...]

Scores compared (each a monotone "how sure" number; accept when it clears a threshold):
  member msp       one member, max softmax probability after temperature scaling (what digit_lit shipped before)
  member energy    one member, the free energy score T*logsumexp(logits/T) (Liu et al., 2020)
  member TTA       one member, max of its probabilities averaged over small shifts/rotations of the view
  ensemble msp     all members, max of their mean calibrated probability (the guard's rule)
  ensemble TTA     all members and the same test-time augmentations
  ... least sure   the same views pooled otherwise: the smallest probability any member-view gives the chosen digit,
  ... geometric    their geometric mean, or the mean gated on every member-view agreeing (0 when one disagrees)
  ... all agree
The validation groups and their targets are those of `experiment=guard` (composed with Hydra, plus any overrides given:
the checkpoint's own split must be named the same way, e.g. data.val_size). For each score, the threshold is chosen as
the guard chooses it (Clopper-Pearson at 95% over the mnist, world and outlier validation groups, each at its target)
on one half of each group and judged on the other half (then the halves swap): the printed coverage and wrong-accept
are out-of-sample. "non-digits accepted" is the outlier group's accepted share.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from guard_groups import validation_groups

from digit_lit.calibration import choose_threshold, fit_temperature
from digit_lit.guard import Guard, rejection_report
from digit_lit.models import view_grids

Groups = dict[str, tuple[np.ndarray, np.ndarray]]


def member_logits(guard: Guard, images: np.ndarray, n_tta: int, chunk: int = 5000) -> torch.Tensor:
    """[N, tta, members, 10] logits: each member on the view and n_tta - 1 small moves of it (models.MOVES, the moves
    `model.net.views` ships)."""
    grids, out = view_grids(n_tta), []
    with torch.inference_mode():
        for i in range(0, len(images), chunk):
            x = torch.from_numpy(images[i : i + chunk]).float().div(255).unsqueeze(1)
            out.append(guard.net.read_views(x, grids))
    return torch.cat(out)


def scores(z: torch.Tensor, t_member: float, t_ens: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(score, prediction) of each method from [N, tta, members, 10] logits."""
    one = z[:, 0, 0]
    p_member = F.softmax(one / t_member, 1)
    p_member_tta = F.softmax(z[:, :, 0] / t_member, 2).mean(1)
    p_ens = F.softmax(z[:, 0] / t_ens, 2).mean(1)
    p_ens_tta = F.softmax(z / t_ens, 3).mean((1, 2))
    energy = t_member * torch.logsumexp(one / t_member, 1)
    # each member-view's probability of the digit the ensemble chooses: [N, tta x members]
    p_views = F.softmax(z / t_ens, 3).flatten(1, 2)
    chosen = p_ens_tta.argmax(1)
    p_chosen = p_views[torch.arange(len(z)), :, chosen]
    agree = (p_views.argmax(2) == chosen[:, None]).all(1)
    out = {
        "member msp": (p_member.amax(1), p_member.argmax(1)),
        "member energy": (energy, one.argmax(1)),
        "member TTA": (p_member_tta.amax(1), p_member_tta.argmax(1)),
        "ensemble msp": (p_ens.amax(1), p_ens.argmax(1)),
        "ensemble TTA": (p_ens_tta.amax(1), chosen),
        "ensemble TTA, least sure view": (p_chosen.amin(1), chosen),
        "ensemble TTA, geometric mean": (p_chosen.clamp_min(1e-300).log().mean(1).exp(), chosen),
        "ensemble TTA, all views agree": (p_ens_tta.amax(1) * agree, chosen),
    }
    return {k: (s.double().numpy(), p.numpy()) for k, (s, p) in out.items()}


def squash(groups: Groups) -> Groups:
    """Map every score into (0, 1) by one increasing affine map (the guard's threshold lives there; order is kept)."""
    lo = min(float(s.min()) for s, _ in groups.values())
    hi = max(float(s.max()) for s, _ in groups.values())
    return {k: (0.001 + 0.998 * (s - lo) / max(hi - lo, 1e-12), c) for k, (s, c) in groups.items()}


def cross_fitted(groups: Groups, targets: dict[str, float]) -> dict[str, dict[str, float]]:
    """Threshold on one half of every group, figures on the other half, both ways; the mean of the two."""
    halves = {k: (np.arange(len(s)) % 2) for k, (s, _) in groups.items()}
    out: dict[str, dict[str, list[float]]] = {k: {"coverage": [], "wrong_accept": []} for k in groups}
    for fold in (0, 1):
        fit = [(s[halves[k] == fold], c[halves[k] == fold], targets[k]) for k, (s, c) in groups.items()]
        thr = choose_threshold(fit, 0.95)
        for k, (s, c) in groups.items():
            held = halves[k] != fold
            r = rejection_report(s[held] >= thr, c[held])
            out[k]["coverage"].append(r["coverage"])
            out[k]["wrong_accept"].append(r["wrong_accept"])
    return {k: {m: float(np.mean(v)) for m, v in d.items()} for k, d in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ckpt")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--tta", type=int, default=5)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of experiment=guard (e.g. data.val_size=10000)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    _, sets, targets = validation_groups(args.data_dir, args.overrides)
    guard = Guard.load(args.ckpt)
    logits = {k: member_logits(guard, x.numpy(), args.tta) for k, (x, _) in sets.items()}
    labels = {k: y.numpy() for k, (_, y) in sets.items()}
    digits_z = torch.cat([logits["mnist"], logits["world"]])
    digits_y = torch.from_numpy(np.concatenate([labels["mnist"], labels["world"]]))
    t_member = fit_temperature(digits_z[:, 0, 0], digits_y)
    t_ens = fit_temperature(digits_z[:, 0], digits_y)
    per_method: dict[str, Groups] = {}
    for name in sets:
        for method, (s, pred) in scores(logits[name], t_member, t_ens).items():
            per_method.setdefault(method, {})[name] = (s, pred == labels[name])
    sizes = ", ".join(f"{k} {len(y)}" for k, y in labels.items())
    print(f"targets {targets}; {guard.spec['size']} members; validation groups: {sizes}")
    header = "| score | MNIST val acc | world val acc | MNIST coverage | MNIST wrong-accept | world coverage | "
    print(header + "world wrong-accept | non-digits accepted |")
    print("|---" * 8 + "|")
    fmt: Callable[[float], str] = lambda v: f"{100 * v:.2f}%"  # noqa: E731
    for method, groups in per_method.items():
        f = cross_fitted(squash(groups), targets)
        acc = {k: float(c.mean()) for k, (_, c) in groups.items() if k != "outliers"}
        cells = [fmt(acc["mnist"]), fmt(acc["world"]), fmt(f["mnist"]["coverage"]), fmt(f["mnist"]["wrong_accept"])]
        cells += [fmt(f["world"]["coverage"]), fmt(f["world"]["wrong_accept"]), fmt(f["outliers"]["coverage"])]
        print(f"| {method} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
