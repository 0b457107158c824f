"""The trained separation network: shipped, better than the baseline, deterministic, reproducible."""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from concerto_nb import adaptation, data, evaluation, mixes as random_mixes, model, separation, sync

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import train  # noqa: E402  (scripts/train.py)

from conftest import SHARED

#: The recipe's concertos, before :func:`few_training_pieces` narrows them.
ALL_TRAIN_PIECES = list(train.TRAIN_PIECES)


@pytest.fixture(scope="module")
def training_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("training_cache")


@pytest.fixture
def few_training_pieces(monkeypatch, training_cache):
    """The training recipe on a few minutes of its material, rendered into a cache of its own (returned): the
    three soundfonts, one concerto movement with a held-out window, and three corpus works (an ensemble, a clarinet
    and piano, a piano piece) cut at 30 s. All of it takes about 10 minutes to render; ``scripts/train.py`` renders
    it once into ``data/cache``."""
    corpus = ("corelli/opus3no1/1grave.xml", "weber/concertino_clarinet", "chopin/mazurka06-2.krn")
    monkeypatch.setattr(train, "TRAIN_PIECES", ["Bach_BWV1055_mov1-allegro.mid"])
    monkeypatch.setattr(train, "CORPUS_WORKS", {work: train.CORPUS_WORKS[work] for work in corpus})
    monkeypatch.setattr(train, "CORPUS_MAX_S", 30.0)
    return training_cache


def test_shipped_weights_are_small_and_load():
    assert model.WEIGHTS.stat().st_size < 5e6
    net = model.load_model()
    assert sum(p.numel() for p in net.parameters()) < 2e6


def test_model_beats_hpss_on_held_out_piece(demo22):
    mix, piano, orchestra = demo22["concerto"], demo22["piano"], demo22["orchestra"]
    p_hpss, o_hpss = separation.separate(mix, sync.SYNC_SR, method="hpss")
    p_net, o_net = separation.separate(mix, sync.SYNC_SR, method="model")
    np.testing.assert_allclose(p_net + o_net, mix, atol=1e-4)
    assert evaluation.sdr(piano, p_net) > evaluation.sdr(piano, p_hpss) + MARGIN_DB
    assert evaluation.sdr(orchestra, o_net) > evaluation.sdr(orchestra, o_hpss) + MARGIN_DB
    # the Wiener gain trades a little SDR for less bleed, but stays well above the baseline
    p_w, _ = separation.separate(mix, sync.SYNC_SR, method="model", reconstruction="wiener")
    assert evaluation.sdr(piano, p_w) > evaluation.sdr(piano, p_hpss) + MARGIN_DB / 2


MARGIN_DB = 3.0


def test_model_separation_is_deterministic_and_stereo(demo22):
    mix = demo22["concerto"][: 20 * sync.SYNC_SR]
    a = separation.separate(mix, sync.SYNC_SR)[0]
    b = separation.separate(mix, sync.SYNC_SR)[0]
    np.testing.assert_array_equal(a, b)
    stereo = np.stack([mix, 0.5 * mix])
    p, o = separation.separate(stereo, sync.SYNC_SR)
    assert p.shape == stereo.shape
    np.testing.assert_allclose(p + o, stereo, atol=1e-4)


def test_saved_weights_load_as_they_were_and_a_rewritten_file_is_loaded_again(tmp_path):
    torch.manual_seed(0)
    net = model.MaskNet(hidden=16).eval()
    path = model.save_model(net, tmp_path / "w.pt")
    loaded = model.load_model(path)
    assert loaded.config == {"n_bands": 128, "hidden": 16} and model.load_model(path) is loaded
    mag = torch.rand(1, 40, model.N_BINS)
    with torch.no_grad():
        torch.testing.assert_close(loaded(mag), net.half().float()(mag), atol=1e-3, rtol=0)
    torch.manual_seed(1)
    model.save_model(model.MaskNet(hidden=8), path)  # what a new training writes over the old file
    assert model.load_model(path).config["hidden"] == 8


