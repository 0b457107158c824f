"""Interactive widgets for the notebooks (ipywidgets): players, mask explorer, DTW explorer, TSM
comparison, a mixing panel and a practice panel.

Each function returns one ipywidgets container; the notebook cell only displays it. The work
behind a widget is the stage module's own function, called again when a control changes.

Examples
--------
>>> import numpy as np
>>> from concerto_nb import widgets
>>> sr = 22050
>>> box = widgets.players({"a tone": np.sin(2 * np.pi * 440 * np.arange(sr) / sr)}, sr)
>>> type(box).__name__
'HBox'
"""
from __future__ import annotations

import io as _io
from pathlib import Path

import numpy as np

__all__ = ["audio_player", "players", "mask_explorer", "cost_matrix_explorer", "tsm_comparison", "mix_panel",
           "practice_panel"]

PLAYER_SR = 22050  # what the browser gets: enough to hear every stage, light for Binder


def _wav_bytes(y: np.ndarray, sr: int) -> bytes:
    import soundfile as sf

    from . import io

    y = np.atleast_2d(np.asarray(y, dtype=np.float32))
    if sr > PLAYER_SR:
        y, sr = io.resample(y, sr, PLAYER_SR), PLAYER_SR
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak > 1.0:  # the browser would clip: scale down, never up
        y = y / peak
    buf = _io.BytesIO()
    sf.write(buf, y.T, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def audio_player(y: np.ndarray, sr: int, label: str = ""):
    """An audio player with a label.

    Parameters
    ----------
    y
        Waveform ``(n,)`` or ``(channels, n)``; resampled to 22.05 kHz for the browser.
    sr
        Its sample rate.
    label
        Shown above the player.

    Returns
    -------
    ipywidgets.VBox
        Holding a Label and an Audio widget.
    """
    import ipywidgets as w

    audio = w.Audio(value=_wav_bytes(y, sr), format="wav", autoplay=False, loop=False)
    audio.add_class("concerto-nb-player")
    return w.VBox([w.Label(label), audio])


def players(signals: dict, sr: int):
    """Players side by side, e.g. ``{"mix": y, "piano": p, "orchestra": o}``.

    Parameters
    ----------
    signals
        ``{label: waveform}``, all at ``sr``.
    sr
        Sample rate.

    Returns
    -------
    ipywidgets.HBox
        (wrapping onto several lines when narrow).
    """
    import ipywidgets as w

    return w.HBox([audio_player(y, sr, name) for name, y in signals.items()],
                  layout=w.Layout(flex_flow="row wrap"))


def _figure_widget():
    """An image widget for :func:`_show` to draw figures into."""
    import ipywidgets as w

    return w.Image(format="png", layout=w.Layout(max_width="100%"))


def _show(image, fig):
    """Draw ``fig`` into an image widget as PNG (and close it, so it is not drawn twice).

    An image, not an ``ipywidgets.Output``: a notebook run outside a browser (``jupyter nbconvert --execute``,
    papermill, jupyter-book) stands in for the Output widget's protocol, and could wait forever after a cell
    that drew into one."""
    import matplotlib.pyplot as plt

    buffer = _io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, bbox_inches="tight")
    plt.close(fig)
    image.value = buffer.getvalue()


