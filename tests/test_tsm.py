import numpy as np
import pytest

from concerto_nb import data, evaluation, sync, tsm


def onset_error(y, sr, expected):
    """Median distance (s) from each expected onset to the nearest detected one."""
    import librosa

    detected = librosa.onset.onset_detect(y=y, sr=sr, units="time", hop_length=256)
    return float(np.median(np.min(np.abs(detected[None, :] - expected[:, None]), axis=1)))


@pytest.mark.parametrize("method", ["hps", "wsola", "rubberband"])
def test_warp_follows_the_time_map(demo22, method):
    """The concerto's piano stem warped with the true map plays its onsets where the pianist does."""
    sr = 22050
    true_map = data.demo_time_map()
    warped = tsm.warp(demo22["piano"], sr, true_map, method=method)
    assert len(warped) == round(true_map[-1, 1] * sr)
    onsets = data.demo_onsets()
    # the onset detector has its own latency (attack, hall): compare with it on the unwarped stem
    before = onset_error(demo22["piano"], sr, onsets[:, 0])
    after = onset_error(warped, sr, np.interp(onsets[:, 0], *true_map.T))
    assert before < 0.05 and after - before < 0.01
    # and it lines up with the real pianist recording (other soundfont, other room)
    lag, corr, _ = evaluation.onset_correlation(demo22["pianist"], warped, sr)
    assert abs(lag) < 0.03 and corr > 0.5


@pytest.mark.parametrize("chunk_s", [30.0, 4.0])
def test_a_map_that_covers_a_passage_plays_that_passage(chunk_s):
    """A map from 2 s to 10 s of a 20 s chirp (100 Hz more every second), at the same tempo: 8 s of output, whose
    pitch at 7 s is the chirp's at 9 s. The map's end used to be moved to the audio's end, and the last segment
    rushed through the rest of it (1745 Hz there)."""
    sr = 22050
    t = np.arange(20 * sr) / sr
    chirp = 0.5 * np.sin(2 * np.pi * (100 * t + 50 * t ** 2)).astype(np.float32)
    out = tsm.warp(chirp, sr, np.array([[2.0, 0.0], [6.0, 4.0], [10.0, 8.0]]), chunk_s=chunk_s)
    assert len(out) == 8 * sr
    window = out[int(6.9 * sr): int(7.1 * sr)] * np.hanning(int(0.2 * sr))
    assert abs(np.argmax(np.abs(np.fft.rfft(window))) / 0.2 - 1000) < 30


