import warnings

import numpy as np
import pytest

from concerto_nb import data, evaluation, io, render

from conftest import SHARED


def test_render_short_excerpt_stems_sum_to_concerto(tmp_path):
    meta = render.render_demo(SHARED, tmp_path, duration=16.0)
    assert meta["duration"] == 16.0
    mix, sr = io.load_audio(tmp_path / "concerto.ogg")
    piano, _ = io.load_audio(tmp_path / "piano.ogg")
    orchestra, _ = io.load_audio(tmp_path / "orchestra.ogg")
    assert sr == 44100 and len(mix) == 16 * sr
    # exact stems: their sum is the concerto, up to Vorbis coding
    assert evaluation.sdr(mix, piano + orchestra) > 20
    # the excerpt starts 12 s before the piano's entry: the piano stem is silent at first
    assert np.max(np.abs(piano[: 10 * sr])) < 1e-3 < np.max(np.abs(orchestra[: 10 * sr]))
    assert np.max(np.abs(piano[12 * sr:])) > 0.05


def test_tempo_curve_stays_in_range_and_is_smooth():
    tm = render.tempo_curve_time_map(75.0, min_ratio=0.8, max_ratio=1.25, seed=488)
    ratio = np.diff(tm[:, 0]) / np.diff(tm[:, 1])  # reference seconds per performance second
    assert 0.79 < ratio.min() < 0.82 and 1.23 < ratio.max() < 1.26
    assert np.max(np.abs(np.diff(ratio))) < 0.01  # no jumps between 50 ms steps


def test_shipped_demo_is_reproducible(tmp_path):
    render.render_demo(SHARED, tmp_path)
    np.testing.assert_allclose(io.load_time_map(tmp_path / "pianist_time_map.csv"), data.demo_time_map())
    for name in ("concerto", "pianist"):
        fresh, _ = io.load_audio(tmp_path / f"{name}.ogg")
        shipped, _ = io.load_audio(data.demo_path(name))
        assert evaluation.sdr(shipped, fresh) > 25


def test_tempo_held_steady_through_the_pianos_rests():
    import pretty_midi

    with warnings.catch_warnings():  # Mutopia's tempo events on note tracks: harmless (constant tempo)
        warnings.filterwarnings("ignore", message="Tempo, Key or Time signature")
        pm = pretty_midi.PrettyMIDI(str(SHARED / "mutopia_concertos_midi" / "Mozart_KV488_mvt1_Allegro.mid"))
    piano_pm, _ = render.split_stems(render.crop_midi(pm, 0.0, 200.0))
    rests = render.piano_rests(piano_pm, 200.0)
    # KV488 I opens with the orchestral exposition: the piano enters after about two minutes
    first_note = min(n.start for i in piano_pm.instruments for n in i.notes)
    assert rests[0] == (0.0, first_note) and first_note > 120
    for a, b in rests:
        sounding = [n for i in piano_pm.instruments for n in i.notes if n.start < b and n.end > a]
        assert not sounding and b - a >= 2.0
    curve = render.tempo_curve_time_map(200.0, seed=488)
    steady = render.steady_through_rests(curve, rests)
    ratio = np.diff(steady[:, 1]) / np.diff(steady[:, 0])
    for a, b in rests:
        inside = (steady[1:, 0] > a + 0.1) & (steady[:-1, 0] < b - 0.1)
        assert np.ptp(ratio[inside]) < 1e-6  # one tempo per rest
    playing = np.ones(len(curve), dtype=bool)
    for a, b in rests:
        playing &= ~((curve[:, 0] > a) & (curve[:, 0] < b))
    np.testing.assert_array_equal(steady[playing], curve[playing])  # untouched where the piano plays
    assert np.all(np.diff(steady[:, 1]) > 0)


def test_made_up_rooms_decay_at_the_asked_rate_and_faster_in_the_highs():
    """Schroeder backward integration of the made-up impulse response: the level falls 60 dB in about
    ``rt60`` below 1.5 kHz and in about ``high_decay * rt60`` above it."""
    from scipy.signal import butter, sosfilt

    sr = 22050
    for rt60 in (0.6, 1.5):
        ir = render.synthetic_impulse_response(sr, rt60, np.random.default_rng(1), high_decay=0.5)
        assert np.sum(ir**2) == pytest.approx(1.0)
        for band, expected in (("lowpass", rt60), ("highpass", 0.5 * rt60)):
            # at 1 kHz / 3 kHz, away from the crossover at 1.5 kHz
            part = sosfilt(butter(4, 1000.0 if band == "lowpass" else 3000.0, band, fs=sr, output="sos"), ir)
            edc = 10 * np.log10(np.cumsum(part[::-1] ** 2)[::-1] / np.sum(part**2))
            t5, t25 = (np.argmax(edc < -db) / sr for db in (5, 25))  # T20, from -5 to -25 dB
            assert 3 * (t25 - t5) == pytest.approx(expected, rel=0.2)



def test_a_score_becomes_midi_with_its_ties_merged_and_its_tempo():
    import music21

    part = music21.stream.Part()
    tied = music21.note.Note("C4", quarterLength=2.0)
    tied.tie = music21.tie.Tie("start")
    part.append(tied)
    chord = music21.chord.Chord(["C4", "E4"], quarterLength=1.0)
    chord.notes[0].tie = music21.tie.Tie("stop")  # only the C is tied over
    part.append(chord)
    part.append(music21.note.Note("G4", quarterLength=1.0).getGrace())  # graces take no time: skipped
    part.append(music21.note.Note("G4", quarterLength=1.0))
    score = music21.stream.Score([part])
    pm = render.score_to_midi(score, [42], qpm=60.0)
    notes = sorted((n.start, n.end, n.pitch) for n in pm.instruments[0].notes)
    assert notes == [(0.0, 3.0, 60), (2.0, 3.0, 64), (3.0, 4.0, 67)]
    assert pm.instruments[0].program == 42
    assert [(n.start, n.pitch) for n in render.score_to_midi(score, [0], qpm=60.0, max_s=2.5).instruments[0].notes] \
        == [(0.0, 60), (2.0, 64)]


def test_a_corpus_quartet_keeps_its_notes():
    import music21

    score = music21.corpus.parse("haydn/opus74no1/movement1.mxl")
    pm = render.score_to_midi(score, [40, 40, 41, 42], qpm=90.0)
    assert [i.program for i in pm.instruments] == [40, 40, 41, 42]
    for part, inst in zip(score.parts, pm.instruments):
        # music21's own (slower) tie merging as the reference; a few of the encoding's ties join
        # two different pitches, which it merges and we do not
        expected = [p.midi for n in part.stripTies().flatten().notes if not n.duration.isGrace for p in n.pitches]
        assert len(expected) > 300 and abs(len(inst.notes) - len(expected)) <= 0.01 * len(expected)
        played = np.bincount([n.pitch for n in inst.notes], minlength=128)
        assert played[:100].argmax() == np.bincount(expected).argmax()
    short = render.score_to_midi(score, [40, 40, 41, 42], qpm=90.0, max_s=30.0)
    assert max(n.start for i in short.instruments for n in i.notes) < 30.0
    assert sum(len(i.notes) for i in short.instruments) < sum(len(i.notes) for i in pm.instruments) / 4
