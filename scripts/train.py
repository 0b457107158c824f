"""Train the separation network on random mixes of piano-only and orchestra-only audio.

Data (all licensed, all in ``data/sources``; Mozart KV488, the demo and test piece, is kept out):

- exact piano and orchestra stems rendered from the Mutopia MIDI of Beethoven's Piano Concerto
  No. 3 Op. 37 I and Bach's Keyboard Concerto BWV 1055 I-III, each with three soundfonts
  (FluidR3_GM, TimGM6mb and Csound's public-domain GM bank; MuseScore General stays out for
  evaluation), minus the :data:`HELD_OUT` windows (evaluation excerpts: other notes than any
  training example);
- chamber music and piano pieces from music21's corpus (:data:`CORPUS_WORKS`), rendered with
  the same soundfonts, each ensemble part by an instrument of its register;
- real solo piano (Kimiko Ishizaka, CC0) and real string orchestra (Brahms, US Army Strings, PD),
  minus one piano recording and the Brahms clip's last 15 s (:data:`HELD_OUT_PIANO`,
  :data:`HELD_OUT_ORCHESTRA_FROM_S`).

A training example is a random 6 s piano excerpt and a random 6 s orchestra excerpt (from
different places and pieces), each with a random gain (+-9 dB), often one shared room
(impulse responses "Arthur Sykes Rymer Auditorium" and "St. Margaret's Church", or, for half of
those, a made-up room: :func:`concerto_nb.render.synthetic_impulse_response`; the demo's rooms
stay out), a random spectral tilt, sometimes one source silent (solo and tutti passages), and a
random level (peak 0.03 to 1: a recording can be quiet or normalised).
The loss is the L1 distance between the masked mixture magnitudes and the true stem magnitudes,
relative to the mixture's mean magnitude (so quiet and loud examples count the same), plus
:data:`WAVEFORM_WEIGHT` x the error of the estimated piano waveform relative to the mixture, in dB
(what SDR measures).

``python scripts/train.py`` runs :func:`train`: fixed seed, progress bar, a checkpoint every 50 steps
that a rerun resumes from (``--help`` for the options). The random mixes and the training step are the package's
(:mod:`concerto_nb.mixes`), shared with test-time adaptation.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the repository's package, installed or not
from concerto_nb import data, io, model as masknet, render  # noqa: E402
from concerto_nb.mixes import RandomMixes, step_batch, training_step  # noqa: E402


TRAIN_PIECES = [
    "Beethoven_Op37_mvt1_Allegro_con_brio.mid",
    "Bach_BWV1055_mov1-allegro.mid",
    "Bach_BWV1055_mov2-larghetto.mid",
    "Bach_BWV1055_mov3-allegro-manontanto.mid",
]
TRAIN_SOUNDFONTS = ["fluidr3", "timgm6mb", "gmbank"]
REAL_PIANO = ["bach_aria_goldberg.ogg", "bach_bwv1008_laboratorio.ogg", "bach_contrapunctus_observatory.ogg"]
REAL_ORCHESTRA = ["Hungarian_Dance_number_5_-_Allegro_in_F_sharp_minor_(string_orchestra).hq.ogg"]
# More notes and more orchestral timbres: chamber music and piano pieces from music21's corpus
# (installed with music21, which synctoolbox needs). A work's parts are "piano" (all parts), an
# ensemble (each part gets an instrument from the row of :data:`ENSEMBLE_PROGRAMS` for its register),
# or a list of GM programs (0 = piano). Each movement is cut at :data:`CORPUS_MAX_S`.
_QUARTET_MOVEMENTS = {"beethoven/opus18no1": 4, "beethoven/opus59no1": 4, "beethoven/opus59no2": 4,
                      "beethoven/opus59no3": 4, "mozart/k155": 3, "mozart/k156": 4, "mozart/k458": 4,
                      "mozart/k80": 4, "haydn/opus1no1": 5, "haydn/opus74no1": 4, "schumann_robert/opus41no1": 5}
CORPUS_WORKS = {
    **{f"{work}/movement{i}.mxl": "ensemble" for work, n in _QUARTET_MOVEMENTS.items() for i in range(1, n + 1)},
    **{f"beethoven/{work}.mxl": "ensemble" for work in ("opus18no3", "opus18no4", "opus18no5", "opus74")},
    "corelli/opus3no1/1grave.xml": "ensemble",
    "schumann_clara/opus17": [40, 42, 0, 0],  # piano trio
    "weber/concertino_clarinet": [71, 0, 0],  # clarinet and piano
    "joplin/maple_leaf_rag": "piano",
    "mozart/k545": "piano",
    "chopin/mazurka06-2.krn": "piano",
    "cpebach/h186.mxl": "piano",
    **{f"schumann_clara/polonaise_op1n{i}.mxl": "piano" for i in range(1, 5)},
}
# GM programs a part of an ensemble may get, from the top part to the bass
ENSEMBLE_PROGRAMS = [
    [40, 48, 73, 68, 56],  # violin, strings, flute, oboe, trumpet
    [40, 48, 71, 68],  # violin, strings, clarinet, oboe
    [41, 49, 60, 71],  # viola, slow strings, horn, clarinet
    [42, 48, 43, 70, 58],  # cello, strings, contrabass, bassoon, tuba
]
CORPUS_MAX_S = 240.0
CORPUS_SHARE = 0.4  # share of the piano and of the orchestra excerpts drawn from the corpus
# weight of the waveform error (dB) beside the magnitude loss: 4000 steps with it gained 0.18 dB held-out
# piano SDR over the same run without it (benchmarks/separation.py)
WAVEFORM_WEIGHT = 0.05
TRAIN_ROOMS = ["Arthur Sykes Rymer Auditorium.wav", "St. Margaret's Church.wav"]
MADE_UP_ROOMS = 0.5
DEFAULT_CACHE = ROOT / "data" / "cache"
# (start_s, end_s) of each rendered piece that training never sees: benchmarks/separation.py
# renders them with the held-out soundfont (both piano and orchestra play throughout)
HELD_OUT = {
    "Beethoven_Op37_mvt1_Allegro_con_brio.mid": (450.0, 540.0),
    "Bach_BWV1055_mov1-allegro.mid": (160.0, 235.0),
}
HELD_OUT_MARGIN_S = 5.0  # reverb tails and the network's context stay out too
# real recordings kept out of training: one piano recording and the end of the orchestra clip
HELD_OUT_PIANO = "bach_bwv846_soglia.ogg"
HELD_OUT_ORCHESTRA_FROM_S = 30.0
# More real recordings (data/sources/real_recordings): other pianists, pianos, orchestras, rooms and microphones,
# drawn for a share ``real_share`` of the excerpts. Split by recording, never by excerpt of one recording:
# what trains is below, what never trains is in REAL_HELD_OUT (benchmarks/real_mixes.py mixes it).
REAL_RECORDINGS_PIANO = [
    "confuoko/cdl_deb.mp3",  # Salvatori, Debussy
    *[f"standard_of_taste/{clip}.mp3" for clip in ("b2", "d13-a", "d2-b", "d4-b", "pb3", "d9-b")],  # Gurevich, Chopin
    *[f"standard_of_taste/{clip}.mp3" for clip in ("b1", "d1-a", "d12-b", "d16-b", "d6-a", "d8-a", "pb1", "pb2")],
]
REAL_RECORDINGS_ORCHESTRA = [
    "esphome_micro_opus/eroica_mvt1_cnso_30s_from_1m00.opus",  # Czech National SO, Beethoven 3
    "camcops/bach_brandenburg_3_3.mp3",  # Advent Chamber Orchestra
    "standard_of_taste/d14-a.mp3", "standard_of_taste/pb4.mp3",  # Musopen string quartet, Beethoven Op. 18/6
]
# (path under data/sources, first second used): pianists and orchestras training never hears
REAL_HELD_OUT = {
    "piano": {"real_recordings/confuoko/lpn_deb.mp3": 30.0,  # Ligoratti, Debussy
              "real_recordings/confuoko/maple_leaf.mp3": 60.0,  # Ligoratti, Joplin
              "real_recordings/standard_of_taste/d15-b.mp3": 0.0,  # Xuan He, Chopin
              "real_recordings/music_mind_academy/beethoven-moonlight-sonata-adagio.mp3": 0.0,  # Pitman
              f"ishizaka_cc0/{HELD_OUT_PIANO}": 20.0},
    "orchestra": {"real_recordings/music_mind_academy/grieg-morning-mood.mp3": 0.0,  # Czech National SO
                  "real_recordings/music_mind_academy/dvorak-new-world-largo.mp3": 0.0,  # DuPage Symphony
                  f"librosa_brahms/{REAL_ORCHESTRA[0]}": HELD_OUT_ORCHESTRA_FROM_S},  # US Army Strings
}


def render_training_stems(shared_data, cache_dir, progress: bool = True, soundfonts=None, *,
                          real_recordings: bool = True) -> dict:
    """Render (or load from ``cache_dir``) the training stems at 22.05 kHz.

    Notebook: ``01_source_separation``.

    ``soundfonts``: keys of :data:`concerto_nb.render.SOUNDFONTS` (default :data:`TRAIN_SOUNDFONTS`).
    ``real_recordings``: also decode :data:`REAL_RECORDINGS_PIANO` and :data:`REAL_RECORDINGS_ORCHESTRA`.

    Returns
    -------
    dict with lists ``piano`` and ``orchestra`` of float32 arrays (and, with ``real_recordings``, ``piano_real``
    and ``orchestra_real``: every real recording that may train).
    """
    from tqdm.auto import tqdm

    shared_data, cache_dir = Path(shared_data), Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    stems = {"piano": [], "orchestra": []}
    soundfonts = list(soundfonts or TRAIN_SOUNDFONTS)
    jobs = [(piece, sf) for piece in TRAIN_PIECES for sf in soundfonts]
    for piece, sf in tqdm(jobs, desc="render training stems", disable=not progress):
        with np.load(rendered_concerto(shared_data, cache_dir, piece, sf)) as z:
            for kind in stems:
                stems[kind].extend(_without_held_out(z[kind].astype(np.float32), HELD_OUT.get(piece),
                                                     HELD_OUT_MARGIN_S))
    for kind, parts in render_corpus_stems(cache_dir, progress, soundfonts).items():
        stems[f"{kind}_corpus"] = parts
    def load(path):
        return io.load_audio(shared_data / path, sr=masknet.SR)[0]

    real = {"piano": [load(Path("ishizaka_cc0") / name) for name in REAL_PIANO],
            "orchestra": [load(Path("librosa_brahms") / name)[: int((HELD_OUT_ORCHESTRA_FROM_S - HELD_OUT_MARGIN_S)
                                                                    * masknet.SR)] for name in REAL_ORCHESTRA]}
    for kind, names in (("piano", REAL_RECORDINGS_PIANO), ("orchestra", REAL_RECORDINGS_ORCHESTRA)):
        stems[kind].extend(real[kind])
        # every real recording that trains, for the share real_share of the excerpts
        if real_recordings:
            stems[f"{kind}_real"] = real[kind] + [load(Path("real_recordings") / name) for name in names]
    return stems


def rendered_concerto(shared_data, cache_dir, piece: str, soundfont: str) -> Path:
    """The cached ``.npz`` (``piano``, ``orchestra``, float16 at 22.05 kHz) of a concerto in :data:`TRAIN_PIECES`
    rendered with ``soundfont``; rendered first if it is not there."""
    cached = Path(cache_dir) / f"{Path(piece).stem}.{soundfont}.npz"
    if not cached.exists():
        piano_pm, orch_pm = render.split_stems(render.load_midi(Path(shared_data) / "mutopia_concertos_midi" / piece))
        p = render.render_midi(piano_pm, masknet.SR, soundfont).astype(np.float32)
        o = render.render_midi(orch_pm, masknet.SR, soundfont).astype(np.float32)
        n = min(len(p), len(o))
        _save_stems(cached, piano=p[:n], orchestra=o[:n])
    return cached


def _corpus_programs(work: str, n_parts: int, soundfont: str) -> list:
    """The GM program of each part of a corpus work, the same on every run (seeded by the names)."""
    import zlib

    roles = CORPUS_WORKS[work]
    if roles == "piano":
        return [0] * n_parts
    if roles != "ensemble":
        return list(roles)
    rng = np.random.default_rng(zlib.crc32(f"{work}.{soundfont}".encode()))
    rows = [round(i * (len(ENSEMBLE_PROGRAMS) - 1) / max(1, n_parts - 1)) for i in range(n_parts)]
    return [int(rng.choice(ENSEMBLE_PROGRAMS[r])) for r in rows]


def render_corpus_stems(cache_dir, progress: bool = True, soundfonts=None) -> dict:
    """Render (or load from ``cache_dir/corpus``) :data:`CORPUS_WORKS` with each training soundfont
    (``soundfonts``, default :data:`TRAIN_SOUNDFONTS`).

    Every note gets a random velocity (the encodings carry few dynamics) and each work a random
    tempo; both are seeded by the work's name, so a rerun renders the same audio.

    Returns
    -------
    dict with lists ``piano`` and ``orchestra`` of float32 arrays (one per movement and soundfont
    that has such parts).
    """
    import zlib

    from tqdm.auto import tqdm

    cache_dir = Path(cache_dir) / "corpus"
    cache_dir.mkdir(parents=True, exist_ok=True)
    soundfonts = list(soundfonts or TRAIN_SOUNDFONTS)
    stems = {"piano": [], "orchestra": []}
    for work in tqdm(CORPUS_WORKS, desc="render corpus stems", disable=not progress):
        cached = {sf: cache_dir / f"{work.replace('/', '_')}.{sf}.npz" for sf in soundfonts}
        if not all(path.exists() for path in cached.values()):
            import music21

            score = music21.corpus.parse(work)
            for sf, path in cached.items():
                if path.exists():  # a soundfont added later renders alone, the others stay as cached
                    continue
                rng = np.random.default_rng(zlib.crc32(f"{work}.{sf}".encode()))
                programs = _corpus_programs(work, len(score.parts), sf)
                pm = render.score_to_midi(score, programs, qpm=rng.uniform(80, 140), max_s=CORPUS_MAX_S)
                for inst in pm.instruments:
                    for note in inst.notes:
                        note.velocity = int(rng.integers(50, 110))
                piano_pm, orch_pm = render.split_stems(pm)
                audio = {kind: render.render_midi(part, masknet.SR, sf).astype(np.float32)
                         for kind, part in (("piano", piano_pm), ("orchestra", orch_pm)) if part.instruments}
                _save_stems(path, **audio)
        for path in cached.values():
            with np.load(path) as z:
                for kind in z.files:
                    stems[kind].append(z[kind].astype(np.float32))
    return stems


def _save_stems(path: Path, **stems):
    """Cache rendered stems as ``.npz`` of float16, atomically: an interrupted render leaves no half-written file.

    Half precision halves the cache (about 1.7 GB for every concerto and corpus work in three soundfonts): its
    rounding error, 66 dB below each sample, is far under what the network can separate.
    """
    def write(tmp):
        with open(tmp, "wb") as f:  # a file object: np.savez would add ".npz" to the temporary name
            np.savez(f, **{kind: np.asarray(y, dtype=np.float16) for kind, y in stems.items()})

    io.atomic_write(path, write)


def _without_held_out(y, window, margin_s):
    """The parts of a stem before and after a held-out ``(start_s, end_s)`` window (and its margin)."""
    if window is None:
        return [y]
    a, b = int((window[0] - margin_s) * masknet.SR), int((window[1] + margin_s) * masknet.SR)
    return [part for part in (y[:a], y[b:]) if len(part)]


class _StepBatches:
    """``make(mixes, batch_size, seed, step)`` (default :func:`step_batch`) for each step of ``steps``, as a dataset
    a ``DataLoader``'s workers can make ahead."""

    def __init__(self, mixes, batch_size, seed, steps, make=step_batch):
        self.mixes, self.batch_size, self.seed, self.steps, self.make = mixes, batch_size, seed, steps, make

    def __len__(self):
        return len(self.steps)

    def __getitem__(self, i):
        return self.make(self.mixes, self.batch_size, self.seed, self.steps[i])