def test_hps_is_libtsm_hps_tsm(demo22):
    """Our compiled HPS-TSM gives libtsm's output (same algorithm, same parameters) on a real stretch."""
    import libtsm

    sr = 22050
    y = demo22["concerto"][: 12 * sr]
    time_map = data.demo_time_map()
    time_map = np.vstack([time_map[time_map[:, 0] < 11.9], [12.0, sync.map_times(time_map, 12.0)]])
    ours = tsm.warp(y, sr, time_map, method="hps", chunk_s=np.inf)
    anchors = tsm.anchors_from_time_map(time_map, sr, len(y), len(ours))
    theirs = libtsm.hps_tsm(y.astype(np.float64), anchors, Fs=sr)[:, 0]
    assert len(theirs) == len(ours) and np.std(ours) > 0.01
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_warp_keeps_pitch_and_length():
    sr = 22050
    y = 0.5 * np.sin(2 * np.pi * 440 * np.arange(2 * sr) / sr)
    out = tsm.warp(y, sr, np.array([[0.0, 0.0], [1.0, 1.6], [2.0, 2.5]]))
    assert out.shape == (round(2.5 * sr),)
    spectrum = np.abs(np.fft.rfft(out[sr // 2: 2 * sr]))
    assert abs(np.fft.rfftfreq(len(out[sr // 2: 2 * sr]), 1 / sr)[np.argmax(spectrum)] - 440) < 2


@pytest.mark.parametrize("method", ["hps", "rubberband"])
def test_a_map_that_jumps_back_plays_the_passage_again(method):
    """A chirp tells which reference instant plays: after the restart at 6 s the output replays 3-6 s, and the
    cut between the segments is cross-faded, not a click."""
    sr = 22050
    t = np.arange(10 * sr) / sr
    chirp = 0.5 * np.sin(2 * np.pi * (200 * t + 30 * t**2))  # at reference time r: 200 + 60 r Hz
    restart = sync.time_map_with_jumps(
        np.array([[0.0, 0.0], [6.0, 6.0], [6.01, 9.0], [10.0, 13.0]]),  # the map align gives: held 6-9 s
        [{"kind": "restart", "performance_s": 6.0, "reference_s": [6.0, 3.0], "replay": [[3.0, 6.0], [6.0, 9.0]]}])
    out = tsm.warp(chirp, sr, restart, method=method)
    assert len(out) == 13 * sr
    for at, reference in [(5.0, 5.0), (7.0, 4.0), (8.5, 5.5), (11.0, 8.0)]:
        frame = out[int((at - 0.1) * sr): int((at + 0.1) * sr)]
        peak = np.argmax(np.abs(np.fft.rfft(frame * np.hanning(len(frame))))) * sr / len(frame)
        assert peak == pytest.approx(200 + 60 * reference, abs=12), at
    # through the cut the level holds (5 ms RMS within 100 ms of it), with no step larger than the chirp's own
    near = out[6 * sr - sr // 10: 6 * sr + sr // 10]
    rms = np.sqrt(np.mean(near[: len(near) // 110 * 110].reshape(-1, 110) ** 2, axis=1))
    assert rms.min() > 0.6 * np.sqrt(np.mean(out[5 * sr: 6 * sr - sr // 10] ** 2))
    assert np.abs(np.diff(near)).max() < 1.5 * np.abs(np.diff(out[5 * sr: 6 * sr - sr // 10])).max()


def test_warp_stereo_and_bad_maps():
    sr = 22050
    y = np.random.default_rng(0).standard_normal((2, sr)).astype(np.float32) * 0.1
    assert tsm.warp(y, sr, np.array([[0.0, 0.0], [1.0, 0.8]])).shape == (2, round(0.8 * sr))
    with pytest.raises(ValueError, match="strictly increasing"):
        tsm.warp(y, sr, np.array([[0.0, 0.0], [0.5, 0.6], [0.4, 0.9]]))
    with pytest.raises(ValueError, match="unknown TSM method"):
        tsm.warp(y, sr, np.array([[0.0, 0.0], [1.0, 0.8]]), method="magic")


def test_rubberband_stereo_length_and_missing_program(monkeypatch):
    sr = 44100
    y = np.random.default_rng(0).standard_normal((2, 3 * sr)).astype(np.float32) * 0.1
    time_map = np.array([[0.0, 0.0], [1.0, 1.3], [3.0, 2.9]])
    out = tsm.warp(y, sr, time_map, method="rubberband")
    assert out.shape == (2, round(2.9 * sr)) and np.all(np.isfinite(out)) and np.std(out) > 0.05
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt install rubberband-cli"):
        tsm.warp(y, sr, time_map, method="rubberband")


def test_onset_lags_find_a_known_delay():
    from concerto_nb import evaluation, io

    sr = 22050
    y, _ = io.load_audio(data.demo_path("piano"), sr=sr)
    late = np.concatenate([np.zeros(int(0.1 * sr), dtype=y.dtype), y[: -int(0.1 * sr)]])  # 100 ms late
    lags = evaluation.onset_lags(y, late, sr)
    assert len(lags) >= 5
    np.testing.assert_allclose(np.median(lags), 0.1, atol=256 / sr)
    assert abs(evaluation.onset_lags(late, y, sr, window_s=None)[0] + 0.1) <= 256 / sr
