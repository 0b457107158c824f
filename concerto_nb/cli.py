"""The ``concerto-nb`` command line: one subcommand per stage, plus the whole play-along.

    concerto-nb separate MIX.wav -o DIR [--pianist PIANO.wav [--map map.csv]]
    concerto-nb align REFERENCE.wav PERFORMANCE.wav -o map.csv
    concerto-nb warp AUDIO.wav --map map.csv -o OUT.wav
    concerto-nb playalong CONCERTO.wav PIANO.wav -o DIR
    concerto-nb render-demo -o data/demo

Errors about the user's files are one line on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings

from . import __version__

__all__ = ["main"]


def _separate(args):
    from . import io, separation

    if args.map and not args.pianist:
        raise ValueError("--map is the map from the concerto to --pianist's recording: give --pianist too")
    inputs = [args.mix, *([args.pianist] if args.pianist else []), *([args.map] if args.map else [])]
    with io.OutputFolder(args.output, ("piano.wav", "orchestra.wav"), force=args.force, inputs=inputs) as out:
        y, sr = io.load_audio(args.mix, mono=False)
        side = {}
        if args.pianist:
            pianist, pianist_sr = io.load_audio(args.pianist, mono=False)
            side = {"pianist": pianist, "pianist_sr": pianist_sr,
                    "time_map": io.load_time_map(args.map) if args.map else None}
        piano, orchestra = separation.separate(y, sr, method=args.method, reconstruction=args.reconstruction,
                                               adapt=args.adapt, piano_only=args.piano_only,
                                               orchestra_only=args.orchestra_only, progress=True,
                                               smooth=(3, 3) if args.smooth else None, **side)
        for name, stem in (("piano.wav", piano), ("orchestra.wav", orchestra)):
            io.save_audio(out.path(name), stem, sr)
    for path in out.targets.values():
        print(path)


def _align(args):
    from . import io, sync

    inputs = [args.reference, args.performance] + ([args.mixture] if args.mixture else [])
    io.check_output(args.output, args.force, inputs=inputs, suffixes=(".csv",))
    ref, sr = io.load_audio(args.reference, sr=sync.SYNC_SR)
    perf, _ = io.load_audio(args.performance, sr=sync.SYNC_SR)
    mixture = io.load_audio(args.mixture, sr=sync.SYNC_SR)[0] if args.mixture else None
    time_map, details = sync.align(ref, perf, mixture=mixture, return_details=True)
    io.save_time_map(args.output, time_map, args.force)
    print(f"{args.output}: {len(time_map)} anchors, confidence {details['confidence']:.2f}")
    if details["confidence"] < sync.MIN_CONFIDENCE:
        print(f"warning: confidence below {sync.MIN_CONFIDENCE}: are these recordings of the same piece?",
              file=sys.stderr)


def _warp(args):
    from . import io, tsm

    io.check_output(args.output, args.force, inputs=[args.audio, args.map], suffixes=io.AUDIO_SUFFIXES)
    time_map = io.load_time_map(args.map)
    y, sr = io.load_audio(args.audio, mono=False)
    duration = y.shape[-1] / sr
    if abs(time_map[-1, 0] - duration) > 0.5:
        raise ValueError(f"{args.map} covers {time_map[-1, 0]:.2f} s of reference, but {args.audio} lasts "
                         f"{duration:.2f} s: was the map made for this recording?")
    io.save_audio(args.output, tsm.warp(y, sr, time_map, method=args.method, semitones=args.semitones), sr,
                  args.force)
    print(args.output)


def _playalong(args):
    from . import pipeline

    report = pipeline.playalong(args.concerto, args.piano, args.output, force=args.force,
                                separation_method=args.separation, tsm_method=args.tsm,
                                balance_db=args.balance_db, reverb=args.reverb, progress=not args.quiet,
                                accept_low_confidence=args.accept_low_confidence, keep_pitch=args.keep_pitch,
                                adapt=args.adapt, informed=not args.blind)
    keys = ("timings_s", *(["adaptation"] if report["adaptation"] else []), "alignment", "tuning", "levels", "outputs")
    print(json.dumps({k: report[k] for k in keys}, indent=2))


def _practice(args):
    from . import practice

    report = practice.practice(args.concerto, args.output, start_s=args.start, end_s=args.end, tempo=args.tempo,
                               beats_per_bar=args.beats_per_bar, count_in_bars=args.count_in_bars,
                               clicks=args.clicks, loops=args.loops, follow=args.follow, score=args.score,
                               bars=args.bars, separation_method=args.separation, force=args.force,
                               progress=not args.quiet)
    bars = f" (bars {report['bars'][0]}-{report['bars'][1]})" if report["bars"] else ""
    print(f"{report['outputs']['orchestra_practice.wav']}: {report['passage_s'][0]:g}-{report['passage_s'][1]:g} s "
          f"of the concerto{bars} at {report['beats_per_minute']:g} beats a minute, after {len(report['count_in_s'])} "
          f"clicks of count-in ({report['passage_starts_at_s']:.2f} s)")


def _render_demo(args):
    from . import data, render

    meta = render.render_demo(args.shared_data or data.SOURCES_DIR, args.output, force=args.force,
                              duration=args.duration)
    print(f"rendered {meta['duration']} s of {meta['midi']} into {args.output}")


def _passages(text: str):
    """'12-20,31.5-40' -> [(12.0, 20.0), (31.5, 40.0)]"""
    try:
        pairs = [tuple(float(x) for x in part.split("-")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write passages as START-END,START-END in seconds") from None
    if not pairs or any(len(p) != 2 or p[1] <= p[0] for p in pairs):
        raise argparse.ArgumentTypeError(f"{text!r}: write passages as START-END,START-END with START < END")
    return pairs


def _bounded(kind, low, high):
    """An argparse type: a finite ``kind`` within [low, high], checked before any work."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {kind.__name__}") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(f"{text!r} is outside {low:g} to {high:g}")
        return value
    return parse


