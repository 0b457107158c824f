import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from concerto_nb import cli, data, evaluation, io, tsm



def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "concerto_nb.cli", *map(str, args)], capture_output=True, text=True)


def test_playalong_outputs_are_together(playalong_demo):
    out, report = playalong_demo
    mix, sr = io.load_audio(out / "mix.wav", mono=False)
    warped, _ = io.load_audio(out / "orchestra_warped.wav")
    pianist, sr_p = io.load_audio(data.demo_path("pianist"))
    assert sr == sr_p and mix.shape[-1] == len(pianist) == len(warped)
    # the warped orchestra plays where the true orchestra, warped with the true map, plays: their onset
    # envelopes correlate best within the 50 ms the alignment targets (other lags correlate too, as
    # beats repeat, so the peak stands only ~2x above the median)
    truth = tsm.warp(io.load_audio(data.demo_path("orchestra"))[0], sr, data.demo_time_map())
    lag, _, peak_ratio = evaluation.onset_correlation(truth, warped, sr)
    assert abs(lag) < 0.05 and peak_ratio > 1.5
    errors = evaluation.alignment_errors(io.load_time_map(out / "time_map.csv"), data.demo_onsets())
    assert np.median(errors) < 0.05
    saved = json.loads((out / "report.json").read_text())
    assert saved == json.loads(json.dumps(report))
    assert set(saved["timings_s"]) == {"load", "separate", "align", "separate informed", "warp", "mix", "write"}
    assert saved["informed_separation"] is True  # the pianist's recording informed the orchestra it warped
    assert saved["alignment"]["confidence"] > saved["alignment"]["min_confidence"]
    assert saved["alignment"]["skips_and_repeats"] == saved["alignment"]["uneven_ends"] == saved["warnings"] == []
    assert saved["alignment"]["unsure_passages"] == []  # the demo pianist plays evenly: nothing to doubt
    assert saved["levels"]["mix_peak_db"] <= -0.9


def test_playalong_adapts_to_the_concertos_own_solo_passages(tmp_path, playalong_demo):
    r = run_cli("playalong", data.demo_path("concerto"), data.demo_path("pianist"), "-o", tmp_path / "a", "--adapt",
                "--blind", "-q")
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert '"adaptation"' in r.stdout and list(report["timings_s"])[:3] == ["load", "adapt", "separate"]
    assert report["informed_separation"] is False and "separate informed" not in report["timings_s"]
    adaptation = report["adaptation"]
    assert adaptation["steps"] == 200 and not {"skipped", "rejected"} & set(adaptation)
    # the demo opens with 12 s of orchestra alone: the adaptation learnt the orchestra there
    assert adaptation["orchestra_only"][0][0] < 2.0 and adaptation["piano_only"]
    adapted, _ = io.load_audio(tmp_path / "a" / "orchestra_warped.wav")
    shipped, _ = io.load_audio(playalong_demo[0] / "orchestra_warped.wav")
    assert len(adapted) == len(shipped) and not np.allclose(adapted, shipped, atol=1e-3)
    assert playalong_demo[1]["adaptation"] is None  # off by default
    r = run_cli("playalong", data.demo_path("concerto"), data.demo_path("pianist"), "-o", tmp_path / "b", "--adapt",
                "--separation", "hpss")
    assert r.returncode == 2 and "needs separation_method 'model'" in r.stderr and not (tmp_path / "b").exists()


def test_cli_separate_align_warp(tmp_path):
    r = run_cli("separate", data.demo_path("concerto"), "-o", tmp_path / "sep")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "sep" / "piano.wav").exists() and (tmp_path / "sep" / "orchestra.wav").exists()
    r = run_cli("align", tmp_path / "sep" / "piano.wav", data.demo_path("pianist"), "-o", tmp_path / "map.csv")
    assert r.returncode == 0, r.stderr
    assert "confidence" in r.stdout
    tm = io.load_time_map(tmp_path / "map.csv")
    assert np.median(evaluation.alignment_errors(tm, data.demo_onsets())) < 0.05
    r = run_cli("warp", tmp_path / "sep" / "orchestra.wav", "--map", tmp_path / "map.csv", "-o", tmp_path / "w.wav")
    assert r.returncode == 0, r.stderr
    info = sf.info(tmp_path / "w.wav")
    assert abs(info.frames - round(tm[-1, 1] * info.samplerate)) <= 1


def test_cli_refuses_to_overwrite_and_reports_bad_input(tmp_path):
    existing = tmp_path / "map.csv"
    existing.write_text("precious")
    r = run_cli("align", data.demo_path("piano"), data.demo_path("pianist"), "-o", existing)
    assert r.returncode == 2 and "exists already" in r.stderr and "Traceback" not in r.stderr
    assert existing.read_text() == "precious"
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("hello")
    r = run_cli("playalong", not_audio, data.demo_path("pianist"), "-o", tmp_path / "out")
    assert r.returncode == 2 and "not an audio file" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("warp", data.demo_path("piano"), "--map", data.demo_path("concerto"), "-o", tmp_path / "x.wav")
    assert r.returncode == 2 and "time map" in r.stderr
    # a map made for another recording
    short = tmp_path / "short.csv"
    io.save_time_map(short, np.array([[0.0, 0.0], [3.0, 4.0]]))
    r = run_cli("warp", data.demo_path("piano"), "--map", short, "-o", tmp_path / "y.wav")
    assert r.returncode == 2 and "made for this recording" in r.stderr
    assert not (tmp_path / "x.wav").exists() and not (tmp_path / "y.wav").exists()


def test_cli_never_writes_over_an_input(tmp_path):
    src = tmp_path / "piano.wav"
    sf.write(src, 0.1 * np.sin(np.arange(3 * 22050) / 7.0), 22050)
    with pytest.raises(Exception):
        io.check_output(src, force=True, inputs=[src])
    assert cli.main(["warp", str(src), "--map", str(data.demo_path("time_map")), "-o", str(src), "--force"]) == 2
