"""Messy real-world inputs: formats, sample rates, channel counts, clipping, the wrong piece."""
import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from concerto_nb import data, io, separation, sync

from conftest import SHARED


@pytest.fixture(scope="module")
def demo30():
    """The first 30 s of the demo concerto and the matching start of the pianist."""
    concerto, sr = io.load_audio(data.demo_path("concerto"))
    pianist, _ = io.load_audio(data.demo_path("pianist"))
    end = float(np.interp(30.0, *data.demo_time_map().T))
    return concerto[: 30 * sr], pianist[: int(end * sr)], sr


@pytest.mark.parametrize("fmt, subtype, sr, channels", [
    ("wav", "PCM_24", 96000, 2),
    ("wav", "PCM_16", 8000, 1),
    ("flac", "PCM_24", 48000, 4),
    ("ogg", "VORBIS", 22050, 2),
    ("mp3", "MPEG_LAYER_III", 44100, 2),
])
def test_formats_rates_and_channels_load(tmp_path, demo30, fmt, subtype, sr, channels):
    concerto, _, file_sr = demo30
    y = io.resample(concerto[: 5 * file_sr], file_sr, sr)
    multi = np.stack([y * (0.9 - 0.1 * c) for c in range(channels)], axis=1)
    path = tmp_path / f"clip ♪.{fmt}"
    sf.write(path, multi, sr, subtype=subtype)
    mono, got_sr = io.load_audio(path)
    assert got_sr == sr and mono.ndim == 1 and abs(len(mono) - 5 * sr) < 0.1 * sr
    kept, _ = io.load_audio(path, mono=False)
    if channels == 2:
        assert kept.shape == (2, len(mono))
    else:  # mono stays mono; more than two channels are averaged to mono
        assert kept.shape == mono.shape
    resampled, _ = io.load_audio(path, sr=sync.SYNC_SR)
    assert abs(len(resampled) - 5 * sync.SYNC_SR) < 0.1 * sync.SYNC_SR


def test_clipped_input_warns_but_works(tmp_path, demo30):
    concerto, _, sr = demo30
    path = tmp_path / "loud.wav"
    sf.write(path, np.clip(concerto[: 5 * sr] * 20, -1, 1), sr)
    with pytest.warns(UserWarning, match="clipped"):
        y, _ = io.load_audio(path)
    assert np.max(np.abs(y)) <= 1.0


