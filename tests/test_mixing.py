import numpy as np

from concerto_nb import mixing


def test_mix_balances_loudness_and_respects_the_ceiling(demo22):
    sr = 22050
    piano, orchestra = demo22["pianist"], 3.0 * demo22["orchestra"]
    for balance in (-6.0, 0.0):
        out, levels = mixing.mix(piano, orchestra, sr, balance_db=balance, ceiling_db=-1.0)
        assert abs(levels["orchestra_db"] - levels["piano_db"] - balance) < 0.2
        assert 20 * np.log10(np.max(np.abs(out))) <= -0.9
        assert out.shape == (1, max(len(piano), len(orchestra)))


def test_mix_reverb_is_shared_and_dry_is_dry():
    sr = 22050
    click = np.zeros(sr)
    click[100] = 0.5
    dry, _ = mixing.mix(click, np.zeros(sr), sr, reverb=0.0, eq=False)
    wet, _ = mixing.mix(click, np.zeros(sr), sr, reverb=0.5, eq=False)
    tail = slice(sr // 4, sr)  # a quarter second after the click
    assert np.sum(wet[0, tail] ** 2) > 100 * np.sum(dry[0, tail] ** 2)