def test_training_is_reproducible_and_resumable(tmp_path, few_training_pieces):
    kwargs = dict(steps=4, batch_size=2, seed=3, progress=False, log_every=2, cache_dir=few_training_pieces)
    a = train.train(SHARED, out_path=tmp_path / "a.pt", checkpoint=tmp_path / "ck_a.pt", **kwargs)
    # the same run, interrupted after 2 steps and resumed from its checkpoint
    b1 = train.train(SHARED, out_path=tmp_path / "b.pt", checkpoint=tmp_path / "ck_b.pt", stop_after=2, **kwargs)
    assert len(b1["history"]) == 2
    b = train.train(SHARED, out_path=tmp_path / "b.pt", checkpoint=tmp_path / "ck_b.pt", **kwargs)
    assert b["history"] == a["history"] and len(a["history"]) == 4
    wa, wb = torch.load(tmp_path / "a.pt"), torch.load(tmp_path / "b.pt")
    assert all(torch.equal(wa[k], wb[k]) for k in wa if k != "_config")
    assert model.load_model(tmp_path / "b.pt") is not None
    # batches made in turn by the training process instead of ahead by a worker: the same run
    d = train.train(SHARED, out_path=tmp_path / "d.pt", checkpoint=tmp_path / "ck_d.pt", workers=0, **kwargs)
    assert d["history"] == a["history"]
    wd = torch.load(tmp_path / "d.pt")
    assert all(torch.equal(wa[k], wd[k]) for k in wa if k != "_config")
    # a smaller core is a different run (its own checkpoint): its configuration lands in the weights
    c = train.train(SHARED, out_path=tmp_path / "c.pt", checkpoint=tmp_path / "ck_c.pt", hidden=32, **kwargs)
    assert model.load_model(tmp_path / "c.pt").config["hidden"] == 32 and c["history"] != a["history"]


def test_informed_training_is_reproducible_and_resumable(tmp_path, few_training_pieces):
    import train_informed  # scripts/train_informed.py

    from concerto_nb import informed

    kwargs = dict(steps=2, batch_size=2, seed=1, progress=False, cache_dir=few_training_pieces, workers=0, threads=1)
    a = train_informed.train_informed(tmp_path / "a.pt", checkpoint=tmp_path / "ck_a.pt", **kwargs)
    # the same run, interrupted after a step and resumed from its checkpoint
    train_informed.train_informed(tmp_path / "b.pt", checkpoint=tmp_path / "ck_b.pt", stop_after=1, **kwargs)
    assert not (tmp_path / "b.pt").exists()
    b = train_informed.train_informed(tmp_path / "b.pt", checkpoint=tmp_path / "ck_b.pt", **kwargs)
    assert b["history"] == a["history"] and len(a["history"]) == 2
    wa, wb = torch.load(tmp_path / "a.pt"), torch.load(tmp_path / "b.pt")
    assert all(torch.equal(wa[k], wb[k]) for k in wa if k != "_config")
    # two steps moved the correction away from zero (the untrained network is the blind mask)
    assert informed.load_informed(tmp_path / "a.pt").out.weight.abs().max() > 0


def test_solo_passages_are_found_in_the_demo(demo22):
    from concerto_nb import adaptation, data

    piano_only, orchestra_only = adaptation.find_solo_passages(demo22["concerto"], sync.SYNC_SR)
    # ground truth from the stems: the first 12 s are orchestra alone (the piano enters at 12 s)
    assert orchestra_only and orchestra_only[0][0] <= 1.0 and orchestra_only[0][1] <= 12.5
    assert piano_only and sum(b - a for a, b in piano_only) >= 4.0
    piano_stem, orch_stem = demo22["piano"], demo22["orchestra"]
    # where it says "piano alone", the orchestra is at least 15 dB softer, and the other way round
    # (0.6.0's first threshold took 42-51 s for orchestra alone, with the piano only 11 dB softer)
    for passages, alone, other in ((piano_only, piano_stem, orch_stem), (orchestra_only, orch_stem, piano_stem)):
        for a, b in passages:
            sl = slice(int(a * sync.SYNC_SR), int(b * sync.SYNC_SR))
            assert np.sum(other[sl] ** 2) < np.sum(alone[sl] ** 2) / 10 ** 1.5
    assert data.demo_onsets()[0, 0] >= orchestra_only[0][1] - 0.5


