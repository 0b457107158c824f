"""Property tests of the command line over hostile files: WAV headers with any rate, channel count or damaged field,
any length, and time maps with any numbers. Whatever comes in, `concerto-nb` exits 0 with its output, or 2 with one
line; it never writes an input, and leaves no stray file."""
import contextlib
import io as _io
import struct
import warnings

import numpy as np
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from concerto_nb import cli

RATES = [0, 1, 5, 120, 1000, 3999, 4000, 8000, 22050, 44100, 96000, 768001, 2**31 - 1]


def cli_main(*args):
    err = _io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(_io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = cli.main([str(a) for a in args])
    return code, [line for line in err.getvalue().splitlines() if line.strip()]


@st.composite
def wav_files(draw):
    """(bytes of a WAV file, its nominal duration in s): gliding chords, then a header field perhaps rewritten
    (sound files that load, half of the time)."""
    rate = draw(st.sampled_from([8000, 22050, 44100]))
    channels = draw(st.integers(1, 4))
    seconds = draw(st.sampled_from([2.5, 4.0, 2.5, 4.0, 0.0, 0.001, 0.5]))
    subtype = draw(st.sampled_from(["PCM_16", "PCM_U8", "FLOAT", "PCM_24"]))
    scale = draw(st.sampled_from([0.3, 0.3, 0.3, 3.0, 0.0, 1e-6]))
    n = int(seconds * rate)
    t = np.arange(n) / rate
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    f = rng.uniform(110, 880, (channels, 3))
    y = scale * np.sin(2 * np.pi * f[:, :, None] * (t * (1 + t / 4))).mean(axis=1)  # gliding chords
    y += scale * 0.05 * rng.standard_normal(y.shape)
    if subtype != "FLOAT":
        y = np.clip(y, -1, 1)
    buf = _io.BytesIO()
    sf.write(buf, y.T, rate, format="WAV", subtype=subtype)
    data = bytearray(buf.getvalue())
    field = draw(st.sampled_from(["none", "none", "none", "none", "rate", "channels", "byte", "truncate"]))
    if field == "rate":  # the fmt chunk's sample rate (offset 24) and byte rate (28) as a tool would write them
        rate = draw(st.sampled_from(RATES))
        data[24:28] = struct.pack("<I", rate)
    elif field == "channels":
        data[22:24] = struct.pack("<H", draw(st.sampled_from([0, 2, 3, 255, 65535])))
    elif field == "byte":
        where = draw(st.integers(0, min(len(data), 64) - 1))
        data[where] = draw(st.integers(0, 255))
    elif field == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data), seconds


@st.composite
def map_files(draw, seconds):
    """The text of a time map CSV: sensible rows, or rows with NaN, inf, negatives, huge or tiny numbers."""
    k = draw(st.integers(1, 5))
    numbers = st.one_of(st.floats(0, 10), st.sampled_from([float("nan"), float("inf"), -1.0, 1e-9, 1e9, 3600.0]))
    rows = [(0.0, 0.0)] + [(draw(numbers), draw(numbers)) for _ in range(k)]
    if draw(st.booleans()):  # or a plausible map over the audio
        rows = [(0.0, draw(st.sampled_from([0.0, 0.5]))), (seconds / 2, draw(st.floats(0.2, 15.0)))]
        rows.append((seconds, rows[-1][1] + draw(st.floats(0.1, 15.0))))
    return "reference_s,performance_s\n" + "".join(f"{a},{b}\n" for a, b in rows)


def check(tmp_path, args, inputs, outputs_allowed):
    before = {p: p.read_bytes() for p in inputs}
    code, lines = cli_main(*args)
    assert code in (0, 2), (code, lines)
    assert not any("Traceback" in line for line in lines), lines
    if code == 2:
        assert len([line for line in lines if "error:" in line]) == 1, lines
    for p, content in before.items():
        assert p.read_bytes() == content, f"{p} was written"
    left = {p.name for p in tmp_path.rglob("*")} - {p.name for p in inputs}
    assert left <= outputs_allowed, left
    return code


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(audio=wav_files(), data=st.data(), method=st.sampled_from(["hps", "wsola", "pv", "ola"]))
def test_warp_takes_any_file_and_any_map(tmp_path_factory, audio, data, method):
    tmp_path = tmp_path_factory.mktemp("warp")
    wav, csv = tmp_path / "in.wav", tmp_path / "map.csv"
    wav.write_bytes(audio[0])
    csv.write_text(data.draw(map_files(audio[1])))
    code = check(tmp_path, ["warp", wav, "--map", csv, "-o", tmp_path / "out.wav", "--method", method],
                 [wav, csv], {"out.wav"})
    if code == 0:
        assert sf.info(tmp_path / "out.wav").frames > 0


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reference=wav_files(), performance=wav_files())
def test_align_takes_any_pair_of_files(tmp_path_factory, reference, performance):
    tmp_path = tmp_path_factory.mktemp("align")
    ref, perf = tmp_path / "ref.wav", tmp_path / "perf.wav"
    ref.write_bytes(reference[0])
    perf.write_bytes(performance[0])
    check(tmp_path, ["align", ref, perf, "--mixture", ref, "-o", tmp_path / "map.csv"], [ref, perf], {"map.csv"})


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(audio=wav_files(), adapt=st.booleans())
def test_separate_takes_any_file(tmp_path_factory, audio, adapt):
    tmp_path = tmp_path_factory.mktemp("separate")
    wav = tmp_path / "mix.wav"
    wav.write_bytes(audio[0])
    args = ["separate", wav, "-o", tmp_path / "sep"] + (["--adapt"] if adapt else ["--method", "hpss"])
    code = check(tmp_path, args, [wav], {"sep", "piano.wav", "orchestra.wav"})
    assert (tmp_path / "sep").exists() == (code == 0)