def _made_ahead(dataset, workers: int):
    """``dataset``'s items in order, made ``workers`` processes ahead (0: made in turn, here)."""
    from torch.utils.data import DataLoader

    if not workers:
        return (dataset[i] for i in range(len(dataset)))
    # forked, so the workers share the rendered stems (gigabytes) instead of pickling them
    return DataLoader(dataset, batch_size=None, num_workers=workers, prefetch_factor=2,
                      multiprocessing_context="fork")


def training_mixes(shared_data, cache_dir=None, seed: int = 0, progress: bool = False, soundfonts=None, *,
                   made_up_rooms: float = MADE_UP_ROOMS, corpus_share: float = CORPUS_SHARE,
                   real_share: float = 0.0, recorded: float = 0.0) -> RandomMixes:
    """The :class:`concerto_nb.mixes.RandomMixes` that :func:`train` draws its batches from (by default the shipped
    recipe's): the rendered stems (cached in ``cache_dir``, default :data:`DEFAULT_CACHE`) and the
    training rooms.

    Notebook: ``01_source_separation``.
    """
    shared_data = Path(shared_data)
    stems = render_training_stems(shared_data, Path(cache_dir or DEFAULT_CACHE), progress, soundfonts,
                                  real_recordings=bool(real_share))  # a recipe without them need not decode them
    rooms = [render.load_impulse_response(shared_data / "openair_irs" / r, masknet.SR) for r in TRAIN_ROOMS]
    return RandomMixes(stems, rooms, seed=seed, made_up_rooms=made_up_rooms, corpus_share=corpus_share,
                       real_share=real_share, recorded=recorded)


