"""Stage 1, continued - test-time adaptation: fine-tune the separation network on the very recording it must
separate.

A concerto has passages where only one source plays: the orchestra's ritornelli (piano
silent) and the piano's solos and cadenza (orchestra silent). They are clean examples of
*this* piano and *this* orchestra in *this* room. :func:`find_solo_passages` finds them
with the network itself (per second, the share of the mixture's energy it gives the piano:
near 0 = orchestra alone, near 1 = piano alone); users can also name them. :func:`adapt`
mixes random excerpts of the two kinds of passage at random gains, exactly as in training,
and fine-tunes a copy of the network for a bounded time.

The search for solo passages can be wrong: quiet piano figures under the orchestra can look like
"orchestra alone", and fine-tuning on them teaches the network to give that piano away. So an
adaptation on passages found automatically is checked where it was not trained: if it gives the
piano more than ``max_piano_drop_db`` less of the mixture's energy outside the passages than the
network it started from, it is rejected (the starting network is returned, with a warning).
"""
from __future__ import annotations

import copy
import time
import warnings

import numpy as np

from . import io, model as masknet
from ._arrays import runs

__all__ = ["find_solo_passages", "adapt", "piano_share_change"]

HEAD = ("fc_out", "bin_weights")  # what layers="head" fine-tunes
# An adaptation that moves the piano's share outside the solo passages down by more than this is undone: a loose
# bound against the worst case, which the adaptations that helped stayed within (benchmarks/README.md, TTA).
MAX_PIANO_DROP_DB = 1.5
# Fine-tuning schedule by how much solo material there is (seconds of the scarcer kind of passage): an excerpt's
# 10-30 s are learnt by heart by a longer schedule; a movement's minute or more goes on gaining with it
# (benchmarks/tta_whole.py).
SHORT_SCHEDULE = {"max_steps": 200, "lr": 3e-4}
LONG_SCHEDULE = {"max_steps": 600, "lr": 6e-4}
LONG_PASSAGES_S = 45.0


