"""Train the informed-separation network (:class:`concerto_nb.informed.InformedNet`) on top of the shipped blind one.

A training example is a 4 s excerpt of a concerto's piano part rendered in one training soundfont, mixed with an
orchestra excerpt, and beside it a "pianist": the same notes rendered in *another* soundfont, as a home recording
would give them (:meth:`PianistPairs.pianist_take`). Data: the renders ``scripts/train.py`` makes (Beethoven
Op. 37 I, Bach BWV 1055 I-III in three soundfonts, minus the held-out windows; music21 corpus and real orchestras),
cached in ``data/cache``. Half the orchestra excerpts are the same bars of the same concerto (it doubles the piano's
harmony: the hard case), half come from anywhere else.

The blind network stays as shipped; the loss is :func:`concerto_nb.mixes.mask_loss` (L1 on the masked
magnitudes, the piano waveform's error in dB, and :data:`BLEED_WEIGHT` x the piano left in the orchestra track).
1200 steps (45 min on 2 cores) gained more on unseen material than a 500-step schedule (``benchmarks/README.md``,
"Informed separation"). ``python scripts/train_informed.py`` (``--help``): fixed
seed, progress bar, a checkpoint every 50 steps that a rerun resumes from; the weights go to
``concerto_nb/weights/informed.pt``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from concerto_nb import data, informed, io, model as masknet, render  # noqa: E402
from concerto_nb.mixes import _peaking_filter, mask_loss  # noqa: E402
import train  # noqa: E402

SEGMENT_S = 4.0  # the convolutions see 3 frames: a few bars are plenty, and the level fit has 170 frames
MAX_OFFSET_S = 0.06  # how far the aligned pianist may sit from the concerto (sync.align: mostly within 50 ms)
SAME_BARS = 0.5  # share of orchestra excerpts from the same bars of the same concerto
# extra weight on the piano left in the orchestra track (what a user hears under their own playing)
BLEED_WEIGHT = 1.0


def concerto_stems(cache_dir):
    """``[{soundfont: (piano, orchestra)}]``, one dict per stretch of a training concerto outside the held-out
    windows; the soundfonts' samples line up (one MIDI file)."""
    stretches = []
    for piece in train.TRAIN_PIECES:
        renders = {}
        for sf in train.TRAIN_SOUNDFONTS:
            with np.load(train.rendered_concerto(data.SOURCES_DIR, cache_dir, piece, sf)) as z:
                renders[sf] = (z["piano"].astype(np.float32), z["orchestra"].astype(np.float32))
        n = min(len(p) for p, _ in renders.values())
        parts = {sf: [train._without_held_out(y[:n], train.HELD_OUT.get(piece), train.HELD_OUT_MARGIN_S)
                      for y in pair] for sf, pair in renders.items()}
        for i in range(len(parts[train.TRAIN_SOUNDFONTS[0]][0])):
            stretches.append({sf: (parts[sf][0][i], parts[sf][1][i]) for sf in parts})
    return stretches