def train(shared_data, out_path=None, *, steps: int = 4000, batch_size: int = 12, lr: float = 2e-3, seed: int = 0,
          cache_dir=None, checkpoint=None, progress: bool = True, log_every: int = 50, threads: int = 1,
          stop_after: int | None = None, made_up_rooms: float = MADE_UP_ROOMS, corpus_share: float = CORPUS_SHARE,
          waveform_weight: float = WAVEFORM_WEIGHT, hidden: int | None = None, workers: int = 1,
          soundfonts=None, real_share: float = 0.0, recorded: float = 0.0, init=None) -> dict:
    """Train :class:`concerto_nb.model.MaskNet` from scratch (or resume) and save its weights.

    Notebook: ``01_source_separation``.

    Parameters
    ----------
    shared_data : path
        The licensed data folder (``data/sources``).
    out_path : path, optional
        Where the final float16 weights go (default: the shipped ``concerto_nb/weights/masknet.pt``).
    steps, batch_size, lr, seed : training schedule; the same seed gives the same weights.
    cache_dir : path, optional
        Rendered stems are kept here (default :data:`DEFAULT_CACHE`, ``data/cache``).
    checkpoint : path, optional
        Saved every ``log_every`` steps; if it exists, training resumes from it.
    threads : int
        torch CPU threads.
    stop_after : int, optional
        Stop after this many steps in this call (the checkpoint lets a later call go on); each
        step's data and dropout depend only on (seed, step), so an interrupted and resumed run
        ends with the same weights as an uninterrupted one.
    made_up_rooms : float
        Share of the room-augmented mixes that get a made-up room
        (:func:`concerto_nb.render.synthetic_impulse_response`) instead of a real one.
    corpus_share : float
        Share of the piano and of the orchestra excerpts drawn from :data:`CORPUS_WORKS`.
    waveform_weight : float
        Weight of the waveform error in the loss (:func:`concerto_nb.mixes.training_step`).
    hidden : int, optional
        GRU units per direction (default: :class:`concerto_nb.model.MaskNet`'s, 160); fewer train
        and separate faster.
    workers : int
        Processes that make the batches (:func:`concerto_nb.mixes.step_batch`) ahead of the network's steps (0: the
        training process makes each in turn). The batches are the same either way, and so are
        the weights; a worker takes the random mixing and the STFTs off the network's core
        (``benchmarks/train_speed.py``).
    soundfonts : list of str, optional
        Keys of :data:`concerto_nb.render.SOUNDFONTS` to render the stems with (default
        :data:`TRAIN_SOUNDFONTS`).
    real_share : float
        Share of the piano and of the orchestra excerpts drawn from the real recordings
        (:data:`REAL_RECORDINGS_PIANO`, :data:`REAL_RECORDINGS_ORCHESTRA` and the older real ones).
    recorded : float
        Share of the mixes put through a recording chain (microphone colour, mastering compression, noise:
        :meth:`concerto_nb.mixes.RandomMixes.recording_chain`).
    init : path, optional
        Weights to start from (fine-tuning) instead of random ones; ``hidden`` is then theirs.

    Returns
    -------
    dict with the loss history and the wall time. The loss per step is also written beside the
    weights (:func:`concerto_nb.model.loss_curve_path`).
    """
    import torch
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    cache_dir = Path(cache_dir or DEFAULT_CACHE)
    checkpoint = Path(checkpoint or cache_dir / "masknet_checkpoint.pt")
    out_path = Path(out_path or masknet.WEIGHTS)

    mixes = training_mixes(shared_data, cache_dir, seed, progress, soundfonts, made_up_rooms=made_up_rooms,
                           corpus_share=corpus_share, real_share=real_share, recorded=recorded)
    if init is not None:
        import copy

        net = copy.deepcopy(masknet.load_model(init))  # load_model's network is shared: train a copy
    else:
        net = masknet.MaskNet(**({} if hidden is None else {"hidden": hidden}))
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    history, start = [], 0
    run = {"steps": steps, "batch_size": batch_size, "lr": lr, "seed": seed, "made_up_rooms": made_up_rooms,
           "corpus_share": corpus_share, "waveform_weight": waveform_weight, **net.config}
    if soundfonts and list(soundfonts) != TRAIN_SOUNDFONTS:  # the default recipe's key stays short
        run["soundfonts"] = list(soundfonts)
    run.update({k: v for k, v in (("real_share", real_share), ("recorded", recorded)) if v})
    if init is not None:
        run["init"] = Path(init).name
    if checkpoint.exists():
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        if state.get("run", run) != run or state["model"].keys() != net.state_dict().keys():
            raise ValueError(f"{checkpoint} is the checkpoint of another training run ({state.get('run', 'older')}, "
                             f"this one: {run}); delete it or give another checkpoint path")
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        history, start = state["history"], state["step"]
    end = steps if stop_after is None else min(steps, start + stop_after)
    t0 = time.perf_counter()
    net.train()
    bar = tqdm(range(start, end), desc="train", initial=start, total=steps, disable=not progress)
    batches = _made_ahead(_StepBatches(mixes, batch_size, seed, range(start, end)), workers)
    # the GRU's many small steps run ~10x faster on one thread than two fighting over 2 cores
    with masknet.torch_threads(threads):
        for step, batch in zip(bar, batches):
            history.append(training_step(net, opt, mixes, batch_size, seed, step, clip_norm=5.0,
                                         waveform_weight=waveform_weight, batch=batch))
            sched.step()
            bar.set_postfix(loss=f"{np.mean(history[-20:]):.4f}")
            if (step + 1) % log_every == 0 or step + 1 == end:
                tmp = checkpoint.with_suffix(".tmp")
                torch.save({"model": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                            "history": history, "step": step + 1, "run": run}, tmp)
                tmp.replace(checkpoint)
    net.eval()
    masknet.save_model(net, out_path)
    # the loss curve travels with the weights (notebook 01 plots the shipped one)
    np.savetxt(masknet.loss_curve_path(out_path), np.c_[np.arange(1, len(history) + 1), history], fmt=["%d", "%.5f"],
               delimiter=",", header="step,loss", comments="")
    return {"history": history, "seconds": time.perf_counter() - t0, "weights": str(out_path)}


