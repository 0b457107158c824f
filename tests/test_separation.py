import numpy as np
import pytest

from concerto_nb import data, evaluation, mixing, model, separation, sync

SR = sync.SYNC_SR


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


def test_warped_pianist_follows_the_map_and_the_pitch():
    # a 440 Hz tone from 1 s to 2 s of the "pianist"; the map plays it at 0.5-1.0 s of the concerto, a semitone up
    t = np.arange(3 * SR) / SR
    tone = np.where((t > 1.0) & (t < 2.0), np.sin(2 * np.pi * 440 * t), 0.0)
    time_map = np.array([[0.0, 0.0], [0.5, 1.0], [1.0, 2.0], [1.5, 2.5]])
    P, covered = separation.warped_pianist(tone, SR, time_map, n_frames=80, cents=-100.0)
    frame_s = model.HOP / model.SR
    times = np.arange(80) * frame_s
    loud = P.max(axis=0) > 0.1 * P.max()
    assert times[loud].min() == pytest.approx(0.5, abs=0.1) and times[loud].max() == pytest.approx(1.0, abs=0.1)
    peak_hz = P[:, loud].sum(axis=1).argmax() * model.SR / model.N_FFT
    assert peak_hz == pytest.approx(440 * 2 ** (1 / 12), abs=6.0)  # a bin is 10.8 Hz
    assert covered[times <= 1.5].all() and not covered[times > 1.55].any()


def test_a_restart_map_reads_the_first_take():
    # the concerto's 0-1 s played twice by the pianist: 0-1 s and again 1-2 s (segments 0 and 1)
    t = np.arange(2 * SR) / SR
    first = np.where(t < 1.0, np.sin(2 * np.pi * 300 * t), np.sin(2 * np.pi * 600 * t))
    time_map = np.array([[0.0, 0.0, 0], [1.0, 1.0, 0], [0.0, 1.0, 1], [1.0, 2.0, 1]])
    P, covered = separation.warped_pianist(first, SR, time_map, n_frames=30)
    assert covered.all()
    assert P[:, 10:30].sum(axis=1).argmax() * model.SR / model.N_FFT == pytest.approx(300, abs=11)


def test_the_warped_pianist_plays_the_concertos_piano_notes(demo22):
    # along the true map the pianist's spectrogram (another piano, another room) follows the concerto's piano
    # stem frame by frame; 2 s late it does not
    import librosa

    piano = np.abs(librosa.stft(demo22["piano"], n_fft=model.N_FFT, hop_length=model.HOP))
    mel = model.band_basis(128)

    def match(time_map):
        P, covered = separation.warped_pianist(demo22["pianist"], SR, time_map, n_frames=piano.shape[1])
        a, b = (np.log(mel @ x + 1e-4) for x in (P[:, covered], piano[:, covered]))
        return np.corrcoef(a.ravel(), b.ravel())[0, 1]

    truth = data.demo_time_map()
    assert match(truth) > 0.8 and match(truth) > match(truth + [0.0, 2.0]) + 0.1