def test_adaptation_is_bounded_and_skips_without_solo_passages(demo22):
    from concerto_nb import adaptation

    mix = demo22["concerto"]
    net, info = adaptation.adapt(mix, sync.SYNC_SR, max_steps=3, batch_size=2)
    assert info["steps"] == 3 and len(info["history"]) == 3 and "rejected" not in info
    assert info["lr"] == adaptation.SHORT_SCHEDULE["lr"]  # an excerpt's few seconds of solo passages
    assert net is not model.load_model()  # a copy: the shipped network is untouched
    shipped = dict(model.load_model().named_parameters())
    assert not torch.equal(dict(net.named_parameters())["rnn.weight_hh_l0"], shipped["rnn.weight_hh_l0"])
    head, _ = adaptation.adapt(mix, sync.SYNC_SR, max_steps=2, batch_size=2, layers="head")
    changed = {n for n, p in head.named_parameters() if not torch.equal(p, shipped[n])}
    assert changed and all(n.startswith(adaptation.HEAD) for n in changed)  # the recurrent core untouched
    tutti = demo22["orchestra"][: 10 * sync.SYNC_SR]
    with pytest.warns(UserWarning, match="no piano-only passage"):
        same, info = adaptation.adapt(tutti, sync.SYNC_SR, max_steps=3)
    assert same is model.load_model() and "skipped" in info


def test_adaptation_fine_tunes_longer_on_a_movement_s_worth_of_solo_passages(demo22):
    from concerto_nb import adaptation

    n = int(adaptation.LONG_PASSAGES_S * sync.SYNC_SR)
    # the demo's piano alone, then its orchestra alone: as much solo material as a whole movement holds
    solos = np.concatenate([demo22["piano"][:n], demo22["orchestra"][:n]])
    seconds = adaptation.LONG_PASSAGES_S
    _, info = adaptation.adapt(solos, sync.SYNC_SR, piano_only=[(0.0, seconds)],
                               orchestra_only=[(seconds, 2 * seconds)], max_steps=2, batch_size=2)
    assert info["lr"] == adaptation.LONG_SCHEDULE["lr"] and info["steps"] == 2
    _, info = adaptation.adapt(solos, sync.SYNC_SR, piano_only=[(0.0, seconds - 5)],
                               orchestra_only=[(seconds, 2 * seconds)], max_steps=2, batch_size=2)
    assert info["lr"] == adaptation.SHORT_SCHEDULE["lr"]


def test_an_adaptation_that_gives_the_piano_away_is_rejected(demo22, monkeypatch):
    from concerto_nb import adaptation

    mix = demo22["concerto"]
    # a wrong search result: the first 33 s, with the piano's solo entry at 12 s, "orchestra alone"
    wrong = ([(33.0, 36.0)], [(0.0, 33.0)])
    monkeypatch.setattr(adaptation, "find_solo_passages", lambda *args, **kwargs: wrong)
    with pytest.warns(UserWarning, match="adaptation rejected"):
        net, info = adaptation.adapt(mix, sync.SYNC_SR, max_steps=40, max_seconds=1e9)
    assert net is model.load_model() and info["piano_change_db"] < -adaptation.MAX_PIANO_DROP_DB
    assert info["steps"] == 40 and "rejected" in info
    # the same passages named by the user are taken as given
    named, info_named = adaptation.adapt(mix, sync.SYNC_SR, piano_only=wrong[0], orchestra_only=wrong[1],
                                         max_steps=40, max_seconds=1e9)
    assert named is not model.load_model() and "rejected" not in info_named
    assert info_named["piano_change_db"] == info["piano_change_db"]  # same seed, same fine-tuning


def test_adaptation_on_a_real_recordings_own_solo_passages_separates_it_better():
    """A real pianist and a real orchestra training never heard, laid out as a movement is: the orchestra alone,
    both, the piano alone. Fine-tuned on the two solo passages, the network separates where both play better."""
    piano, orchestra = data.real_mix("real_recordings/music_mind_academy/beethoven-moonlight-sonata-adagio.mp3",
                                     "real_recordings/music_mind_academy/dvorak-new-world-largo.mp3", sr=model.SR,
                                     solo_s=4.0)
    solo = 4 * model.SR
    mix, both = piano + orchestra, slice(solo, len(piano) - solo)
    end_s = len(mix) / model.SR
    net, info = adaptation.adapt(mix, model.SR, piano_only=[(end_s - 4.0, end_s)], orchestra_only=[(0.0, 4.0)],
                                 max_steps=100, max_seconds=1e9)
    before, after = (separation.separate(mix, model.SR, net=n)[0] for n in (model.load_model(), net))
    gain = evaluation.sdr(piano[both], after[both]) - evaluation.sdr(piano[both], before[both])
    assert info["steps"] == 100 and gain > 1.5  # benchmarks/real_mixes.py --tta: +3.7 dB with 200 steps


