"""How much the pianist's own recording can tell the separation without training (issue 27).

    .venv/bin/python benchmarks/informed_masks.py

The six cases of ``benchmarks/expressive.py`` (three unseen concerto excerpts, a sampled concert grand and
MuseScore's orchestra in a hall; the pianist rubato or impetuous, MuseScore's piano recorded at home), rendered
once into ``data/cache/expressive/``. The pianist's recording is warped onto the concerto's frames
(``separation.warped_pianist``, at its tuning) along the map ``sync.align`` finds between the separated piano and
the pianist (what ``playalong`` has), or along the true map. Piano masks, each applied to the mixture's STFT (the
orchestra is the rest), against the oracle IRM and the blind network in one run:

- ``blind x where it sounds``: the network's mask, cut to zero where a spectrogram (a max over 3 bins) is 40 dB
  or more below its loudest bins, kept whole from 20 dB below. With the true piano stem's own spectrogram, an
  upper bound of what *where the piano plays* adds;
- ``how loud``: the spectrogram scaled by one gain per frequency bin (the median ratio of the network's piano
  estimate to it where both sound), divided by the mixture's magnitude. With the true stem, an upper bound of
  what *how loud the piano is* adds;
- ``blind and how loud, mean``: the two masks averaged.

Mean over the six cases, dB: piano and orchestra SDR, and the orchestra's SIR (BSSEval v4, median over 1 s frames:
the piano's bleed a user hears in the orchestra track); results: ``benchmarks/results/informed_masks.txt``.
"""
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from concerto_nb import evaluation, model, render, separation, sync  # noqa: E402
from expressive import HOME, PIECES, SR, make_case, salamander_samples  # noqa: E402


def where_it_sounds(spectrogram, *, range_db=40.0, fade_db=20.0):
    """0 where ``spectrogram`` (a max over 3 bins) is ``range_db`` or more below its loudest bins (the 99.5th
    percentile), 1 from ``range_db - fade_db`` below, linear in dB between."""
    from scipy.ndimage import maximum_filter

    db = 20 * np.log10(maximum_filter(spectrogram, size=(3, 1)) + 1e-9)
    return np.clip((db - np.percentile(db, 99.5) + range_db) / fade_db, 0.0, 1.0)


def how_loud(spectrogram, blind_mask, mixture_mag):
    """``spectrogram`` at the level of the network's piano estimate (one gain per bin: the median ratio of the two
    where both sound), over the mixture's magnitude."""
    sounding = (spectrogram > 1e-3 * spectrogram.max()) & (mixture_mag > 1e-6)
    ratio = np.ma.masked_where(~sounding, blind_mask * mixture_mag / (spectrogram + 1e-9))
    gain = np.ma.median(ratio, axis=1).filled(0.0)[:, None]  # a bin where the spectrogram never sounds: no piano
    return np.clip(gain * spectrogram / (mixture_mag + 1e-9), 0.0, 1.0)


def main():
    import librosa

    warnings.simplefilter("ignore")
    samples = render.load_piano_samples(salamander_samples(), SR)
    scores = {}
    for label, midi, start, length in PIECES:
        for style in HOME:
            audio, _, true_map, _ = make_case(label, midi, start, length, style, samples)
            mixture, piano = audio["concerto"], audio["piano"]
            orchestra = mixture - piano
            X, blind = model.stft_and_mask(mixture, SR)
            mag = np.abs(X)

            def masked(mask):  # the piano a mask gives, with the mixture's phase
                return librosa.istft(mask * X, hop_length=model.HOP, n_fft=model.N_FFT, length=len(mixture))

            separated = masked(blind)
            aligned = sync.align(separated, audio["pianist"])
            spectrograms = {"true piano stem": np.abs(librosa.stft(piano, n_fft=model.N_FFT, hop_length=model.HOP))}
            for which, time_map in (("pianist, aligned", aligned), ("pianist, true map", true_map)):
                spectrograms[which] = separation.warped_pianist(audio["pianist"], SR, time_map,
                                                                n_frames=X.shape[1],
                                                                cents=HOME[style]["detune_cents"])[0]
            oracle = evaluation.oracle_irm(piano, orchestra)
            estimates = {"oracle IRM": oracle[0], "blind network": separated}
            for which, spectrogram in spectrograms.items():
                loud = how_loud(spectrogram, blind, mag)
                masks = {f"blind x where it sounds ({which})": blind * where_it_sounds(spectrogram),
                         f"how loud ({which})": loud, f"blind and how loud, mean ({which})": 0.5 * (blind + loud)}
                estimates.update({name: masked(mask) for name, mask in masks.items()})
            for name, estimate in estimates.items():
                bleed = evaluation.bss_eval([piano, orchestra], [estimate, mixture - estimate], SR)["sir"][1]
                scores.setdefault(name, []).append((evaluation.sdr(piano, estimate),
                                                    evaluation.sdr(orchestra, mixture - estimate), bleed))
            print(f"{label}, {style}: blind {scores['blind network'][-1][0]:.2f} dB, oracle "
                  f"{scores['oracle IRM'][-1][0]:.2f} dB (piano)", flush=True)
    print("\n| mask | piano SDR | orchestra SDR | orchestra SIR | piano SDR vs blind | orchestra SIR vs blind |")
    print("|---|---|---|---|---|---|")
    blind = np.mean(scores["blind network"], axis=0)
    for name, values in scores.items():
        mean = np.mean(values, axis=0)
        print(f"| {name} | {mean[0]:.2f} | {mean[1]:.2f} | {mean[2]:.2f} | {mean[0] - blind[0]:+.2f} | "
              f"{mean[2] - blind[2]:+.2f} |")


if __name__ == "__main__":
    main()