def mask_explorer(y: np.ndarray, sr: int, method: str = "model", piano_reference=None, time_range=(0.0, 15.0),
                  max_power: float = 8.0):
    """Spectrogram and piano mask with a slider for the mask exponent and the time range.

    The exponent ``p`` turns the network's soft mask ``M`` into ``M^p / (M^p + (1-M)^p)``
    (:func:`concerto_nb.separation.sharpen_mask`): ``p=1`` soft mask, ``p=2`` Wiener gain.

    Parameters
    ----------
    y
        Mono mixture.
    sr
        Its sample rate.
    method
        ``"model"`` or ``"hpss"``.
    piano_reference
        The true piano stem (same length and rate as ``y``): the piano SDR of
        the current setting is then shown.
    time_range
        Initial ``(start_s, end_s)``.
    max_power
        Right end of the exponent slider.

    Returns
    -------
    ipywidgets.VBox
        Controls, SDR line, figure, player of the masked piano.
    """
    import ipywidgets as w
    import librosa

    from . import evaluation, io, plots, separation

    X, mask, sr_x, hop = separation.mixture_and_mask(y, sr, method)
    ref = None if piano_reference is None else io.resample(np.asarray(piano_reference, np.float32), sr, sr_x)
    duration = X.shape[1] * hop / sr_x
    power = w.FloatLogSlider(value=1.0, base=2, min=-2, max=np.log2(max_power), step=0.25,
                             description="exponent p", continuous_update=False)
    span = w.FloatRangeSlider(value=(time_range[0], min(time_range[1], duration)), min=0.0, max=duration,
                              step=0.5, description="time (s)", continuous_update=False,
                              layout=w.Layout(width="60%"))
    score, out, player = w.HTML(), _figure_widget(), w.Box()

    def update(_=None):
        m = separation.sharpen_mask(mask, power.value)
        piano = librosa.istft(m * X, hop_length=hop, n_fft=2 * (X.shape[0] - 1), length=int(duration * sr_x))
        if ref is not None:
            n = min(len(ref), len(piano))
            score.value = (f"piano SDR with p = {power.value:g}: <b>{evaluation.sdr(ref[:n], piano[:n]):.2f} dB</b> "
                           "(whole excerpt)")
        _show(out, plots.plot_masks(X, m, sr_x, hop, span.value))
        a, b = (int(t * sr_x) for t in span.value)
        player.children = [audio_player(piano[a:b], sr_x, "piano estimate (shown range)")]

    power.observe(update, "value")
    span.observe(update, "value")
    update()
    return w.VBox([w.HBox([power, span]), score, out, player])


def cost_matrix_explorer(details: dict, time_map=None, ground_truth=None, time_range=None):
    """The chroma cost matrix with DTW path, zoomable with a time-range slider.

    Parameters
    ----------
    details
        From ``sync.align(..., return_details=True)``.
    time_map
        The aligned map to overlay.
    ground_truth
        The known map to overlay.
    time_range
        Initial reference range ``(start_s, end_s)`` (default: all).

    Returns
    -------
    ipywidgets.VBox
        Slider and figure.
    """
    import ipywidgets as w

    from . import plots, sync

    duration = details["chroma_reference"].shape[1] / sync.FEATURE_RATE
    span = w.FloatRangeSlider(value=time_range or (0.0, duration), min=0.0, max=duration, step=0.5,
                              description="concerto (s)", continuous_update=False, layout=w.Layout(width="70%"))
    out = _figure_widget()

    def update(_=None):
        _show(out, plots.plot_cost_matrix(details, time_map, ground_truth, sync.FEATURE_RATE, span.value))

    span.observe(update, "value")
    update()
    return w.VBox([span, out])


def tsm_comparison(y: np.ndarray, sr: int, stretch: float = 1.5, methods=("ola", "wsola", "pv", "hps")):
    """The same excerpt stretched by each TSM method, with players and spectrograms.

    Parameters
    ----------
    y
        Mono excerpt (a few seconds).
    sr
        Its sample rate.
    stretch
        Initial factor (output duration / input duration; > 1 = slower).
    methods
        Methods of :func:`concerto_nb.tsm.warp` to compare.

    Returns
    -------
    ipywidgets.VBox
        Slider, button, players, figure.
    """
    import ipywidgets as w

    from . import plots, tsm

    factor = w.FloatSlider(value=stretch, min=0.5, max=2.0, step=0.05, description="stretch",
                           continuous_update=False)
    button = w.Button(description="Stretch", icon="play")
    out, row = _figure_widget(), w.Box()
    duration = len(y) / sr

    def update(_=None):
        time_map = np.array([[0.0, 0.0], [duration, duration * factor.value]])
        results = {"original": y}
        results.update({m: tsm.warp(y, sr, time_map, method=m) for m in methods})
        row.children = [players(results, sr)]
        _show(out, plots.plot_spectrograms(results, sr))

    button.on_click(update)
    update()
    return w.VBox([w.HBox([factor, button]), row, out])