def parse_args(argv=None) -> argparse.Namespace:
    """The options of ``python scripts/train.py``."""
    p = argparse.ArgumentParser(prog="scripts/train.py", description=__doc__.splitlines()[0])
    p.add_argument("-o", "--output", default=None, help="weights file (default: the shipped one)")
    p.add_argument("--shared-data", default=None,
                   help="folder with the licensed sources (default: the repository's data/sources)")
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--batch-size", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hidden", type=int, default=None, help="GRU units per direction (default 160)")
    p.add_argument("--checkpoint", default=None, help="resume from / save to this file (default data/cache/)")
    p.add_argument("--workers", type=int, default=1,
                   help="processes that make the batches ahead (default 1; 0: none; the weights are the same)")
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate of the one-cycle schedule")
    p.add_argument("--real-share", type=float, default=0.0,
                   help="share of the excerpts drawn from the real recordings (default 0)")
    p.add_argument("--recorded", type=float, default=0.0,
                   help="share of the mixes put through a recording chain: microphone, compression, noise")
    p.add_argument("--init", default=None, help="weights to fine-tune instead of training from scratch")
    p.add_argument("-f", "--force", action="store_true", help="overwrite the weights file")
    args = p.parse_args(argv)
    for name, low in (("steps", 1), ("batch_size", 1), ("hidden", 1), ("workers", 0)):
        value = getattr(args, name)
        if value is not None and not low <= value <= 10**7:
            p.error(f"--{name.replace('_', '-')} {value} is outside {low} to 10000000")
    for name in ("real_share", "recorded"):
        if not 0 <= getattr(args, name) <= 1:
            p.error(f"--{name.replace('_', '-')} {getattr(args, name)} is outside 0 to 1")
    if not 0 < args.lr < 1:
        p.error(f"--lr {args.lr} is outside 0 to 1")
    return args


def run(args: argparse.Namespace) -> None:
    """Check the output, train with ``args`` (:func:`parse_args`' options), then print the weights' path, steps,
    final loss and time. A weights file that exists without ``--force`` is an ``OSError``, before any work."""
    io.check_output(args.output or masknet.WEIGHTS, args.force, suffixes=(".pt",))
    result = train(args.shared_data or data.SOURCES_DIR, out_path=args.output, steps=args.steps,
                   batch_size=args.batch_size, seed=args.seed, checkpoint=args.checkpoint, hidden=args.hidden,
                   workers=args.workers, lr=args.lr, real_share=args.real_share, recorded=args.recorded,
                   init=args.init)
    print(f"{result['weights']}: {len(result['history'])} steps, final loss "
          f"{sum(result['history'][-50:]) / min(50, len(result['history'])):.4f}, {result['seconds']:.0f} s")


def main(argv=None) -> int:
    """``python scripts/train.py [options]``: :func:`run`; a bad output path is one line and exit status 2."""
    try:
        run(parse_args(argv))
    except (ValueError, OSError) as e:
        print(f"train: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