def find_solo_passages(y: np.ndarray, sr: int, net=None, *, piano_share: float = 0.85, orchestra_share: float = 0.06,
                       min_s: float = 3.0, smooth_s: int = 5):
    """Piano-only and orchestra-only passages of a concerto recording.

    Notebook: ``02_test_time_adaptation``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        The mixture (any rate; analysed at 22.05 kHz mono).
    sr : int
    net : MaskNet, optional
        Default: the shipped network.
    piano_share, orchestra_share : float
        A second is piano-only when the network gives the piano more than ``piano_share`` of its
        energy (median over ``smooth_s`` seconds), orchestra-only below ``orchestra_share``;
        silent seconds count as neither. Strict, because clean passages matter more than many: looser
        thresholds let quiet piano under the orchestra into the "orchestra-only" passages, and
        adapting on them lost (``benchmarks/tta_whole.py``, ``benchmarks/README.md``).
    min_s : float
        Shortest passage kept, in seconds.
    smooth_s : int
        Median filter length: a single second's verdict is noisy (a loud orchestral attack can
        look like piano).

    Returns
    -------
    piano_only, orchestra_only : list of (start_s, end_s)
    """
    X, mask = masknet.stft_and_mask(io.to_mono(np.asarray(y, dtype=np.float32)), sr, net)
    X = np.abs(X)
    fps = masknet.SR / masknet.HOP
    n_sec = int(X.shape[1] // fps)
    share, loud = np.zeros(n_sec), np.zeros(n_sec)
    for s in range(n_sec):
        sl = slice(int(s * fps), int((s + 1) * fps))
        energy = np.sum(X[:, sl] ** 2)
        share[s] = np.sum((mask[:, sl] * X[:, sl]) ** 2) / max(energy, 1e-12)
        loud[s] = energy
    from scipy.ndimage import median_filter

    share = median_filter(share, size=smooth_s, mode="nearest")
    active = loud > np.percentile(loud, 90) * 1e-3  # within 30 dB of the loud seconds
    min_len = int(np.ceil(min_s))
    piano = runs(active & (share > piano_share), min_len)
    orchestra = runs(active & (share < orchestra_share), min_len)
    return [(float(a), float(b)) for a, b in piano], [(float(a), float(b)) for a, b in orchestra]


def adapt(y: np.ndarray, sr: int, net=None, *, piano_only=None, orchestra_only=None, max_seconds: float = 300.0,
          max_steps: int | None = None, batch_size: int = 8, lr: float | None = None, seed: int = 0,
          progress: bool = False, layers: str = "all", max_piano_drop_db: float | None = MAX_PIANO_DROP_DB):
    """A copy of the network fine-tuned on mixes of the recording's own solo passages.

    Notebook: ``02_test_time_adaptation``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        The concerto recording.
    sr : int
    net : MaskNet, optional
        Starting point (default: the shipped network); it is not modified.
    piano_only, orchestra_only : list of (start_s, end_s), optional
        The passages; found with :func:`find_solo_passages` when not given.
    max_seconds, max_steps : bounds on the fine-tuning. ``max_steps`` is the one that normally stops it,
        so the same seed gives the same network on any machine; ``max_seconds`` cuts it short on a slow
        or busy one, and then the result depends on the load. By default ``max_steps`` (and ``lr``)
        follow the solo material: with at least :data:`LONG_PASSAGES_S` seconds of each kind of
        passage (a whole movement) :data:`LONG_SCHEDULE`, 600 steps at 6e-4 (about 3.5 minutes on
        one core beside another job), else :data:`SHORT_SCHEDULE`, 200 steps at 3e-4 (about a minute).
    layers : {"all", "head"}
        Fine-tune every weight (default, what ``benchmarks/separation.py`` measures), or only the
        output layer and the per-bin weights (the recurrent core stays as trained and each step
        costs about half; in our trials it gained less than fine-tuning everything).
    batch_size, lr, seed : fine-tuning schedule (``lr`` by default as ``max_steps``); the same seed
        gives the same result.
    progress : bool
        Show a progress bar.
    max_piano_drop_db : float or None
        When passages were found automatically, reject the adaptation if the piano's share of
        the mixture's energy outside the passages falls by more than this (see the module's
        docstring); ``None``: never reject.

    Returns
    -------
    adapted : MaskNet (eval mode)
    info : dict
        The passages used, the schedule (``max_steps``, ``lr``), the number of steps taken, the
        seconds spent, the loss history and ``piano_change_db`` (the change of the piano's share
        outside the passages).
        With no passage of one kind, the network is returned unchanged and ``info["skipped"]``
        says why; with a rejected adaptation, too, and ``info["rejected"]`` says why.
    """
    import torch
    from tqdm.auto import tqdm

    from .mixes import RandomMixes, training_step

    base = net or masknet.load_model()
    y22 = io.resample(io.to_mono(np.asarray(y, dtype=np.float32)), sr, masknet.SR)
    found = piano_only is None or orchestra_only is None
    if found:
        found_p, found_o = find_solo_passages(y22, masknet.SR, base)
        piano_only = found_p if piano_only is None else piano_only
        orchestra_only = found_o if orchestra_only is None else orchestra_only
    scarcer_s = min(sum(b - a for a, b in piano_only), sum(b - a for a, b in orchestra_only))
    schedule = LONG_SCHEDULE if scarcer_s >= LONG_PASSAGES_S else SHORT_SCHEDULE
    max_steps = schedule["max_steps"] if max_steps is None else max_steps
    lr = schedule["lr"] if lr is None else lr
    info = {"piano_only": piano_only, "orchestra_only": orchestra_only, "steps": 0, "seconds": 0.0, "history": [],
            "max_steps": max_steps, "lr": lr}
    if not piano_only or not orchestra_only:
        info["skipped"] = "no " + ("piano-only" if not piano_only else "orchestra-only") + " passage found"
        warnings.warn(f"test-time adaptation skipped: {info['skipped']}", stacklevel=2)
        return base, info

    cut = lambda passages: [y22[int(a * masknet.SR): int(b * masknet.SR)] for a, b in passages]  # noqa: E731
    segment_s = min(3.0, min(b - a for a, b in piano_only + orchestra_only))
    mixes = RandomMixes({"piano": cut(piano_only), "orchestra": cut(orchestra_only)}, rooms=[], seed=seed,
                        segment_s=segment_s)
    if layers not in ("head", "all"):
        raise ValueError(f"layers must be 'head' or 'all', not {layers!r}")
    adapted = copy.deepcopy(base).train()
    for name, param in adapted.named_parameters():
        param.requires_grad = layers == "all" or name.startswith(HEAD)
    opt = torch.optim.Adam([p for p in adapted.parameters() if p.requires_grad], lr=lr)
    t0 = time.perf_counter()
    with masknet.torch_threads(1):
        for step in tqdm(range(max_steps), desc="adapt", disable=not progress, leave=False):
            if time.perf_counter() - t0 > max_seconds:
                break
            info["history"].append(training_step(adapted, opt, mixes, batch_size, seed, step))
            info["steps"] = step + 1
    info["seconds"] = round(time.perf_counter() - t0, 2)
    adapted.eval()
    info["piano_change_db"] = round(piano_share_change(y22, base, adapted, piano_only + orchestra_only), 2)
    if found and max_piano_drop_db is not None and info["piano_change_db"] < -max_piano_drop_db:
        info["rejected"] = (f"the adapted network gives the piano {-info['piano_change_db']:.1f} dB less outside the "
                            "passages it found: one taken for orchestra alone probably has piano in it")
        warnings.warn(f"test-time adaptation rejected: {info['rejected']}; name the passages yourself "
                      "(piano_only=, orchestra_only=)", stacklevel=2)
        return base, info
    return adapted, info


def piano_share_change(y22: np.ndarray, before, after, passages) -> float:
    """How much the piano's share of the mixture's energy changes from one network to another
    outside ``passages``, in dB (0 when the passages cover everything).

    Notebook: ``02_test_time_adaptation``.

    Parameters
    ----------
    y22 : np.ndarray [shape=(n,)]
        Mono mixture at :data:`concerto_nb.model.SR`.
    before, after : MaskNet
    passages : list of (start_s, end_s)
    """
    X, mask_before = masknet.stft_and_mask(y22, masknet.SR, before)
    power = np.abs(X) ** 2
    mask_after = masknet.piano_mask(np.abs(X), after)
    outside = np.ones(X.shape[1], dtype=bool)
    fps = masknet.SR / masknet.HOP
    for a, b in passages:
        outside[int(a * fps): int(np.ceil(b * fps))] = False
    if not outside.any():
        return 0.0
    share = lambda m: np.sum(m[:, outside] ** 2 * power[:, outside])  # noqa: E731
    return float(10 * np.log10(max(share(mask_after), 1e-12) / max(share(mask_before), 1e-12)))
