import numpy as np

from concerto_nb import evaluation, separation, sync


def test_hpss_baseline_beats_the_mixture_on_the_demo(demo22):
    mix, piano, orchestra = demo22["concerto"], demo22["piano"], demo22["orchestra"]
    piano_est, orchestra_est = separation.separate(mix, sync.SYNC_SR)
    # the estimates add back up to the mixture (masks sum to one, same phase)
    np.testing.assert_allclose(piano_est + orchestra_est, mix, atol=1e-3)
    # and each is closer to its true stem than the mixture itself is
    assert evaluation.sdr(piano, piano_est) > evaluation.sdr(piano, mix) + 0.2
    assert evaluation.sdr(orchestra, orchestra_est) > evaluation.sdr(orchestra, mix) + 0.2


def test_separate_keeps_channels_and_rejects_unknown_method(demo22):
    stereo = np.stack([demo22["concerto"][:22050 * 3], demo22["piano"][:22050 * 3]])
    piano, orchestra = separation.separate(stereo, sync.SYNC_SR)
    assert piano.shape == orchestra.shape == stereo.shape
    try:
        separation.separate(stereo, sync.SYNC_SR, method="magic")
    except ValueError as e:
        assert "hpss" in str(e)
    else:
        raise AssertionError("unknown method accepted")
