import numpy as np
import pytest
import soundfile as sf

from concerto_nb import data, io


def test_load_resamples_and_downmixes(tmp_path):
    y, sr = io.load_audio(data.demo_path("concerto"))
    assert sr == 44100 and y.ndim == 1
    stereo = tmp_path / "stereo 24bit ü.wav"  # spaces and unicode in the path
    sf.write(stereo, np.stack([y[:sr], 0.5 * y[:sr]], axis=1), sr, subtype="PCM_24")
    y2, sr2 = io.load_audio(stereo, mono=False)
    assert y2.shape == (2, sr) and sr2 == sr
    y3, sr3 = io.load_audio(stereo, sr=8000)
    assert sr3 == 8000 and y3.shape == (8000,)
    np.testing.assert_allclose(y2[0], y[:sr], atol=1e-6)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"this is not audio at all" * 100, "not an audio file"),
        (b"", "not an audio file"),
    ],
)
def test_load_rejects_non_audio(tmp_path, content, message):
    path = tmp_path / "song.wav"
    path.write_bytes(content)
    with pytest.raises(io.AudioError, match=message):
        io.load_audio(path)


def test_load_rejects_silence_nan_missing(tmp_path):
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(22050), 22050)
    with pytest.raises(io.AudioError, match="silent"):
        io.load_audio(silent)
    nan = tmp_path / "nan.wav"
    y = np.sin(np.arange(22050) / 10.0)
    y[100] = np.nan
    sf.write(nan, y, 22050, subtype="FLOAT")
    with pytest.raises(io.AudioError, match="NaN"):
        io.load_audio(nan)
    with pytest.raises(io.AudioError, match="no such file"):
        io.load_audio(tmp_path / "missing.wav")
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0), 22050)
    with pytest.raises(io.AudioError, match="no audio samples"):
        io.load_audio(empty)


def test_save_never_overwrites_without_force(tmp_path):
    path = tmp_path / "out.wav"
    y = 0.1 * np.sin(np.arange(4410) / 5.0)
    io.save_audio(path, y, 44100)
    before = path.read_bytes()
    with pytest.raises(io.OutputExistsError, match="--force"):
        io.save_audio(path, 2 * y, 44100)
    assert path.read_bytes() == before
    io.save_audio(path, 2 * y, 44100, force=True)
    assert path.read_bytes() != before
    assert not list(tmp_path.glob("*.part"))


def test_interrupted_write_leaves_nothing(tmp_path):
    def write(tmp):
        open(tmp, "w").write("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        io.atomic_write(tmp_path / "out.wav", write)
    assert list(tmp_path.iterdir()) == []


def test_time_map_roundtrip_and_validation(tmp_path):
    tm = np.array([[0.0, 0.0], [1.0, 1.2], [2.5, 3.0]])
    path = io.save_time_map(tmp_path / "map.csv", tm)
    assert path.read_text().splitlines()[0] == "reference_s,performance_s"
    np.testing.assert_allclose(io.load_time_map(path), tm)
    bad = tmp_path / "bad.csv"
    bad.write_text("reference_s,performance_s\n0,0\n1,0.5\n0.5,1\n")
    with pytest.raises(ValueError, match="strictly increasing"):
        io.load_time_map(bad)
    bad.write_text("a,b\n0,0\n")
    with pytest.raises(ValueError, match="header"):
        io.load_time_map(bad)


def test_a_time_map_that_jumps_has_a_segment_column(tmp_path):
    restart = np.array([[0.0, 0.0, 0], [10.0, 10.0, 0], [5.0, 10.0, 1], [20.0, 25.0, 1]])
    path = io.save_time_map(tmp_path / "map.csv", restart)
    assert path.read_text().splitlines()[:2] == ["reference_s,performance_s,segment", "0.000000,0.000000,0"]
    np.testing.assert_allclose(io.load_time_map(path), restart)
    pieces = io.time_map_segments(restart)
    assert [p.tolist() for p in pieces] == [[[0, 0], [10, 10]], [[5, 10], [20, 25]]]
    for rows, message in [
        ([[0, 0, 0], [10, 10, 0], [5, 10, 2], [20, 25, 2]], "counts 0, 1, 2"),  # a segment number left out
        ([[0, 0, 0], [10, 10, 0], [5, 10, 1]], ">= 2 rows"),
        ([[0, 0, 0], [10, 10, 0], [5, 9, 1], [20, 25, 1]], "follow each other"),  # goes back in performance time
        ([[0, 0, 0], [10, 10, 0], [5, 10, 1], [4, 25, 1]], "strictly increasing"),
    ]:
        with pytest.raises(ValueError, match=message):
            io.check_time_map(np.array(rows, dtype=float))
