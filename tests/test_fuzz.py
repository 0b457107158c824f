"""Property tests over random short signals: whatever comes in, align/warp/mix give valid output or a clear error."""
import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from concerto_nb import io, mixing, sync, tsm

SR = 8000


def signal(seed, seconds, kind):
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    if kind == "noise":
        return (0.3 * rng.standard_normal(n)).astype(np.float32)
    if kind == "tones":
        f = rng.uniform(100, 1000, 3)
        return (0.2 * np.sin(2 * np.pi * f[:, None] * t).sum(0)).astype(np.float32)
    y = np.zeros(n, dtype=np.float32)  # clicks
    y[rng.integers(0, n, 20)] = 0.8
    return y


@st.composite
def time_maps(draw, duration):
    k = draw(st.integers(1, 5))
    ratios = draw(st.lists(st.floats(0.5, 2.0), min_size=k, max_size=k))
    ref = np.linspace(0, duration, k + 1)
    perf = np.concatenate([[0.0], np.cumsum(np.diff(ref) * ratios)])
    return np.stack([ref, perf], axis=1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), seconds=st.floats(0.3, 3.0), kind=st.sampled_from(["noise", "tones", "clicks"]),
       data=st.data(), method=st.sampled_from(["hps", "wsola", "pv"]))
def test_warp_output_has_the_mapped_length(seed, seconds, kind, data, method):
    y = signal(seed, seconds, kind)
    tm = data.draw(time_maps(len(y) / SR))
    out = tsm.warp(y, SR, tm, method=method)
    assert out.shape == (int(round(tm[-1, 1] * SR)),)
    assert np.all(np.isfinite(out))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), a=st.floats(0.1, 3.0), b=st.floats(0.1, 3.0),
       kinds=st.tuples(st.sampled_from(["noise", "tones", "clicks"]), st.sampled_from(["noise", "tones", "clicks"])),
       balance=st.floats(-20, 10), silent_orchestra=st.booleans())
def test_mix_is_finite_and_under_the_ceiling(seed, a, b, kinds, balance, silent_orchestra):
    piano = signal(seed, a, kinds[0])
    orchestra = np.zeros(int(b * SR), np.float32) if silent_orchestra else signal(seed + 1, b, kinds[1])
    out, levels = mixing.mix(piano, orchestra, SR, balance_db=balance)
    assert out.shape == (1, max(len(piano), len(orchestra)))
    assert np.all(np.isfinite(out)) and np.max(np.abs(out)) <= 10 ** (-0.9 / 20)
    assert all(np.isfinite(v) for v in levels.values())


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10**6), a=st.floats(2.5, 5.0), b=st.floats(2.5, 5.0),
       kinds=st.tuples(st.sampled_from(["noise", "tones", "clicks"]), st.sampled_from(["noise", "tones", "clicks"])))
@example(seed=40, a=3.0, b=3.0, kinds=("noise", "tones"))  # steady tones: no onset outside the last 60 ms
def test_align_returns_a_valid_map_for_any_pair(seed, a, b, kinds):
    ref22 = io.resample(signal(seed, a, kinds[0]), SR, sync.SYNC_SR)
    perf22 = io.resample(signal(seed + 7, b, kinds[1]), SR, sync.SYNC_SR)
    tm, details = sync.align(ref22, perf22, return_details=True)
    assert tm[0].tolist() == [0.0, 0.0]
    np.testing.assert_allclose(tm[-1], [len(ref22) / sync.SYNC_SR, len(perf22) / sync.SYNC_SR])
    assert np.all(np.diff(tm, axis=0) > 0)
    assert 0.0 <= details["confidence"] <= 1.0