def test_training_never_sees_the_held_out_excerpts(few_training_pieces):
    sr = model.SR
    ramp = np.arange(600 * sr, dtype=np.float64)
    parts = train._without_held_out(ramp, (450.0, 540.0), train.HELD_OUT_MARGIN_S)
    kept = np.concatenate(parts)
    assert len(parts) == 2 and kept.min() == 0 and kept.max() == ramp[-1]
    held = (kept >= (450 - train.HELD_OUT_MARGIN_S) * sr) & (kept < (540 + train.HELD_OUT_MARGIN_S) * sr)
    assert not held.any() and len(kept) == len(ramp) - 100 * sr
    assert train.HELD_OUT_PIANO not in train.REAL_PIANO and set(train.HELD_OUT) <= set(ALL_TRAIN_PIECES)
    stems = train.render_training_stems(SHARED, few_training_pieces, progress=False)
    expected = 0  # every rendered sample minus the held-out windows and their margins
    for piece in train.TRAIN_PIECES:
        for sf in train.TRAIN_SOUNDFONTS:
            with np.load(few_training_pieces / f"{piece[:-4]}.{sf}.npz") as z:
                n = len(z["orchestra"])
            expected += n
            if piece in train.HELD_OUT:
                a, b = train.HELD_OUT[piece]
                m = train.HELD_OUT_MARGIN_S
                expected -= min(n, int((b + m) * sr)) - int((a - m) * sr)
    assert sum(len(y) for y in stems["orchestra"][:-1]) == expected
    # the real orchestra clip stops before its held-out end (and its margin)
    assert len(stems["orchestra"][-1]) <= (train.HELD_OUT_ORCHESTRA_FROM_S - train.HELD_OUT_MARGIN_S) * sr
    # the real recordings are split by recording: none of the held-out ones trains
    training = {f"real_recordings/{name}" for name in train.REAL_RECORDINGS_PIANO + train.REAL_RECORDINGS_ORCHESTRA}
    held_out = set(train.REAL_HELD_OUT["piano"]) | set(train.REAL_HELD_OUT["orchestra"])
    assert not training & held_out and all((SHARED / path).exists() for path in training | held_out)
    assert len(stems["piano_real"]) == len(train.REAL_PIANO) + len(train.REAL_RECORDINGS_PIANO)
    assert stems["orchestra_real"][0] is stems["orchestra"][-1]  # the Brahms clip without its held-out end


def test_corpus_works_are_rendered_with_each_soundfont_and_drawn_at_their_share(few_training_pieces):
    corpus = train.render_corpus_stems(few_training_pieces, progress=False)
    ensembles = [w for w, roles in train.CORPUS_WORKS.items() if roles == "ensemble"]
    solo_piano = [w for w, roles in train.CORPUS_WORKS.items() if roles == "piano"]
    with_piano = [w for w, roles in train.CORPUS_WORKS.items() if roles != "ensemble"]
    n_sf = len(train.TRAIN_SOUNDFONTS)
    assert len(corpus["orchestra"]) == (len(train.CORPUS_WORKS) - len(solo_piano)) * n_sf
    assert len(corpus["piano"]) == len(with_piano) * n_sf
    assert all(0 < len(y) <= (train.CORPUS_MAX_S + 3) * model.SR and np.sqrt(np.mean(y**2)) > 1 for y in
               corpus["orchestra"] + corpus["piano"])
    # an ensemble's parts get instruments of their register; another soundfont may give other ones
    programs = {sf: [train._corpus_programs(w, 4, sf) for w in ensembles] for sf in train.TRAIN_SOUNDFONTS}
    assert all(p in row for sf in programs for ps in programs[sf] for p, row in zip(ps, train.ENSEMBLE_PROGRAMS))
    assert programs["fluidr3"] != programs["gmbank"]
    assert programs["fluidr3"] == [train._corpus_programs(w, 4, "fluidr3") for w in ensembles]

    # a low tone for the concertos' stems, a high one for the corpus': which one each excerpt came from
    t = np.arange(20 * model.SR) / model.SR
    stems = {"piano": [np.sin(2 * np.pi * 220 * t)], "piano_corpus": [np.sin(2 * np.pi * 3520 * t)],
             "orchestra": [np.sin(2 * np.pi * 220 * t)], "orchestra_corpus": [np.sin(2 * np.pi * 3520 * t)]}
    for share in (0.0, 0.4, 1.0):
        mixes = random_mixes.RandomMixes(stems, rooms=[], seed=1, corpus_share=share)
        high = [np.mean(np.abs(np.diff(mixes._excerpt(kind)))) > 0.3 for kind in ("piano", "orchestra") * 200]
        assert abs(np.mean(high) - share) < 0.06


