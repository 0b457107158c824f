import numpy as np

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
