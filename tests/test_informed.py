"""Informed separation: the pianist's recording, aligned, corrects the blind network's mask (concerto_nb.informed)."""
import numpy as np
import pytest

from concerto_nb import data, evaluation, io, separation

from test_cli import run_cli

SR = 22050


@pytest.fixture(scope="module")
def demo():
    audio = {name: io.load_audio(data.demo_path(name), sr=SR)[0] for name in ("concerto", "piano", "pianist")}
    audio["blind"] = separation.separate(audio["concerto"], SR)[0]
    return audio


def test_informed_separation_beats_blind_on_the_demo_only_with_the_right_pianist(demo):
    concerto, piano, pianist = demo["concerto"], demo["piano"], demo["pianist"]
    orchestra = concerto - piano
    true_map = data.demo_time_map()

    def scores(estimate):
        return evaluation.sdr(piano, estimate), evaluation.sdr(orchestra, concerto - estimate)

    blind = scores(demo["blind"])
    informed = scores(separation.separate(concerto, SR, pianist=pianist, time_map=true_map, pianist_cents=0.0)[0])
    # the same pianist two seconds late: other notes in every frame
    late = scores(separation.separate(concerto, SR, pianist=pianist, time_map=true_map + [0.0, 2.0],
                                      pianist_cents=0.0)[0])
    assert informed[0] > blind[0] + 0.25 and informed[1] > blind[1] + 0.25
    assert late[0] < informed[0] - 0.25


def test_frames_the_pianist_did_not_play_keep_the_blind_separation(demo):
    concerto, pianist = demo["concerto"], demo["pianist"]
    played = data.demo_time_map()
    played = played[(played[:, 0] >= 20.0) & (played[:, 0] <= 40.0)]  # the pianist recorded 20-40 s only
    estimate = separation.separate(concerto, SR, pianist=pianist, time_map=played, pianist_cents=0.0)[0]
    outside = np.r_[0: 19 * SR, 41 * SR: len(concerto)]
    inside = np.r_[21 * SR: 39 * SR]
    assert np.allclose(estimate[outside], demo["blind"][outside], atol=1e-5)
    assert not np.allclose(estimate[inside], demo["blind"][inside], atol=1e-3)


def test_informed_separation_refuses_what_it_cannot_use(demo):
    concerto, pianist = demo["concerto"], demo["pianist"]
    with pytest.raises(ValueError, match="needs method 'model'"):
        separation.separate(concerto, SR, method="hpss", pianist=pianist)
    with pytest.raises(ValueError, match="made for this recording"):
        separation.separate(concerto[: 10 * SR], SR, pianist=pianist, time_map=data.demo_time_map())


def test_cli_separates_with_the_pianist(tmp_path, demo):
    r = run_cli("separate", data.demo_path("concerto"), "-o", tmp_path / "sep", "--pianist", data.demo_path("pianist"),
                "--map", data.demo_path("time_map"))
    assert r.returncode == 0, r.stderr
    piano, sr = io.load_audio(tmp_path / "sep" / "piano.wav", mono=False)
    orchestra, _ = io.load_audio(tmp_path / "sep" / "orchestra.wav", mono=False)
    concerto, _ = io.load_audio(data.demo_path("concerto"), mono=False)
    assert np.allclose(piano + orchestra, concerto, atol=1e-3)
    truth, _ = io.load_audio(data.demo_path("piano"), sr=sr)
    blind = io.resample(demo["blind"], SR, sr)
    assert evaluation.sdr(truth, io.to_mono(piano)) > evaluation.sdr(truth, blind[: len(truth)]) + 0.25
    r = run_cli("separate", data.demo_path("concerto"), "-o", tmp_path / "no", "--map", data.demo_path("time_map"))
    assert r.returncode == 2 and "give --pianist too" in r.stderr and not (tmp_path / "no").exists()