def _bar_range(text):
    """An argparse type: ``A-B`` (or ``A``), bar numbers from 1, A <= B."""
    first, _, last = text.partition("-")
    try:
        bars = int(first), int(last or first)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a bar range like 32-48") from None
    if not 1 <= bars[0] <= bars[1]:
        raise argparse.ArgumentTypeError(f"{text!r}: bars count from 1, the first no later than the last")
    return bars


def build_parser() -> argparse.ArgumentParser:
    from .mixing import MAX_BALANCE_DB
    from .separation import METHODS as SEPARATION_METHODS, RECONSTRUCTIONS
    from .tsm import METHODS as TSM_METHODS

    p = argparse.ArgumentParser(prog="concerto-nb", description="Play a piano concerto with an orchestra.")
    p.add_argument("--version", action="version", version=f"concerto-nb {__version__}")
    p.add_argument("--debug", action="store_true", help="show full tracebacks")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("separate", help="split a concerto recording into piano.wav and orchestra.wav")
    s.add_argument("mix")
    s.add_argument("-o", "--output", required=True, help="output folder")
    s.add_argument("--method", default="model", choices=SEPARATION_METHODS,
                   help="trained mask network (default) or the HPSS baseline")
    s.add_argument("--reconstruction", default="mask", choices=RECONSTRUCTIONS,
                   help="soft mask with mixture phase, Wiener gain, or multichannel Wiener filtering with EM "
                        "(model only)")
    s.add_argument("--smooth", action="store_true",
                   help="median-filter the mask over 3 frames x 3 bins: less musical noise, a little more bleed")
    s.add_argument("--adapt", action="store_true",
                   help="fine-tune on the recording's own solo passages first (test-time adaptation)")
    s.add_argument("--piano-only", type=_passages, default=None, metavar="A-B,...",
                   help="piano-only passages in seconds, e.g. 95-130,400-455 (default: found automatically)")
    s.add_argument("--orchestra-only", type=_passages, default=None, metavar="A-B,...",
                   help="orchestra-only passages in seconds (default: found automatically)")
    s.add_argument("--pianist", default=None, metavar="PIANO",
                   help="your recording of the piano part: informed separation (model only)")
    s.add_argument("--map", default=None, metavar="CSV",
                   help="time map from MIX to --pianist (`concerto-nb align`; default: computed)")
    s.set_defaults(func=_separate)

    s = sub.add_parser("align", help="time map from a reference to a performance (CSV)")
    s.add_argument("reference")
    s.add_argument("performance")
    s.add_argument("-o", "--output", required=True, help="CSV: reference_s,performance_s")
    s.add_argument("--mixture", help="the full concerto recording, if REFERENCE is its separated piano "
                                     "(a more reliable confidence)")
    s.set_defaults(func=_align)

    s = sub.add_parser("warp", help="time-scale AUDIO along a time map, pitch unchanged (or --semitones)")
    s.add_argument("audio")
    s.add_argument("--map", required=True, help="CSV from `concerto-nb align`")
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--method", default="hps", choices=TSM_METHODS)
    s.add_argument("--semitones", type=_bounded(float, -12.0, 12.0), default=0.0,
                   help="also shift the pitch by this much (-12 to 12; 0.3 is 30 cents)")
    s.set_defaults(func=_warp)

    s = sub.add_parser("playalong", help="orchestra at the pianist's tempo, mixed with the pianist")
    s.add_argument("concerto", help="recording of the concerto (piano + orchestra)")
    s.add_argument("piano", help="your recording of the piano part")
    s.add_argument("-o", "--output", required=True, help="output folder")
    s.add_argument("--separation", default="model", choices=SEPARATION_METHODS)
    s.add_argument("--tsm", default="hps", choices=TSM_METHODS)
    s.add_argument("--balance-db", type=_bounded(float, -MAX_BALANCE_DB, MAX_BALANCE_DB), default=-3.0,
                   help=f"orchestra level relative to the piano, dB (within +-{MAX_BALANCE_DB:g})")
    s.add_argument("--reverb", type=_bounded(float, 0.0, 1.0), default=0.25, help="shared reverb wet level, 0-1")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    s.add_argument("--accept-low-confidence", action="store_true",
                   help="mix even if the recordings do not seem to be the same piece")
    s.add_argument("--keep-pitch", action="store_true",
                   help="leave the orchestra at the concerto's pitch even if your recording is transposed or tuned "
                        "differently (by default it is shifted to yours)")
    s.add_argument("--adapt", action="store_true",
                   help="fine-tune the separation on the concerto's own solo passages first (1-4 min; worth it on "
                        "real recordings)")
    s.add_argument("--blind", action="store_true",
                   help="warp the blind separation's orchestra (by default the concerto is separated again with "
                        "your recording as side information)")
    s.set_defaults(func=_playalong)

    s = sub.add_parser("practice", help="the orchestra of a passage for practice: slower, counted in, clicks, "
                                        "loops, or following your last take")
    s.add_argument("concerto", help="recording of the concerto (piano + orchestra)")
    s.add_argument("-o", "--output", required=True, help="output folder (orchestra_practice.wav, practice.json)")
    s.add_argument("--start", type=_bounded(float, 0.0, 86400.0), default=0.0, help="passage start, s (default 0)")
    s.add_argument("--end", type=_bounded(float, 0.0, 86400.0), default=None, help="passage end, s (default: the end)")
    s.add_argument("--tempo", type=_bounded(float, 0.25, 2.0), default=1.0,
                   help="speed, 0.25-2 (0.8: 80 %% of the recording's tempo); the pitch stays")
    s.add_argument("--beats-per-bar", type=_bounded(int, 1, 12), default=None,
                   help="the metre (default: the score's, else 4)")
    s.add_argument("--count-in-bars", type=_bounded(int, 0, 8), default=1, help="bars of clicks before (default 1)")
    s.add_argument("--clicks", action="store_true", help="clicks on every beat of the passage too")
    s.add_argument("--loops", type=_bounded(int, 1, 50), default=1, help="play the passage this many times")
    s.add_argument("--follow", default=None, metavar="TAKE",
                   help="your previous recording of the passage: the orchestra follows its tempo (not --tempo)")
    s.add_argument("--score", default=None, metavar="MIDI",
                   help="the piece's MIDI file: beats and bar lines from the score, aligned with the recording")
    s.add_argument("--bars", type=_bar_range, default=None, metavar="A-B",
                   help="the passage as bar numbers of --score, e.g. 32-48 (instead of --start/--end)")
    s.add_argument("--separation", default="model", choices=SEPARATION_METHODS)
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_practice)

    s = sub.add_parser("render-demo", help="render the demo data from the concerto MIDI")
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--shared-data", default=None,
                   help="folder with mutopia_concertos_midi/ and openair_irs/ (default: the repository's data/sources)")
    s.add_argument("--duration", type=_bounded(float, 1.0, 3600.0), default=None,
                   help="seconds (default: the demo's 75 s)")
    s.set_defaults(func=_render_demo)

    for action in sub.choices.values():
        action.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    return p