def test_real_recordings_are_drawn_at_their_share_a_semitone_up_or_down_at_most():
    sr = model.SR
    t = np.arange(20 * sr) / sr
    tone = lambda f: [np.sin(2 * np.pi * f * t).astype(np.float32)]  # noqa: E731
    stems = {"piano": tone(220), "orchestra": tone(220)}
    real = {**stems, "piano_real": tone(880), "orchestra_real": tone(880)}

    def frequency(y):
        spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
        return np.argmax(spectrum) * sr / len(y)

    for share in (0.3, 1.0):
        mixes = random_mixes.RandomMixes(real, rooms=[], seed=2, real_share=share)
        f = np.array([frequency(mixes._excerpt(kind)) for kind in ("piano", "orchestra") * 150])
        played = f[f > 440]
        assert abs(len(played) / len(f) - share) < 0.07
        assert np.all(np.abs(12 * np.log2(played / 880)) < 1.01) and np.std(12 * np.log2(played / 880)) > 0.3
    # a share of 0 draws nothing more: the same excerpts as without real recordings
    plain = random_mixes.RandomMixes(stems, rooms=[], seed=2, corpus_share=0.4)
    with_real = random_mixes.RandomMixes(real, rooms=[], seed=2, corpus_share=0.4)
    assert all(np.array_equal(plain.example()[0], with_real.example()[0]) for _ in range(5))


def test_the_recording_chain_compresses_both_stems_alike_and_adds_noise_to_the_orchestra():
    sr = model.SR
    t = np.arange(6 * sr) / sr
    piano = np.sin(2 * np.pi * 440 * t) * np.where(t < 3, 0.02, 1.0)  # quiet, then 34 dB louder
    mixes = random_mixes.RandomMixes({}, rooms=[], seed=0)
    for seed in range(5):
        mixes.rng = np.random.default_rng(seed)
        p, o = mixes.recording_chain(piano, np.zeros_like(piano))
        quiet, loud = (np.sqrt(np.mean(p[int(a * sr): int(b * sr)] ** 2)) for a, b in ((1, 2.5), (4, 5.5)))
        assert 20 * np.log10(loud / quiet) < 34 - 3  # the loud half was turned down
        noise_db = 10 * np.log10(np.mean(o**2) / np.mean((p + o) ** 2))
        assert -72 < noise_db < -38  # a noise floor, in the orchestra's stem only


def test_the_waveform_term_of_the_loss_is_the_piano_error_that_sdr_measures(demo22):
    net = model.MaskNet().eval()  # no dropout: the same mask as separate() computes
    opt = torch.optim.SGD(net.parameters(), lr=0.0)  # the step leaves the network as it is
    piano, orchestra = demo22["piano"][: 6 * model.SR], demo22["orchestra"][: 6 * model.SR]
    stems = {"piano": [piano], "orchestra": [orchestra]}

    def loss(weight):
        mixes = random_mixes.RandomMixes(stems, rooms=[], seed=0, segment_s=6.0)
        return random_mixes.training_step(net, opt, mixes, 2, seed=5, step=0, waveform_weight=weight)

    term = (loss(0.5) - loss(0.0)) / 0.5
    # the same batch, separated by the public path with the same network
    mixes = random_mixes.RandomMixes(stems, rooms=[], seed=0, segment_s=6.0)
    mixes.rng = np.random.default_rng([5, 0])
    p, o = mixes.batch(2)
    errors = []
    for pi, oi in zip(p, o):
        estimate, _ = separation.separate(pi + oi, model.SR, net=net)
        errors.append(10 * np.log10(np.sum((pi - estimate) ** 2) / np.sum((pi + oi) ** 2) + 1e-4))
    assert abs(term - np.mean(errors)) < 0.05 and -30 < term < 0


def test_a_checkpoint_of_another_run_is_refused_not_mixed_in(tmp_path, few_training_pieces):
    kwargs = dict(batch_size=2, seed=3, progress=False, log_every=1, checkpoint=tmp_path / "ck.pt",
                  cache_dir=few_training_pieces)
    train.train(SHARED, out_path=tmp_path / "a.pt", steps=4, stop_after=1, **kwargs)
    with pytest.raises(ValueError, match="another training run"):
        train.train(SHARED, out_path=tmp_path / "b.pt", steps=8, **kwargs)
    assert not (tmp_path / "b.pt").exists()
