"""The practice kit on the demo: a passage slower, counted in, with clicks, looped, or following a take."""
import json
import subprocess
import sys

import librosa
import numpy as np
import pytest
import soundfile as sf

from concerto_nb import data, evaluation, io, practice, sync, tsm

from test_reliability import cli_main, one_error_line

# the demo is 75 s of KV488 I from a beat of its MIDI at 120 quarter notes a minute, in 4/4
TRUE_PERIOD_S = 0.5


def clicks_in(y, sr, until_s):
    """Onset times (s) of the clicks before ``until_s``, where nothing else sounds."""
    head = y[: int(until_s * sr)]
    return librosa.onset.onset_detect(y=head, sr=sr, units="time", hop_length=128, backtrack=True)


@pytest.fixture(scope="module")
def slower(tmp_path_factory):
    """12-32 s of the demo at 80 %, one bar of count-in."""
    out = tmp_path_factory.mktemp("practice")
    report = practice.practice(data.demo_path("concerto"), out, start_s=12.0, end_s=32.0, tempo=0.8, progress=False)
    y, sr = io.load_audio(out / "orchestra_practice.wav")
    return report, y, sr


def test_a_slower_passage_has_its_length_tempo_and_count_in(slower):
    report, y, sr = slower
    lead = report["passage_starts_at_s"]
    assert len(y) == pytest.approx((lead + 20.0 / 0.8) * sr, abs=0.001 * sr)  # the report rounds to 1 ms
    # the tempo: 80 % of the concerto's 120 beats a minute, in the report and in the audio
    assert report["beats_per_minute"] == pytest.approx(96.0, rel=0.02)
    # in the audio: the passage lines up, onset for onset, with the true orchestra stem's passage slowed to 80 %
    # (a wrong tempo drifts away from it within a few beats)
    orchestra = io.load_audio(data.demo_path("orchestra"), sr=sr)[0][12 * sr: 32 * sr]
    slowed = tsm.warp(orchestra, sr, np.array([[0.0, 0.0], [20.0, 25.0]]))
    lag, _, peak_ratio = evaluation.onset_correlation(slowed, y[int(round(lead * sr)):][: len(slowed)], sr)
    assert abs(lag) < 0.02 and peak_ratio > 3.0  # the passage at 85 % or 100 % is over 0.1 s off
    # one bar of four clicks, a beat apart, heard where the report puts them, the last a beat before the music's
    heard = clicks_in(y, sr, lead)
    assert len(heard) == 4 and np.allclose(heard, report["count_in_s"], atol=0.02)
    assert np.allclose(np.diff(heard), TRUE_PERIOD_S / 0.8, atol=0.02)
    assert report["beats_s"][0] - report["count_in_s"][-1] == pytest.approx(TRUE_PERIOD_S / 0.8, abs=0.02)
    # the passage's beats in the output fall on the score's beats (k * 0.5 s of the concerto, slowed down)
    score_beats = lead + (np.arange(24, 64) * TRUE_PERIOD_S - 12.0) / 0.8
    off = np.min(np.abs(np.array(report["beats_s"])[:, None] - score_beats[None, :]), axis=1)
    assert np.median(off) < 0.04


def test_loops_and_clicks_throughout(tmp_path, slower):
    report = practice.practice(data.demo_path("concerto"), tmp_path, start_s=12.0, end_s=22.0, loops=2,
                               clicks=True, count_in_bars=2, progress=False)
    y, sr = io.load_audio(tmp_path / "orchestra_practice.wav")
    lead = report["passage_starts_at_s"]
    assert len(report["count_in_s"]) == 8 and len(y) == pytest.approx((lead + 2 * 10.0) * sr, abs=0.001 * sr)
    # each loop starts on time: the second half is the first again (onset envelopes line up at lag 0)
    first = y[int(lead * sr): int((lead + 10) * sr)]
    second = y[int((lead + 10) * sr): int((lead + 20) * sr)]
    lag, corr, _ = evaluation.onset_correlation(first, second, sr)
    assert abs(lag) < 0.02 and corr > 0.8
    # the clicks on the beats: a click's pitch (1320 Hz) is strong right at each reported beat
    spectrum = np.abs(librosa.stft(y[int(lead * sr):], n_fft=1024, hop_length=256))
    band = spectrum[int(1320 / sr * 1024)]
    beat_frames = ((np.array(report["beats_s"][1:8]) - lead) * sr / 256).astype(int) + 1
    assert np.median(band[beat_frames]) > 3 * np.median(band)


