"""The notebooks as committed, and the widgets they are built from.

nbval runs every notebook (`make test` passes `notebooks --nbval-lax`); here: they are all there, committed
without outputs, explain their method with a formula and show where it fails, keep their logic in
concerto_nb; and the widgets react to their controls as they should.
"""
import json
import re
from pathlib import Path

import librosa
import pytest

from concerto_nb import data, evaluation, io, mixing, plots, separation, sync, widgets

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = ["00_overview", "01_source_separation", "02_test_time_adaptation", "03_signal_reconstruction",
         "04_music_synchronization", "05_time_scale_modification", "06_postprocessing_and_mix",
         "07_dataset_and_evaluation"]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_committed_stripped_and_didactic(name):
    nb = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    prose = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert all(not c["outputs"] and c["execution_count"] is None for c in code), "commit notebooks stripped"
    assert re.search(r"\$[^$]+\$", prose), "explain the method with its formula"
    assert "## Where it fails" in prose
    assert any("concerto_nb" in "".join(c["source"]) for c in code)
    # readable cells: a few lines each, the logic lives in concerto_nb
    assert max(len("".join(c["source"]).splitlines()) for c in code) <= 25


def test_a_notebook_with_figure_widgets_runs_under_nbconvert():
    """`jupyter nbconvert --execute`'s engine (nbclient) runs notebook 05, whose widgets draw figures, to the end:
    with the figures in ``ipywidgets.Output`` it waited forever after the TSM comparison (3 runs of 3).
    ``scripts/run_notebooks.py`` runs them all, five times each."""
    import sys

    sys.path.insert(0, str(NOTEBOOKS.parent / "scripts"))
    from run_notebooks import run_once

    seconds, peak_mb = run_once(NOTEBOOKS / "05_time_scale_modification.ipynb", timeout=300)
    assert seconds < 300 and peak_mb > 100


def test_no_stray_notebooks():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == NAMES


@pytest.fixture(scope="module")
def demo():
    sr = 22050
    return sr, {n: io.load_audio(data.demo_path(n), sr=sr)[0] for n in ("concerto", "piano", "orchestra", "pianist")}


def test_mask_explorer_exponent_changes_the_piano_estimate(demo):
    sr, y = demo
    box = widgets.mask_explorer(y["concerto"], sr, piano_reference=y["piano"], time_range=(20, 25))
    controls, score, _, player = box.children
    power = controls.children[0]

    def shown_sdr():
        return float(re.search(r"(-?\d+\.\d+) dB", score.value).group(1))

    X, mask, sr_x, hop = separation.mixture_and_mask(y["concerto"], sr)

    def expected(m):
        # the widget's inverse STFT, cut to the spectrogram's length
        piano = librosa.istft(m * X, hop_length=hop, n_fft=2 * (X.shape[0] - 1), length=X.shape[1] * hop)
        n = min(len(piano), len(y["piano"]))
        return evaluation.sdr(y["piano"][:n], piano[:n])

    soft = shown_sdr()
    assert soft == pytest.approx(expected(mask), abs=0.006)  # shown with two decimals
    power.value = 2.0  # the Wiener gain
    wiener = shown_sdr()
    assert wiener != soft
    assert wiener == pytest.approx(expected(separation.wiener_gain(mask)), abs=0.006)
    audio = player.children[0].children[1]
    assert audio.value[:4] == b"RIFF" and len(audio.value) > 5 * sr  # 5 s of 16-bit audio


def test_mix_panel_renders_again_with_the_new_balance(demo):
    sr, y = demo
    panel = widgets.mix_panel(y["pianist"], y["orchestra"], sr)
    balance = panel.children[0].children[0]
    button, levels = panel.children[2], panel.children[3]
    first = levels.value
    balance.value = balance.value + 6.0
    button.click()
    _, expected = mixing.mix(y["pianist"], y["orchestra"], sr, balance_db=balance.value)
    assert levels.value != first
    assert f"gain {expected['orchestra_gain_db']:+.1f} dB" in levels.value


def test_tsm_comparison_players_have_the_stretched_length(demo):
    sr, y = demo
    excerpt = y["orchestra"][10 * sr: 12 * sr]
    box = widgets.tsm_comparison(excerpt, sr, stretch=1.5)
    slider, button = box.children[0].children
    row = box.children[1].children[0]
    assert [p.children[0].value for p in row.children] == ["original", "ola", "wsola", "pv", "hps"]
    wav_samples = lambda p: (len(p.children[1].value) - 44) // 2  # noqa: E731  16-bit mono WAV
    assert wav_samples(row.children[0]) == len(excerpt)
    assert all(wav_samples(p) == round(1.5 * len(excerpt)) for p in row.children[1:])
    slider.value = 0.75
    button.click()
    row = box.children[1].children[0]
    assert all(wav_samples(p) == round(0.75 * len(excerpt)) for p in row.children[1:])


def test_cost_matrix_figure_zooms_to_the_range(demo):
    sr, y = demo
    time_map, details = sync.align(y["piano"], y["pianist"], return_details=True)
    fig = plots.plot_cost_matrix(details, time_map, data.demo_time_map(), time_range=(20, 30))
    ax = fig.axes[0]
    assert ax.get_xlim() == pytest.approx((20, 30))
    lo, hi = ax.get_ylim()
    perf = sync.map_times(data.demo_time_map(), [20, 30])
    assert lo <= perf[0] and hi >= perf[1]  # the true performance range is in view
    assert hi - lo < 15
    C = plots.cost_matrix(details["chroma_reference"], details["chroma_performance"], step=10)
    n, m = details["chroma_reference"].shape[1], details["chroma_performance"].shape[1]
    assert C.shape == (-(-n // 10), -(-m // 10))
    # along the DTW path the chroma agree far better than between random frames
    on_path = C[details["path"][0] // 10, details["path"][1] // 10]
    assert on_path.mean() < 0.6 * C.mean()  # (rests count as 1 on both)
