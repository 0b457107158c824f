"""Hostile inputs and interrupted runs: one line and exit 2 before the work, inputs never written, outputs of a run
together or not at all, memory bounded by the audio's real length, and a Python API that checks what it is given."""
import errno
import json
import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import soundfile as sf

from concerto_nb import cli, data, io, mixing, pipeline, separation, sync, tsm


def cli_main(*args):
    """``concerto-nb ARGS`` in this process: (exit status, stderr lines)."""
    import contextlib
    import io as _io

    err = _io.StringIO()
    with contextlib.redirect_stderr(err), warnings.catch_warnings():
        code = cli.main([str(a) for a in args])
    return code, [line for line in err.getvalue().splitlines() if line.strip()]


def snapshot(folder):
    """Every file below ``folder`` (hidden ones too) with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def one_error_line(lines, *needles):
    errors = [line for line in lines if "error:" in line]
    assert len(errors) == 1 and not any("Traceback" in line for line in lines), lines
    for needle in needles:
        assert needle in errors[0], errors[0]


def test_align_never_writes_over_the_mixture(tmp_path, clip16):
    concerto, pianist, sr = clip16
    mixture = tmp_path / "m.wav"
    mixture.write_bytes(concerto.read_bytes())
    code, lines = cli_main("align", concerto, pianist, "--mixture", mixture, "-o", mixture, "--force")
    assert code == 2
    one_error_line(lines, "is one of the inputs")
    assert mixture.read_bytes() == concerto.read_bytes()
    link = tmp_path / "hard.wav"  # the same file under another name
    os.link(mixture, link)
    code, lines = cli_main("align", concerto, pianist, "--mixture", mixture, "-o", link, "--force")
    assert code == 2 and mixture.read_bytes() == concerto.read_bytes()


@pytest.mark.parametrize("rate", [5, 1000, 120])
def test_a_header_with_a_tiny_sample_rate_is_refused_at_once(tmp_path, clip16, rate):
    concerto, pianist, _ = clip16
    y, _ = sf.read(pianist)
    odd = tmp_path / f"p{rate}.wav"
    sf.write(odd, y, rate)  # the same samples, a header that says `rate` Hz
    t0 = time.perf_counter()
    code, lines = cli_main("playalong", concerto, odd, "-o", tmp_path / "out", "-q", "--accept-low-confidence")
    assert code == 2 and time.perf_counter() - t0 < 30
    one_error_line(lines, f"{rate} Hz", "header")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("rows, message", [
    ("0,0\n16,3600\n", "slows the audio down 225.0x"),
    ("0,0\n8,nan\n16,16\n", "NaN or infinite"),
    ("0,0\n16,inf\n", "NaN or infinite"),
    ("0,0\n16,1e9\n", "between 0 and"),
    ("0,0\n16,1e-6\n", "no output"),
])
def test_maps_that_ask_for_the_impossible_get_one_line(tmp_path, clip16, rows, message):
    concerto, _, _ = clip16
    bad = tmp_path / "map.csv"
    bad.write_text("reference_s,performance_s\n" + rows)
    code, lines = cli_main("warp", concerto, "--map", bad, "-o", tmp_path / "w.wav")
    assert code == 2
    one_error_line(lines, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.csv"]


def test_a_map_that_starts_late_starts_the_output_late(tmp_path):
    sr = 8000
    y = (0.5 * np.sin(2 * np.pi * 440 * np.arange(4 * sr) / sr)).astype(np.float32)
    out = tsm.warp(y, sr, np.array([[0.0, 1.5], [4.0, 5.5]]))
    assert out.shape == (int(5.5 * sr),)
    assert np.max(np.abs(out[: int(1.5 * sr) - 512])) == 0  # silence until the map's first performance time
    assert np.std(out[int(2 * sr): int(5 * sr)]) > 0.3  # then the tone, at its own speed
    late = tsm.warp(y, sr, np.array([[1.0, 0.0], [4.0, 3.0]]))  # reference from 1 s on
    assert late.shape == (3 * sr,)


def test_a_long_pause_in_the_map_is_warped_in_bounded_pieces():
    """A map that holds one moment for 50 s (the pianist stops) reads the same input position many times over:
    the phase vocoder's analysis hop is then 0, which divided by zero, and the output was one piece."""
    sr = 22050
    t = np.arange(16 * sr) / sr
    y = np.stack([0.3 * np.sin(2 * np.pi * 330 * t), 0.3 * np.sin(2 * np.pi * 440 * t)]).astype(np.float32)
    pause = np.array([[0.0, 0.0], [8.0, 8.0], [8.05, 60.0], [16.0, 68.0]])
    out = tsm.warp(y, sr, pause, chunk_s=10.0)
    assert out.shape == (2, 68 * sr) and np.all(np.isfinite(out))
    held = out[:, 20 * sr: 50 * sr]  # the held moment keeps sounding, at its pitch
    assert np.all(np.std(held, axis=1) > 0.1)