def test_follow_my_last_take(tmp_path, demo22):
    """The orchestra of a passage at the tempo curve of a previous recording: its onsets line up with the
    take's, where the take's own tempo bends (0.8x-1.25x) and a plain 100 % track drifts off."""
    pianist, sr = io.load_audio(data.demo_path("pianist"))
    a, b = sync.map_times(data.demo_time_map(), [12.0, 52.0])
    take = tmp_path / "take.wav"
    sf.write(take, pianist[int(a * sr): int(b * sr)], sr)
    report = practice.practice(data.demo_path("concerto"), tmp_path / "out", start_s=12.0, end_s=52.0,
                               follow=take, count_in_bars=0, progress=False)
    assert report["follow"] == str(take) and report["tempo"] is None and report["count_in_s"] == []
    y, _ = io.load_audio(tmp_path / "out" / "orchestra_practice.wav")
    played = pianist[int(a * sr): int(b * sr)]
    music = y[int(report["passage_starts_at_s"] * sr):]
    assert len(music) == pytest.approx(len(played), abs=2)
    followed = np.max(np.abs(evaluation.onset_lags(played, music, sr, window_s=10.0)))
    assert followed < 0.06
    # the same passage at a steady 100 % drifts off the take where its tempo bends
    practice.practice(data.demo_path("concerto"), tmp_path / "steady", start_s=12.0, end_s=52.0, count_in_bars=0,
                      progress=False)
    steady, _ = io.load_audio(tmp_path / "steady" / "orchestra_practice.wav")
    drift = np.max(np.abs(evaluation.onset_lags(played, steady, sr, window_s=10.0)))
    assert drift > 0.1 and drift > 2 * followed


def test_practice_refuses_bad_settings_in_one_line(tmp_path):
    concerto = str(data.demo_path("concerto"))
    for args, needle in [(["--tempo", "3"], "--tempo"), (["--loops", "0"], "--loops")]:  # argparse's own line
        r = subprocess.run([sys.executable, "-m", "concerto_nb.cli", "practice", concerto, "-o",
                            str(tmp_path / "out"), *args], capture_output=True, text=True)
        assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr
    code, lines = cli_main("practice", concerto, "-o", tmp_path / "out", "-q", "--start", "70", "--end", "90")
    assert code == 2
    one_error_line(lines, "must lie within")
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="tempo"):
        practice.practice(concerto, tmp_path / "out", tempo=0.1)


def test_practice_writes_its_report(tmp_path):
    code, lines = cli_main("practice", data.demo_path("concerto"), "-o", tmp_path, "--start", "40", "--end", "50",
                           "--tempo", "0.5", "-q")
    assert code == 0, lines
    report = json.loads((tmp_path / "practice.json").read_text())
    assert report["beats_per_minute"] == pytest.approx(60.0, rel=0.03) and report["passage_s"] == [40.0, 50.0]


@pytest.fixture(scope="module")
def expressive_concerto(tmp_path_factory):
    """40 s of KV488 I (from 120 s of its MIDI, the demo's excerpt) played by an ensemble with rubato (0.75x,
    phrase arcs, ritardandi, a fermata) in MuseScore's soundfont in a hall, as a file; its score as a MIDI file;
    the true bar lines (s of the recording)."""
    from concerto_nb import performance, render

    score = render.crop_midi(render.load_midi(data.SOURCES_DIR / "mutopia_concertos_midi"
                                              / "Mozart_KV488_mvt1_Allegro.mid"), 120.0, 160.0)
    true_map = performance.expressive_time_map(40.0, 2.0, style="rubato", offset_s=120.0, seed=2)
    sr = sync.SYNC_SR
    y = render.render_midi(render.warp_midi(score, true_map), sr, "musescore", true_map[-1, 1] + 1.0)
    hall = render.load_impulse_response(data.SOURCES_DIR / "openair_irs" / "Jack Lyons Hall, University of York.wav",
                                        sr)
    folder = tmp_path_factory.mktemp("expressive_concerto")
    y = render.apply_room(y, hall, 0.4)
    io.save_audio(folder / "concerto.wav", 0.9 * y / np.max(np.abs(y)), sr)
    score.write(str(folder / "score.mid"))
    downbeats = score.get_downbeats()
    return folder / "concerto.wav", folder / "score.mid", np.interp(downbeats[downbeats < 40.0], *true_map.T)


