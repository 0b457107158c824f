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


def test_partial_performance_is_reported(demo22):
    piano_est, _ = separation.separate(demo22["concerto"], sync.SYNC_SR)
    half = len(demo22["pianist"]) // 2
    whole_map, whole = sync.align(piano_est, demo22["pianist"], mixture=demo22["concerto"], return_details=True)
    assert whole["confidence"] > sync.MIN_CONFIDENCE
    assert sync.low_confidence_share(whole["confidence_per_second"]) < sync.MAX_LOW_CONFIDENCE_SHARE
    assert sync.implausible_tempo_share(whole_map) < sync.MAX_IMPLAUSIBLE_TEMPO_SHARE
    for part in (demo22["pianist"][:half], demo22["pianist"][half:]):
        tm, _ = sync.align(piano_est, part, mixture=demo22["concerto"], return_details=True)
        assert sync.implausible_tempo_share(tm) > sync.MAX_IMPLAUSIBLE_TEMPO_SHARE


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


def test_hpss_is_deterministic_and_chunking_changes_nothing(demo22):
    mix = demo22["concerto"]
    a = separation.separate(mix, sync.SYNC_SR, method="hpss", chunk_s=np.inf)
    b = separation.separate(mix, sync.SYNC_SR, method="hpss", chunk_s=10.0)
    c = separation.separate(mix, sync.SYNC_SR, method="hpss", chunk_s=10.0)
    np.testing.assert_array_equal(b[0], c[0])
    np.testing.assert_allclose(a[0], b[0], atol=1e-5)
    np.testing.assert_allclose(a[1], b[1], atol=1e-5)