def test_bad_mix_settings_are_refused_before_any_work(tmp_path, clip16):
    concerto, pianist, _ = clip16
    for option, value in (("--balance-db", "nan"), ("--balance-db", "1e6"), ("--balance-db", "inf"),
                          ("--reverb", "5")):
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "concerto_nb.cli", "playalong", str(concerto), str(pianist),
                            "-o", str(tmp_path / "o"), option, value], capture_output=True, text=True)
        assert r.returncode == 2 and "outside" in r.stderr and "Traceback" not in r.stderr
        assert time.perf_counter() - t0 < 20 and not (tmp_path / "o").exists()
    with pytest.raises(ValueError, match="balance_db"):
        mixing.mix(np.ones(100), np.ones(100), 8000, balance_db=float("nan"))
    with pytest.raises(ValueError, match="reverb"):
        pipeline.playalong(concerto, pianist, tmp_path / "o", reverb=5.0, progress=False)


@pytest.mark.parametrize("command", ["separate", "playalong", "warp"])
def test_output_paths_of_the_wrong_kind_are_refused_first(tmp_path, clip16, command):
    concerto, pianist, _ = clip16
    a_file, a_folder = tmp_path / "taken", tmp_path / "x.wav"
    a_file.write_text("precious")
    a_folder.mkdir()
    io.save_time_map(tmp_path / "map.csv", np.array([[0.0, 0.0], [16.0, 17.0]]))
    if command == "warp":
        args = [["warp", concerto, "--map", tmp_path / "map.csv", "-o", a_folder, "--force"],
                ["warp", concerto, "--map", tmp_path / "map.csv", "-o", tmp_path / "out.mp3"]]
    else:
        extra = [pianist] if command == "playalong" else ["--method", "hpss"]
        args = [[command, concerto, *extra, "-o", a_file, "--force"]]
    for arg in args:
        code, lines = cli_main(*arg)
        assert code == 2
        one_error_line(lines)
    assert a_file.read_text() == "precious" and a_folder.is_dir() and not list(a_folder.iterdir())
    assert not (tmp_path / "out.mp3").exists()


def test_a_long_legal_output_name_is_written(tmp_path, clip16):
    concerto, _, _ = clip16
    io.save_time_map(tmp_path / "map.csv", np.array([[0.0, 0.0], [16.0, 17.0]]))
    name = "a" * (250 - len(".wav")) + ".wav"  # 250 bytes: legal; a temporary name built on it was not
    code, lines = cli_main("warp", concerto, "--map", tmp_path / "map.csv", "-o", tmp_path / name)
    assert code == 0, lines
    assert sf.info(tmp_path / name).duration == pytest.approx(17.0, abs=1e-3)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["map.csv", name])