def test_score_grid_finds_the_bar_lines_of_an_expressive_recording(expressive_concerto):
    """The score's bar lines carried onto a recording with rubato: where its 20 bars really start, within 100 ms
    (the bars at the score's tempo, 2 s each, are up to seconds off: the ensemble plays at 0.75x). The bar after
    the fermata (a chord held 3 s at the end of bar 12) may come up to a second early."""
    concerto, score, truth = expressive_concerto
    y, sr = io.load_audio(concerto)
    grid = practice.score_grid(y, sr, score)
    assert len(grid["bars_s"]) == len(truth) + 1 and list(grid["beats_per_bar"]) == [4] * len(truth)
    errors = np.abs(grid["bars_s"][:-1] - truth)
    assert np.mean(errors <= 0.1) >= 0.9 and np.delete(errors, 12).max() < 0.3
    assert np.abs(2.0 * np.arange(len(truth)) - truth).max() > 5.0  # the score's own times would not do


def test_practice_by_bar_numbers(tmp_path, expressive_concerto):
    """``--score FILE.mid --bars 5-8``: the passage from bar 5's start to bar 8's end, counted in with the
    score's metre at the recording's tempo there; a bar range outside the score or without one: one line."""
    concerto, score, truth = expressive_concerto
    code, lines = cli_main("practice", concerto, "-o", tmp_path / "out", "--score", score, "--bars", "5-8", "-q")
    assert code == 0, lines
    report = json.loads((tmp_path / "out" / "practice.json").read_text())
    assert report["bars"] == [5, 8] and report["beats_per_bar"] == 4
    assert np.allclose(report["passage_s"], [truth[4], truth[8]], atol=0.1)
    # four clicks of count-in, a beat apart at the recording's tempo in bar 5 (a quarter of its true length)
    beat = (truth[5] - truth[4]) / 4
    assert len(report["count_in_s"]) == 4 and np.allclose(np.diff(report["count_in_s"]), beat, rtol=0.15)
    for args, needle in [(["--score", score, "--bars", "19-25"], "the score has bars 1-20"),
                         (["--bars", "2-3"], "needs the score"),
                         (["--score", concerto, "--bars", "2-3"], "not a readable MIDI file"),
                         (["--score", score, "--bars", "2-3", "--start", "3"], "either in seconds or in bars")]:
        code, lines = cli_main("practice", concerto, "-o", tmp_path / "refused", *args, "-q")
        assert code == 2
        one_error_line(lines, needle)
        assert not (tmp_path / "refused").exists()


def test_the_practice_panel_takes_bars_of_a_score(expressive_concerto):
    """Notebook 05's panel with a score: the passage is a range of bars, the metre the score's, and the track made
    is bars 5-8 of the recording (its length at 80 %, after the count-in)."""
    from concerto_nb import widgets

    concerto, score, truth = expressive_concerto
    panel = widgets.practice_panel(concerto, score=score, bars=(5, 8))
    passage = panel.children[0].children[0]
    assert passage.description == "passage (bars)" and passage.value == (5, 8) and passage.max == len(truth)
    said = panel.children[3].value
    lead = float(said.split("after ")[1].split(" s")[0])
    track = panel.children[4].children[0]
    assert "beats a minute" in said and track is not None
    out = said.split("written to ")[1]
    y, sr = io.load_audio(f"{out}/orchestra_practice.wav")
    assert len(y) / sr == pytest.approx(lead + (truth[8] - truth[4]) / 0.8, abs=0.15)
