"""The orchestra follows the pianist's pitch: tunings read to the cent, a pitch shift folded into the warp, and a
play-along in tune with a pianist who is transposed or whose piano is not at A = 440 Hz."""
import json
import warnings

import librosa
import numpy as np
import pytest
import soundfile as sf

from concerto_nb import data, io, pipeline, sync, tsm


def retuned(y: np.ndarray, sr: int, cents: float) -> np.ndarray:
    """``y`` read faster or slower, as a tape would: ``cents`` higher, and as much faster."""
    return librosa.resample(y, orig_sr=sr * 2 ** (cents / 1200), target_sr=sr, res_type="soxr_hq", axis=-1)


def cents_above(y: np.ndarray, original: np.ndarray, sr: int = sync.SYNC_SR) -> float:
    """How many cents ``y`` sounds above ``original`` (the same instruments): whole semitones from the pitch
    profiles, the rest from the tunings."""
    semitones, _ = sync.pitch_offset(y, original, sr)
    return 100 * semitones + sync.tuning_cents(y, sr) - sync.tuning_cents(original, sr)


@pytest.mark.parametrize("name", ["orchestra", "pianist"])
def test_a_recording_moved_by_known_cents_is_read_to_the_cent(name):
    """Moved at 44.1 kHz and read at 22.05 kHz, as the play-along does; synctoolbox's default window misreads the
    orchestra by 2-3 cents there."""
    y, sr = io.load_audio(data.demo_path(name))
    read = lambda z: sync.tuning_cents(io.resample(z, sr, sync.SYNC_SR))  # noqa: E731
    base = read(y)
    for cents in (-45, -17, 8, 33):
        moved = read(retuned(y, sr, cents))
        assert abs((moved - base - cents + 50) % 100 - 50) <= 1, (cents, moved, base)


@pytest.mark.parametrize("method", ["hps", "wsola"])
def test_warp_shifts_the_pitch_and_keeps_the_map(method):
    sr = 22050
    t = np.arange(4 * sr) / sr
    tone = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in (1, 2, 3))
    notes = tone * (t % 0.5 < 0.3)  # two notes a second
    time_map = np.array([[0.0, 0.0], [2.0, 3.0], [4.0, 4.5]])

    def first_onset_after(out, t0):
        envelope = np.convolve(np.abs(out), np.ones(441) / 441, mode="same")
        return np.flatnonzero(envelope[int(t0 * sr):] > 0.5 * envelope.max())[0] / sr + t0

    # the onset 1.5 s into the notes plays at 2.25 s of the output: the map's place for it
    unshifted = first_onset_after(tsm.warp(notes, sr, time_map, method=method), 2.1)
    assert unshifted == pytest.approx(2.25, abs=0.04)
    for semitones in (2.0, -0.3):
        out = tsm.warp(tone, sr, time_map, method=method, semitones=semitones)
        assert len(out) == round(4.5 * sr)
        spectrum = np.abs(np.fft.rfft(out * np.hanning(len(out))))
        assert np.argmax(spectrum) * sr / len(out) == pytest.approx(220 * 2 ** (semitones / 12), rel=0.003)
        # and with the shift, where it played without
        shifted = first_onset_after(tsm.warp(notes, sr, time_map, method=method, semitones=semitones), 2.1)
        assert shifted == pytest.approx(unshifted, abs=0.01)


def test_warp_refuses_a_shift_beyond_an_octave():
    with pytest.raises(ValueError, match="semitones"):
        tsm.warp(np.ones(22050), 22050, np.array([[0.0, 0.0], [1.0, 1.0]]), semitones=13)


@pytest.fixture(scope="module")
def orchestra16(clip16):
    """The demo's orchestra stem over clip16's concerto excerpt (8-24 s), at synctoolbox's rate."""
    orchestra, _ = io.load_audio(data.demo_path("orchestra"), sr=sync.SYNC_SR)
    return orchestra[8 * sync.SYNC_SR: 24 * sync.SYNC_SR]


@pytest.mark.parametrize("cents, keep_pitch", [(200, False), (-30, False), (-30, True)])
def test_the_orchestra_follows_a_transposed_or_mistuned_pianist(tmp_path, clip16, orchestra16, cents, keep_pitch):
    concerto, pianist, sr = clip16
    y, _ = sf.read(pianist, always_2d=True)
    moved = tmp_path / "moved.wav"
    sf.write(moved, retuned(y.T, sr, cents).T, sr)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = pipeline.playalong(concerto, moved, tmp_path / "out", progress=False, keep_pitch=keep_pitch)
    tuning = json.loads((tmp_path / "out" / "report.json").read_text())["tuning"]
    assert tuning == report["tuning"]
    assert tuning["pianist_above_concerto_cents"] == pytest.approx(cents, abs=5)
    said = [str(w.message) for w in caught if "the concerto: the orchestra" in str(w.message)]
    assert len(said) == 1 and ("kept at its pitch" in said[0]) == keep_pitch, said
    warped, _ = io.load_audio(tmp_path / "out" / "orchestra_warped.wav", sr=sync.SYNC_SR)
    assert cents_above(warped, orchestra16) == pytest.approx(0 if keep_pitch else cents, abs=5)
    assert tuning["orchestra_shifted_cents"] == (0 if keep_pitch else tuning["pianist_above_concerto_cents"])


def test_a_pianist_in_tune_leaves_the_orchestra_alone(playalong_demo):
    _, report = playalong_demo
    assert report["tuning"]["orchestra_shifted_cents"] == 0
    assert abs(report["tuning"]["pianist_above_concerto_cents"]) < pipeline.MIN_RETUNE_CENTS
    assert not any("the concerto: the orchestra" in w for w in report["warnings"])