class PianistPairs:
    """Random concerto mixes, each with a pianist's take of its piano part; reproducible from a seed."""

    def __init__(self, stretches, orchestras, rooms, seed=0, segment_s=SEGMENT_S):
        self.stretches, self.orchestras, self.rooms = stretches, orchestras, rooms
        self.rng = np.random.default_rng(seed)
        self.n = int(segment_s * masknet.SR)

    def _colour(self, y):
        # a peaking equaliser at a random frequency: a microphone's, a room's or a mastering's colour
        from scipy.signal import lfilter

        b, a = _peaking_filter(10 ** self.rng.uniform(2, np.log10(8000)), self.rng.uniform(-6, 6), masknet.SR)
        return lfilter(b, a, y)

    def pianist_take(self, notes, start):
        """The same notes in another piano, at home: read ``MAX_OFFSET_S`` early or late and up to 1 % fast or slow
        (tens of ms of alignment error), a small room, a microphone's colour, dynamics that drift against the
        concerto's by up to +-6 dB, a noise floor. The notes are the concerto's: no wrong or missing ones."""
        from scipy.signal import lfilter

        rng, n = self.rng, self.n
        speed = 1 + rng.uniform(-0.01, 0.01)
        offset = int(rng.uniform(-MAX_OFFSET_S, MAX_OFFSET_S) * masknet.SR)
        a = int(np.clip(start + offset, 0, len(notes) - n * speed - 1))
        y = np.interp(a + np.arange(n) * speed, np.arange(len(notes)), notes)
        ir = render.synthetic_impulse_response(masknet.SR, rng.uniform(0.2, 0.8), rng, rng.uniform(0.4, 0.9),
                                               rng.uniform(0.0, 0.01))
        y = render.apply_room(self._colour(y), ir, rng.uniform(0.1, 0.4))
        t = np.arange(n) / masknet.SR
        drift_db = rng.uniform(-6, 6) * np.sin(2 * np.pi * t / rng.uniform(2, 8) + rng.uniform(0, 2 * np.pi))
        y = y * 10 ** (drift_db / 20)
        noise = lfilter([1.0], [1.0, -0.9], rng.standard_normal(n))
        level = np.sqrt(np.mean(y**2)) * 10 ** (-rng.uniform(40, 70) / 20)
        return (y + noise / (np.sqrt(np.mean(noise**2)) + 1e-9) * level).astype(np.float32)

    def example(self):
        rng, n = self.rng, self.n
        for _ in range(20):  # a stretch where the piano plays
            stretch = self.stretches[rng.integers(len(self.stretches))]
            sfs = list(stretch)
            concerto_sf, pianist_sf = rng.choice(len(sfs), 2, replace=False)
            notes, _ = stretch[sfs[concerto_sf]]
            start = int(rng.integers(0, max(1, len(notes) - 2 * n)))
            piano = notes[start: start + n]
            if len(piano) == n and np.sqrt(np.mean(piano**2)) > 1e-3:
                break
        pianist = self.pianist_take(stretch[sfs[pianist_sf]][0], start)
        if rng.uniform() < SAME_BARS:
            orch = stretch[sfs[rng.integers(len(sfs))]][1][start: start + n]
        else:
            y = self.orchestras[rng.integers(len(self.orchestras))]
            a = int(rng.integers(0, max(1, len(y) - n)))
            orch = y[a: a + n]
        orch = np.pad(orch, (0, n - len(orch)))
        piano = self._colour(piano) / (np.sqrt(np.mean(piano**2)) + 1e-9) * 10 ** (rng.uniform(-9, 9) / 20)
        orch = self._colour(orch) / (np.sqrt(np.mean(orch**2)) + 1e-9)
        u = rng.uniform()
        if u < 0.1:
            piano, pianist = piano * 0.0, pianist * 0.0  # tutti: neither plays
        elif u < 0.2:
            orch = orch * 0.0  # cadenza
        if rng.uniform() < 0.6:  # the concerto's one room
            ir = self.rooms[rng.integers(len(self.rooms))] if rng.uniform() < 0.5 else \
                render.synthetic_impulse_response(masknet.SR, rng.uniform(0.8, 2.5), rng, rng.uniform(0.4, 0.9))
            wet = rng.uniform(0.1, 0.6)
            piano = render.apply_room(piano, ir, float(np.clip(wet + rng.uniform(-0.1, 0.1), 0.05, 0.7)))
            orch = render.apply_room(orch, ir, wet)
        scale = 10 ** rng.uniform(np.log10(0.03), 0) / (np.max(np.abs(piano + orch)) + 1e-9)
        return (piano * scale).astype(np.float32), (orch * scale).astype(np.float32), pianist

    def batch(self, size, seed, step):
        """The batch of ``step`` (it depends only on (seed, step)): tensors ``piano, mixture`` (waveforms), ``X``
        (the mixture's STFT), ``P, O, pianist`` (magnitudes, ``(batch, frames, bins)``)."""
        import torch

        from concerto_nb.mixes import _magnitudes, _stft

        self.rng = np.random.default_rng([seed, step])
        piano, orch, pianist = (np.stack(x) for x in zip(*(self.example() for _ in range(size))))
        mixture = piano + orch
        return {"piano": torch.from_numpy(piano), "mixture": torch.from_numpy(mixture),
                "X": _stft(torch, mixture), "P": _magnitudes(torch, piano), "O": _magnitudes(torch, orch),
                "pianist": _magnitudes(torch, pianist)}