def mix_panel(piano: np.ndarray, orchestra: np.ndarray, sr: int):
    """EQ / reverb / balance controls that re-render the mix (:func:`concerto_nb.mixing.mix`).

    Parameters
    ----------
    piano
        The pianist's recording.
    orchestra
        The warped orchestra, same rate.
    sr
        Sample rate.

    Returns
    -------
    ipywidgets.VBox
        Controls, a "Render mix" button, the levels and a player.
    """
    import ipywidgets as w

    from . import mixing

    style = {"description_width": "initial"}
    balance = w.FloatSlider(value=-3.0, min=-18.0, max=6.0, step=0.5, description="orchestra vs piano (dB)",
                            style=style)
    reverb = w.FloatSlider(value=0.25, min=0.0, max=0.6, step=0.05, description="reverb", style=style)
    room = w.FloatSlider(value=0.6, min=0.0, max=1.0, step=0.05, description="room size", style=style)
    eq = w.Checkbox(value=True, description="piano EQ (70 Hz high-pass, +2 dB at 3 kHz)", style=style)
    button = w.Button(description="Render mix", icon="refresh", button_style="primary")
    levels, player = w.HTML(), w.Box()

    def update(_=None):
        out, lv = mixing.mix(piano, orchestra, sr, balance_db=balance.value, eq=eq.value, reverb=reverb.value,
                             room_size=room.value)
        levels.value = (f"piano {lv['piano_db']:.1f} dBFS, orchestra {lv['orchestra_db']:.1f} dBFS "
                        f"(gain {lv['orchestra_gain_db']:+.1f} dB), mix {lv['mix_db']:.1f} dBFS, "
                        f"peak {lv['mix_peak_db']:.1f} dBFS")
        player.children = [audio_player(out, sr, "mix")]

    button.on_click(update)
    update()
    panel = w.VBox([w.HBox([balance, reverb]), w.HBox([room, eq]), button, levels, player])
    panel.add_class("concerto-nb-mix-panel")
    return panel


def practice_panel(concerto, *, start_s: float = 0.0, end_s: float = 20.0, score=None, bars=(1, 4)):
    """Controls for :func:`concerto_nb.practice.practice`: passage, tempo, metre, count-in, clicks, loops; a
    "Make practice track" button, what it did and a player.

    Notebook: ``05_time_scale_modification``.

    Parameters
    ----------
    concerto : path
        The concerto recording.
    start_s, end_s : float
        The passage shown first.
    score : path, optional
        The piece's MIDI file: the passage is chosen by bar numbers (``bars`` first), the metre is the score's.

    Returns
    -------
    ipywidgets.VBox
    """
    import tempfile

    import ipywidgets as w

    from . import io, practice

    style = {"description_width": "initial"}
    if score is None:
        duration = io.load_audio(concerto, sr=8000)[0].shape[-1] / 8000
        passage = w.FloatRangeSlider(value=(start_s, min(end_s, duration)), min=0.0, max=round(duration, 1),
                                     step=0.5, description="passage (s)", style=style)
    else:
        bar_count = len(practice._score_downbeats(practice._load_score(score)))
        passage = w.IntRangeSlider(value=(min(bars[0], bar_count), min(bars[1], bar_count)), min=1, max=bar_count,
                                   description="passage (bars)", style=style)
    tempo = w.FloatSlider(value=0.8, min=0.5, max=1.2, step=0.05, description="tempo", style=style)
    metre = w.IntSlider(value=4, min=1, max=12, description="beats per bar", style=style,
                        disabled=score is not None)  # with a score, the score's metre
    count_in = w.IntSlider(value=1, min=0, max=4, description="count-in bars", style=style)
    loops = w.IntSlider(value=1, min=1, max=8, description="loops", style=style)
    clicks = w.Checkbox(value=False, description="clicks throughout", style=style)
    button = w.Button(description="Make practice track", icon="refresh", button_style="primary")
    said, player = w.HTML(), w.Box()

    def update(_=None):
        out = tempfile.mkdtemp(prefix="concerto-nb-practice-")
        where = ({"start_s": passage.value[0], "end_s": passage.value[1], "beats_per_bar": metre.value}
                 if score is None else {"score": score, "bars": passage.value})
        report = practice.practice(concerto, out, tempo=tempo.value, count_in_bars=count_in.value,
                                   clicks=clicks.value, loops=loops.value, progress=False, **where)
        metre.value = report["beats_per_bar"]
        said.value = (f"{report['beats_per_minute']:g} beats a minute; the orchestra starts after "
                      f"{report['passage_starts_at_s']:.2f} s of count-in; written to {out}")
        y, sr = io.load_audio(Path(out) / "orchestra_practice.wav")
        player.children = [audio_player(y, sr, "practice track")]

    button.on_click(update)
    update()
    panel = w.VBox([w.HBox([passage, tempo]), w.HBox([metre, count_in, loops, clicks]), button, said, player])
    panel.add_class("concerto-nb-practice-panel")
    return panel