def test_a_failed_write_leaves_the_old_outputs_and_no_stray_files(tmp_path, clip16, monkeypatch):
    """A full disk (or any failure, or Ctrl-C) while the outputs are written: the folder is as it was."""
    concerto, pianist, _ = clip16
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipeline.playalong(concerto, pianist, out, progress=False, balance_db=-3.0)
    before = snapshot(out)
    real_write = sf.SoundFile.write
    calls = []

    def full_disk(self, data):
        calls.append(1)
        if len(calls) > 20:  # the second output (16 one-second blocks each), part way
            raise sf.LibsndfileError(errno.ENOSPC, "System error.")
        return real_write(self, data)

    monkeypatch.setattr(sf.SoundFile, "write", full_disk)
    code, lines = cli_main("playalong", concerto, pianist, "-o", out, "--force", "--balance-db", "0", "-q")
    assert code == 2
    one_error_line(lines, f"{out / 'mix.wav'}: cannot write")
    assert snapshot(out) == before
    for stop in (KeyboardInterrupt, OSError(errno.EACCES, "Permission denied")):
        def interrupted(self, data, stop=stop):
            raise stop
        monkeypatch.setattr(sf.SoundFile, "write", interrupted)
        code, lines = cli_main("playalong", concerto, pianist, "-o", out, "--force", "--balance-db", "0", "-q")
        assert code in (2, 130) and snapshot(out) == before
        assert any("interrupted" in line or "cannot write" in line for line in lines)
    code, lines = cli_main("playalong", concerto, pianist, "-o", tmp_path / "new", "--balance-db", "0", "-q")
    assert code == 2 and not (tmp_path / "new").exists()  # a folder this run made goes again