def main(argv=None) -> int:
    """Run one command; errors about the user's files and options are one line and exit status 2."""
    import signal

    from ._signals import Terminated, interruptible, received

    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    default_format = warnings.formatwarning
    try:
        with interruptible():
            args = build_parser().parse_args(argv)
            if not args.debug:  # one line per warning, without the source line
                warnings.formatwarning = lambda message, *_, **__: f"concerto-nb: warning: {message}\n"
            with warnings.catch_warnings():
                warnings.simplefilter("default", UserWarning)
                for noise in (DeprecationWarning, FutureWarning):  # libraries' notes to developers
                    warnings.simplefilter("ignore", noise)
                args.func(args)
    except Exception as e:
        if debug:
            raise
        if received() is not None:  # a signal cut a library's work short and came out as its error
            print("concerto-nb: interrupted; no partial output was written", file=sys.stderr)
            return 143 if received() == signal.SIGTERM else 130
        if not isinstance(e, (ValueError, OSError, MemoryError)):
            raise  # a bug's traceback stays
        # the user's files and options: AudioError and bad settings are ValueErrors, OutputError and
        # OutputExistsError OSErrors
        print(f"concerto-nb: error: {'out of memory' if isinstance(e, MemoryError) else e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        if debug:
            raise
        print("concerto-nb: interrupted; no partial output was written", file=sys.stderr)
        return 143 if isinstance(e, Terminated) else 130
    finally:
        warnings.formatwarning = default_format
    return 0


def run() -> None:
    """The ``concerto-nb`` command: :func:`main`, then exit with its status.

    After an interruption the process ends at once (``os._exit``), without the interpreter's finalisers: a
    compilation that the signal cut short can leave them unable to run, and they abort (status -6) where the run
    had already cleaned up and reported.
    """
    code = main()
    if code in (130, 143):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
