"""Is it the same piece? The alignment confidence for same-piece and other-piece pairs, side by side.

    .venv/bin/python benchmarks/same_piece.py

Same piece: the demo concerto against its pianist, the first and the second half of that pianist,
and the real Schubert pair (a semitone apart). Other pieces: four real Bach recordings (CC0,
``data/sources/ishizaka_cc0``) against the demo concerto, as 30 s, 75 s and 30-105 s excerpts.
Prints each pair's confidence, share of poorly matching seconds and share of implausible tempo,
and the margin between the lowest same-piece and the highest other-piece confidence around
``sync.MIN_CONFIDENCE``.
"""
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from concerto_nb import data, io, separation, sync  # noqa: E402

SHARED = Path(__file__).resolve().parent.parent / "data" / "sources"


def _row(name, ref, perf, mixture=None):
    time_map, d = sync.align(ref, perf, mixture=mixture, return_details=True)
    low, tempo = sync.low_confidence_share(d["confidence_per_second"]), sync.implausible_tempo_share(time_map)
    print(f"{name:58s}{d['confidence']:8.2f}{low:10.0%}{tempo:12.0%}")
    return d["confidence"]


def main():
    warnings.simplefilter("ignore")
    sr = sync.SYNC_SR
    load = lambda p: io.load_audio(p, sr=sr)[0]  # noqa: E731
    concerto, pianist = load(data.demo_path("concerto")), load(data.demo_path("pianist"))
    piano, _ = separation.separate(concerto, sr)
    print(f"{'pair':58s}{'conf.':>8s}{'low s':>10s}{'tempo >3x':>12s}")
    half = len(pianist) // 2
    same = [_row("demo concerto vs pianist", piano, pianist, concerto),
            _row("demo concerto vs pianist, first half", piano, pianist[:half], concerto),
            _row("demo concerto vs pianist, second half", piano, pianist[half:], concerto)]
    schubert = SHARED / "synctoolbox_schubert"
    same.append(_row("Schubert D911-03 HU33 vs SC06 (real)", load(schubert / "Schubert_D911-03_HU33.wav"),
                     load(schubert / "Schubert_D911-03_SC06.wav")))
    other = []
    for path in sorted((SHARED / "ishizaka_cc0").glob("*.ogg")):
        y = load(path)
        for a, b in ((0, 30), (0, 75), (30, 105)):
            other.append(_row(f"demo concerto vs {path.stem} {a}-{b} s", piano, y[a * sr: b * sr], concerto))
    print(f"\nlowest same-piece confidence {min(same):.2f}, highest other-piece {max(other):.2f}, "
          f"threshold sync.MIN_CONFIDENCE = {sync.MIN_CONFIDENCE}")
    print(f"margins: same-piece / threshold = {min(same) / sync.MIN_CONFIDENCE:.2f}x, "
          f"threshold / other-piece = {sync.MIN_CONFIDENCE / max(other):.2f}x")


if __name__ == "__main__":
    main()