def test_sigterm_at_any_moment_leaves_all_outputs_or_none(tmp_path, clip16):
    concerto, pianist, _ = clip16
    for delay in (0.05, 2.0, 5.0):
        out = tmp_path / f"out{delay}"
        proc = subprocess.Popen([sys.executable, "-m", "concerto_nb.cli", "playalong", str(concerto), str(pianist),
                                 "-o", str(out), "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
        assert "Traceback" not in err
        # interrupted (143; at 50 ms it may also be killed before concerto-nb has started, -15), or finished
        assert proc.returncode in (0, 143) and ("interrupted" in err) == (proc.returncode == 143) or \
            delay < 0.1 and proc.returncode == -15
        # all four outputs or none, whenever the signal came
        assert not out.exists() or sorted(p.name for p in out.iterdir()) == sorted(pipeline.OUTPUTS)


def test_a_signal_a_library_turns_into_its_own_error_reads_as_interrupted(tmp_path, clip16, monkeypatch):
    """numba, compiling when SIGTERM came, caught the interruption and raised "RuntimeError: no compiled object
    yet": the run must still end as interrupted (143), without a traceback, and write nothing."""
    concerto, pianist, _ = clip16

    def separate_cut_short(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises at the next bytecode, long before this ends
        except KeyboardInterrupt:
            raise RuntimeError("no compiled object yet for <Library '_localmax'>") from None
        raise AssertionError("SIGTERM was not raised")

    monkeypatch.setattr(separation, "separate", separate_cut_short)
    code, lines = cli_main("playalong", concerto, pianist, "-o", tmp_path / "out", "-q")
    assert code == 143 and lines == ["concerto-nb: interrupted; no partial output was written"]
    assert not (tmp_path / "out").exists()


def test_float_audio_above_full_scale_is_scaled_not_clipped(tmp_path, clip16):
    concerto, _, sr = clip16
    y, _ = io.load_audio(concerto)
    loud = tmp_path / "loud.wav"
    sf.write(loud, 2.74 * y / np.max(np.abs(y)), sr, subtype="FLOAT")
    with pytest.warns(UserWarning, match=r"reach \+8.8 dBFS; scaled") as record:
        z, _ = io.load_audio(loud)
    assert not any("clipped" in str(w.message) for w in record)
    assert np.max(np.abs(z)) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(z, y / np.max(np.abs(y)), atol=1e-6)


def test_a_dc_offset_is_removed_so_the_balance_holds(tmp_path, clip16):
    concerto, pianist, sr = clip16
    y, _ = io.load_audio(pianist)
    offset = tmp_path / "dc.wav"
    sf.write(offset, 0.6 * y + 0.4, sr, subtype="FLOAT")
    with pytest.warns(UserWarning, match="DC offset of 0.400"):
        z, _ = io.load_audio(offset)
    assert abs(float(np.mean(z))) < 1e-4
    assert mixing.loudness_db(z, sr) == pytest.approx(mixing.loudness_db(0.6 * y, sr), abs=0.1)


def test_a_steady_tone_is_not_music():
    sr = sync.SYNC_SR
    t = np.arange(10 * sr) / sr
    rng = np.random.default_rng(0)
    not_music = {"sine": 0.5 * np.sin(2 * np.pi * 440 * t),
                 "chord": sum(0.2 * np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)),
                 "noise": 0.3 * rng.standard_normal(len(t))}
    for name, y in not_music.items():
        assert sync.chroma_variety(y.astype(np.float32), sr) < sync.MIN_CHROMA_VARIETY / 4, name
    for name in ("concerto", "piano", "pianist"):
        y, _ = io.load_audio(data.demo_path(name), sr=sr)
        assert sync.chroma_variety(y, sr) > 5 * sync.MIN_CHROMA_VARIETY, name


def test_a_sine_as_the_pianist_is_refused_before_separation(tmp_path, clip16):
    concerto, _, sr = clip16
    sine = tmp_path / "sine.wav"
    sf.write(sine, 0.5 * np.sin(2 * np.pi * 440 * np.arange(16 * sr) / sr), sr)
    t0 = time.perf_counter()
    code, lines = cli_main("playalong", concerto, sine, "-o", tmp_path / "o", "-q", "--accept-low-confidence")
    assert code == 2 and time.perf_counter() - t0 < 20
    one_error_line(lines, "sine.wav", "does not sound like music")


def test_a_pianist_far_longer_than_the_concerto_is_refused_before_separation(tmp_path, clip16):
    concerto, pianist, sr = clip16
    y, _ = io.load_audio(pianist)
    padded = tmp_path / "long.wav"
    sf.write(padded, np.concatenate([y, 1e-3 * np.sin(np.arange(150 * sr) / 3.0)]), sr)
    code, lines = cli_main("playalong", concerto, padded, "-o", tmp_path / "o", "-q", "--accept-low-confidence")
    assert code == 2
    one_error_line(lines, "more than 8x")


def test_damaged_mp3_is_named_damaged(tmp_path, clip16):
    concerto, _, sr = clip16
    y, _ = io.load_audio(concerto)
    mp3 = tmp_path / "c.mp3"
    sf.write(mp3, y, sr, subtype="MPEG_LAYER_III")
    whole = mp3.read_bytes()
    rng = np.random.default_rng(1)
    for keep in (400, 2048, len(whole) // 2):
        damaged = tmp_path / f"d{keep}.mp3"
        damaged.write_bytes(whole[:keep] + rng.integers(0, 256, len(whole) - keep, dtype=np.uint8).tobytes())
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            try:
                io.load_audio(damaged)
            except io.AudioError as e:  # nothing decodable, or the little that was is silent
                assert "not an audio file" in str(e) or any("damaged" in str(w.message) for w in record), e
                assert "does not exist" not in str(e)
            else:
                assert any("damaged data" in str(w.message) for w in record), keep


def test_separate_and_adapt_refuse_what_they_cannot_use(tmp_path, clip16):
    concerto, _, sr = clip16
    one = tmp_path / "one.wav"
    sf.write(one, np.array([0.5]), sr)
    code, lines = cli_main("separate", one, "-o", tmp_path / "s", "--adapt")
    assert code == 2
    one_error_line(lines, "at least 3 s")
    code, lines = cli_main("separate", concerto, "-o", tmp_path / "s", "--piano-only", "100-120", "--method", "hpss")
    assert code == 2
    one_error_line(lines, "outside the recording")
    assert not (tmp_path / "s").exists()


def test_the_api_reads_soundfile_arrays_and_integers(clip16):
    concerto, pianist, sr = clip16
    stereo, _ = sf.read(concerto, dtype="float32", always_2d=True)  # (n, 1): soundfile's layout
    stereo = np.repeat(stereo, 2, axis=1)  # (n, 2)
    with pytest.warns(UserWarning, match="transposed"):
        piano, orchestra = separation.separate(stereo[: 4 * sr], sr, method="hpss")
    assert piano.shape == (2, 4 * sr)
    reference, _ = separation.separate(stereo[: 4 * sr].T, sr, method="hpss")
    np.testing.assert_allclose(piano, reference, atol=1e-6)
    ints, _ = sf.read(concerto, dtype="int16")
    floats, _ = sf.read(concerto, dtype="float32")
    with pytest.warns(UserWarning, match="transposed"):
        out, _ = mixing.mix(np.stack([ints, ints], axis=1), floats, sr)
    assert out.shape == (2, len(floats))
    from concerto_nb._arrays import check_audio

    np.testing.assert_allclose(check_audio(ints), floats, atol=1e-6)
    for bad_sr in (0, 100, 190, 44100.5, float("nan")):
        with pytest.raises(ValueError, match="sr"):
            mixing.mix(floats, floats, bad_sr)
    with pytest.raises(ValueError, match="NaN"):
        tsm.warp(np.full(sr, np.nan), sr, np.array([[0.0, 0.0], [1.0, 1.0]]))
    ref22 = io.resample(floats, sr, sync.SYNC_SR)
    with pytest.warns(UserWarning, match="transposed"):
        tm = sync.align(np.stack([ref22, ref22], axis=1), ref22)
    assert tm.shape[1] == 2 and tm[-1, 0] == pytest.approx(len(ref22) / sync.SYNC_SR)


def test_report_and_outputs_with_force_are_all_new(tmp_path, clip16):
    concerto, pianist, _ = clip16
    out = tmp_path / "out"
    for balance in ("-3", "-9"):
        code, lines = cli_main("playalong", concerto, pianist, "-o", out, "--force", "--balance-db", balance, "-q")
        assert code == 0, lines
    report = json.loads((out / "report.json").read_text())
    assert report["levels"]["orchestra_db"] == pytest.approx(report["levels"]["piano_db"] - 9, abs=0.5)
    assert sorted(p.name for p in out.iterdir()) == sorted(pipeline.OUTPUTS)


def test_a_concerto_whose_header_halves_its_rate_is_named(tmp_path, clip16):
    """44.1 kHz audio under a 22.05 kHz header plays an octave low and half as fast: the alignment follows the
    tempo (chroma has no octaves), so only the pitch profile can tell."""
    concerto, pianist, sr = clip16
    y, _ = sf.read(concerto)
    halved = tmp_path / "halved.wav"
    sf.write(halved, y, sr // 2)
    out = tmp_path / "out"
    code, lines = cli_main("playalong", halved, pianist, "-o", out, "-q")
    report = json.loads((out / "report.json").read_text())
    assert code == 0 and report["alignment"]["pitch_offset_semitones"] == -12
    assert any("halved.wav sounds an octave below" in w and "44100 Hz" in w for w in report["warnings"]), report
    code, lines = cli_main("playalong", concerto, pianist, "-o", tmp_path / "as_is", "-q")
    report = json.loads((tmp_path / "as_is" / "report.json").read_text())
    assert code == 0 and report["alignment"]["pitch_offset_semitones"] == 0
    assert not any("octave" in w for w in report["warnings"]), report


def test_an_interruption_a_finaliser_dropped_still_stops_the_run(tmp_path):
    """SIGTERM's exception raised inside a ``__del__`` (llvmlite's, while numba compiles) is printed and dropped by
    Python; the run must still stop before its outputs are moved into place."""
    from concerto_nb import _signals

    class Finaliser:
        def __del__(self):
            raise _signals.Terminated()

    with _signals.interruptible():
        with pytest.raises(_signals.Terminated):
            with io.OutputFolder(tmp_path / "out", ["a.wav"]) as out:
                io.save_audio(out.path("a.wav"), np.zeros(800), 8000)
                Finaliser()  # made and finalised at once: its exception goes to sys.unraisablehook
    assert not (tmp_path / "out").exists()
