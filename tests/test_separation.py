import numpy as np
import pytest

from concerto_nb import evaluation, mixing, separation, sync


def test_hpss_baseline_beats_the_mixture_on_the_demo(demo22):
    mix, piano, orchestra = demo22["concerto"], demo22["piano"], demo22["orchestra"]
    piano_est, orchestra_est = separation.separate(mix, sync.SYNC_SR, method="hpss")
    # the estimates add back up to the mixture (masks sum to one, same phase)
    np.testing.assert_allclose(piano_est + orchestra_est, mix, atol=1e-3)
    # and each is closer to its true stem than the mixture itself is
    assert evaluation.sdr(piano, piano_est) > evaluation.sdr(piano, mix) + 0.2
    assert evaluation.sdr(orchestra, orchestra_est) > evaluation.sdr(orchestra, mix) + 0.2


def test_separate_keeps_channels_and_rejects_unknown_method(demo22):
    stereo = np.stack([demo22["concerto"][:22050 * 3], demo22["piano"][:22050 * 3]])
    piano, orchestra = separation.separate(stereo, sync.SYNC_SR)
    assert piano.shape == orchestra.shape == stereo.shape
    with pytest.raises(ValueError, match="hpss"):
        separation.separate(stereo, sync.SYNC_SR, method="magic")


def test_bss_eval_separates_bleed_from_artifacts(demo22):
    piano, orchestra = demo22["piano"][: 30 * 22050], demo22["orchestra"][: 30 * 22050]
    mix = evaluation.bss_eval([piano, orchestra], [piano + orchestra, piano + orchestra], 22050)
    bleed = evaluation.bss_eval([piano, orchestra], [piano + 0.1 * orchestra, orchestra + 0.1 * piano], 22050)
    # 20 dB less of the other source: SIR 20 dB higher; a sum of the sources has no artifacts
    np.testing.assert_allclose(np.subtract(bleed["sir"], mix["sir"]), 20.0, atol=0.5)
    assert min(mix["sar"] + bleed["sar"]) > 60
    # white noise 18 dB below the piano: SDR about that (a median over frames of different loudness)
    noise = 0.01 * np.random.default_rng(0).standard_normal(len(piano))
    snr = 10 * np.log10(np.mean(piano**2) / np.mean(noise**2))
    noisy = evaluation.bss_eval([piano, orchestra], [piano + noise, orchestra], 22050)
    assert abs(noisy["sdr"][0] - snr) < 3.0 and noisy["sdr"][0] < mix["sar"][0]


def test_band_oracle_loses_little_to_the_full_resolution_oracle(demo22):
    piano, orchestra = demo22["piano"][: 30 * 22050], demo22["orchestra"][: 30 * 22050]
    sdr = {n: evaluation.sdr(piano, evaluation.oracle_irm(piano, orchestra, n_bands=n)[0]) for n in (None, 128, 8)}
    # the network's 128 bands cost the oracle under 1.5 dB; 8 bands cannot follow the notes
    assert sdr[None] - 1.5 < sdr[128] < sdr[None]
    assert sdr[8] < sdr[128] - 3.0


def test_multichannel_wiener_uses_where_the_piano_sits(demo22):
    n = 30 * 22050
    piano, orchestra = mixing.pan(demo22["piano"][:n], -0.4), mixing.pan(demo22["orchestra"][:n], 0.3)
    mix = piano + orchestra
    p_mask, o_mask = separation.separate(mix, 22050)
    p_em, o_em = separation.separate(mix, 22050, reconstruction="em")
    assert p_em.shape == mix.shape
    np.testing.assert_allclose(p_em + o_em, mix, atol=1e-4)
    # the mask is the same on both channels; EM learns each source's inter-channel covariance
    assert evaluation.sdr(piano, p_em) > evaluation.sdr(piano, p_mask) + 1.0
    assert evaluation.sdr(orchestra, o_em) > evaluation.sdr(orchestra, o_mask) + 1.0