def training_pairs(cache_dir=None, seed=0, progress=True):
    """The :class:`PianistPairs` that :func:`train_informed` draws from."""
    cache_dir = Path(cache_dir or train.DEFAULT_CACHE)
    stretches = concerto_stems(cache_dir)
    orchestras = [o for s in stretches for _, o in s.values()]
    orchestras += train.render_corpus_stems(cache_dir, progress)["orchestra"]
    orchestras += [io.load_audio(data.SOURCES_DIR / "real_recordings" / name, sr=masknet.SR)[0]
                   for name in train.REAL_RECORDINGS_ORCHESTRA]
    rooms = [render.load_impulse_response(data.SOURCES_DIR / "openair_irs" / r, masknet.SR) for r in train.TRAIN_ROOMS]
    return PianistPairs(stretches, orchestras, rooms, seed)


def train_informed(out_path=None, *, steps=1200, batch_size=8, lr=3e-3, seed=0, cache_dir=None, checkpoint=None,
                   progress=True, stop_after=None, workers=1, channels=12, waveform_weight=train.WAVEFORM_WEIGHT,
                   bleed_weight=BLEED_WEIGHT, threads=2):
    """Train :class:`concerto_nb.informed.InformedNet` (or resume from ``checkpoint``) and save its weights."""
    import torch
    from tqdm.auto import tqdm

    cache_dir = Path(cache_dir or train.DEFAULT_CACHE)
    checkpoint = Path(checkpoint or cache_dir / "informed_checkpoint.pt")
    out_path = Path(out_path or informed.INFORMED_WEIGHTS)
    pairs = training_pairs(cache_dir, seed, progress)
    blind = masknet.load_model()
    torch.manual_seed(seed)  # after the blind network's first load, which draws random numbers as it builds one
    net = informed.InformedNet(channels=channels)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    run = {"steps": steps, "batch_size": batch_size, "lr": lr, "seed": seed, "waveform_weight": waveform_weight,
           "bleed_weight": bleed_weight, **net.config}
    history, start = [], 0
    if checkpoint.exists():
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        if state["run"] != run:
            raise ValueError(f"{checkpoint} is the checkpoint of another run ({state['run']}); delete it")
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        history, start = state["history"], state["step"]
    end = steps if stop_after is None else min(steps, start + stop_after)
    batches = train._made_ahead(train._StepBatches(pairs, batch_size, seed, range(start, end),
                                                   make=PianistPairs.batch), workers)
    t0 = time.perf_counter()
    net.train()
    bar = tqdm(range(start, end), desc="train informed", initial=start, total=steps, disable=not progress)
    # convolutions, unlike the blind network's GRU, gain from a second thread beside the batch-making worker
    with masknet.torch_threads(threads):
        for step, batch in zip(bar, batches):
            torch.manual_seed(seed * 1_000_003 + step)
            M = batch["X"].abs()
            with torch.no_grad():
                blind_mask = blind(M)
            loss = mask_loss(net(blind_mask, M, batch["pianist"]), batch, waveform_weight=waveform_weight,
                             bleed_weight=bleed_weight)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            sched.step()
            history.append(loss.item())
            bar.set_postfix(loss=f"{np.mean(history[-20:]):.4f}")
            if (step + 1) % 50 == 0 or step + 1 == end:
                torch.save({"run": run, "model": net.state_dict(), "opt": opt.state_dict(),
                            "sched": sched.state_dict(), "history": history, "step": step + 1}, checkpoint)
    if len(history) >= steps:
        masknet.save_model(net, out_path)
        masknet.loss_curve_path(out_path).write_text(
            "step,loss\n" + "".join(f"{i + 1},{v:.5f}\n" for i, v in enumerate(history)))
    return {"history": history, "seconds": time.perf_counter() - t0, "done": len(history) >= steps}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stop-after", type=int, default=None, help="stop after this many steps (resume later)")
    parser.add_argument("--out", default=None, help="weights path (default: the shipped informed.pt)")
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args(argv)
    result = train_informed(args.out, steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                            checkpoint=args.checkpoint, stop_after=args.stop_after, workers=args.workers,
                            threads=args.threads)
    print(f"{len(result['history'])} steps, {result['seconds']:.0f} s this run; "
          f"{'weights written' if result['done'] else 'checkpoint written; run again to go on'}")


if __name__ == "__main__":
    main()