def test_playalong_mp3_8k_pianist_with_96k_multichannel_concerto(tmp_path, demo30):
    concerto, pianist, sr = demo30
    c_path, p_path = tmp_path / "concerto 96k.flac", tmp_path / "my take é.mp3"
    c96 = io.resample(concerto, sr, 96000)
    sf.write(c_path, np.stack([c96, c96, 0.5 * c96, 0.5 * c96], axis=1), 96000, subtype="PCM_24")
    sf.write(p_path, io.resample(pianist, sr, 8000), 8000, subtype="MPEG_LAYER_III")
    out = tmp_path / "out dir"
    r = subprocess.run([sys.executable, "-m", "concerto_nb.cli", "playalong", str(c_path), str(p_path), "-o", str(out),
                        "-q"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["sample_rate"] == 8000
    assert sf.info(out / "mix.wav").samplerate == 8000
    tm = io.load_time_map(out / "time_map.csv")
    onsets = data.demo_onsets()
    onsets = onsets[onsets[:, 0] < 29]
    errors = np.abs(np.interp(onsets[:, 0], *tm.T) - onsets[:, 1])
    assert np.median(errors) < 0.06


def test_another_piece_is_refused_and_nothing_written(tmp_path):
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "concerto_nb.cli", "playalong", str(data.demo_path("concerto")),
                        str(SHARED / "ishizaka_cc0" / "bach_bwv846_soglia.ogg"), "-o", str(out), "-q"],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "does not seem to be the piano part" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists() or not any(out.iterdir())


def test_a_partial_performance_is_followed_where_it_starts_and_ends(demo22):
    """The demo pianist's first half, and second half, against the whole concerto: each is followed as the passage
    it is, the play-along's map starting and ending where the recording does (0.18.0 squeezed the rest of the
    concerto into the recording's last or first second, and said the pianist may play only part of the piece).
    The whole take has no such skip."""
    piano_est, _ = separation.separate(demo22["concerto"], sync.SYNC_SR)
    half = len(demo22["pianist"]) // 2
    whole_map, whole = sync.align(piano_est, demo22["pianist"], mixture=demo22["concerto"], return_details=True)
    assert whole["confidence"] > sync.MIN_CONFIDENCE and whole["jumps"] == []
    assert sync.low_confidence_share(whole["confidence_per_second"]) < sync.MAX_LOW_CONFIDENCE_SHARE
    assert sync.implausible_tempo_share(whole_map) < sync.MAX_IMPLAUSIBLE_TEMPO_SHARE
    truth = data.demo_time_map()
    for part, start in ((demo22["pianist"][:half], 0.0), (demo22["pianist"][half:], half / sync.SYNC_SR)):
        time_map, details = sync.align(piano_est, part, mixture=demo22["concerto"], return_details=True)
        followed = sync.time_map_with_jumps(time_map, details["jumps"])
        covered = np.interp([start, start + len(part) / sync.SYNC_SR], truth[:, 1], truth[:, 0])
        assert np.abs(followed[[0, -1], 0] - covered).max() < 1.5
        fit = sync.diagnostics.how_the_recording_fits(time_map, details, concerto="c.wav", pianist="p.wav")
        assert fit["implausible_tempo_share"] < sync.MAX_IMPLAUSIBLE_TEMPO_SHARE
        said = [w.split(" into the concerto")[0] for w in fit["warnings"] if w.startswith("your recording ")]
        end, at = ("ends", followed[-1, 0]) if start == 0 else ("starts", followed[0, 0])
        assert said == [f"your recording {end} {at:.1f} s"]


def test_playalong_warns_about_a_partial_performance(tmp_path, demo30):
    concerto, pianist, sr = demo30
    c_path, p_path = tmp_path / "concerto.wav", tmp_path / "first_half.wav"
    sf.write(c_path, concerto, sr)
    sf.write(p_path, pianist[: len(pianist) // 2], sr)
    r = subprocess.run([sys.executable, "-m", "concerto_nb.cli", "playalong", str(c_path), str(p_path), "-o",
                        str(tmp_path / "out"), "-q"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "only part of the piece" in r.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["warnings"] and report["alignment"]["implausible_tempo_share"] > sync.MAX_IMPLAUSIBLE_TEMPO_SHARE


def test_playalong_names_a_skipped_passage(tmp_path):
    pianist, sr = io.load_audio(data.demo_path("pianist"))
    p_path = tmp_path / "skipping.flac"
    sf.write(p_path, np.concatenate([pianist[: 20 * sr], pianist[32 * sr:]]), sr)  # 12 s left out
    r = subprocess.run([sys.executable, "-m", "concerto_nb.cli", "playalong", str(data.demo_path("concerto")),
                        str(p_path), "-o", str(tmp_path / "out"), "-q", "--tsm", "rubberband"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "you skip from" in r.stderr and "the orchestra skips with you" in r.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [j["kind"] for j in report["alignment"]["skips_and_repeats"]] == ["skip"]
    assert [j["kind"] for j in report["alignment"]["jumps"]] == ["skip"]
    assert abs(report["alignment"]["jumps"][0]["performance_s"] - 20.0) < 0.5
    assert len(io.load_audio(tmp_path / "out" / "mix.wav")[0]) == len(pianist) - 12 * sr
    # the map jumps: two segments, as warp reads them
    assert len(io.time_map_segments(io.load_time_map(tmp_path / "out" / "time_map.csv"))) == 2


def test_playalong_follows_a_recording_of_one_passage(tmp_path):
    """The demo pianist records the concerto's 20-50 s alone: the mix is as long as the recording, its orchestra
    starts and ends with the passage, and the warnings say where in the concerto the recording starts and ends
    (0.18.0 squeezed the rest of the concerto into the recording's first and last second, and ``warp`` then rushed
    the orchestra's last segment through it)."""
    from concerto_nb import performance

    pianist, sr = io.load_audio(data.demo_path("pianist"))
    take, events = performance.passage_take(pianist, data.demo_onsets(), 20.0, 50.0, sr=sr)
    sf.write(tmp_path / "passage.wav", take, sr)
    r = subprocess.run([sys.executable, "-m", "concerto_nb.cli", "playalong", str(data.demo_path("concerto")),
                        str(tmp_path / "passage.wav"), "-o", str(tmp_path / "out"), "-q"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert "your recording starts" in r.stderr and "your recording ends" in r.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [j["kind"] for j in report["alignment"]["jumps"]] == ["skip", "skip"]
    time_map = io.load_time_map(tmp_path / "out" / "time_map.csv")
    assert events[0, 0] - 2.5 < time_map[0, 0] < events[0, 0] and time_map[-1, 0] > events[-1, 0]
    assert len(io.load_audio(tmp_path / "out" / "mix.wav")[0]) == len(take)


def test_hpss_is_deterministic_and_chunking_changes_nothing(demo22):
    mix = demo22["concerto"]
    a = separation.separate(mix, sync.SYNC_SR, method="hpss", chunk_s=np.inf)
    b = separation.separate(mix, sync.SYNC_SR, method="hpss", chunk_s=10.0)
    c = separation.separate(mix, sync.SYNC_SR, method="hpss", chunk_s=10.0)
    np.testing.assert_array_equal(b[0], c[0])
    np.testing.assert_allclose(a[0], b[0], atol=1e-5)
    np.testing.assert_allclose(a[1], b[1], atol=1e-5)
