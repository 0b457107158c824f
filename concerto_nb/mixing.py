"""Stage 5 - post-processing and mix: the pianist's piano and the warped orchestra in one room.

Signal flow (pedalboard):

    piano ── high-pass 70 Hz ── presence +2 dB @ 3 kHz ──┐
                                                         ├─ sum ── reverb (shared) ── limiter -1 dBFS ── mix
    orchestra ── gain to (piano loudness + balance_db) ──┘

One reverb on the sum puts both sources in the same space, which is what makes a
studio piano and a concert-hall orchestra sound like one performance. Loudness is
the RMS of the active (non-silent) 400 ms blocks, so rests do not bias the balance.
"""
from __future__ import annotations

import numpy as np

__all__ = ["MAX_BALANCE_DB", "loudness_db", "pan", "check_settings", "mix"]

#: Largest orchestra-to-piano balance accepted (dB, either way): beyond it one of the two is inaudible.
MAX_BALANCE_DB = 40.0


def loudness_db(y: np.ndarray, sr: int, block_s: float = 0.4, gate_db: float = -40.0) -> float:
    """Gated RMS level in dBFS over the blocks within ``gate_db`` of the loudest block.

    Notebook: ``06_postprocessing_and_mix``.
    """
    y = np.atleast_2d(y).mean(axis=0)
    block = max(1, int(block_s * sr))
    n = len(y) // block
    if n == 0:
        return float(20 * np.log10(np.sqrt(np.mean(y**2)) + 1e-12))
    power = np.mean(y[: n * block].reshape(n, block) ** 2, axis=1)
    if power.max() == 0:
        return -120.0
    gated = power[power > power.max() * 10 ** (gate_db / 10)]
    return float(10 * np.log10(np.mean(gated) + 1e-12))


def pan(y: np.ndarray, position: float) -> np.ndarray:
    """A mono signal placed between two loudspeakers (constant-power panning).

    Notebook: ``06_postprocessing_and_mix``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    position : float
        -1 = left, 0 = centre, 1 = right.

    Returns
    -------
    np.ndarray [shape=(2, n)], with the same total power as ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> pan(np.ones(2), 0.0).round(3).tolist()
    [[0.707, 0.707], [0.707, 0.707]]
    """
    angle = (np.clip(position, -1.0, 1.0) + 1.0) * np.pi / 4
    return np.stack([np.cos(angle) * y, np.sin(angle) * y]).astype(np.asarray(y).dtype)


def _as_channels(y: np.ndarray, channels: int) -> np.ndarray:
    y = np.atleast_2d(np.asarray(y, dtype=np.float32))
    return np.repeat(y, channels, axis=0) if y.shape[0] == 1 and channels > 1 else y


def check_settings(*, balance_db: float = -3.0, reverb: float = 0.25, room_size: float = 0.6,
                   ceiling_db: float = -1.0) -> None:
    """Raise one ``ValueError`` if a :func:`mix` setting is NaN, infinite or out of its range.

    Notebook: ``06_postprocessing_and_mix``.
    """
    for name, value, low, high in (("balance_db", balance_db, -MAX_BALANCE_DB, MAX_BALANCE_DB),
                                   ("reverb", reverb, 0.0, 1.0), ("room_size", room_size, 0.0, 1.0),
                                   ("ceiling_db", ceiling_db, -60.0, 0.0)):
        if not (isinstance(value, (int, float, np.number)) and np.isfinite(value) and low <= value <= high):
            raise ValueError(f"{name}={value!r} is outside {low:g} to {high:g}")


def mix(piano: np.ndarray, orchestra: np.ndarray, sr: int, *, balance_db: float = -3.0, eq: bool = True,
        reverb: float = 0.25, room_size: float = 0.6, ceiling_db: float = -1.0):
    """Mix the pianist's recording with the (warped) orchestra.

    Notebook: ``06_postprocessing_and_mix``.

    Parameters
    ----------
    piano, orchestra : np.ndarray [shape=(n,) or (channels, n)]
        Same sample rate; the shorter one is padded with silence.
    sr : int
    balance_db : float
        Orchestra loudness relative to the piano (negative = orchestra softer), within
        +-:data:`MAX_BALANCE_DB`.
    eq : bool
        High-pass and presence boost on the piano.
    reverb : float
        Wet level of the shared reverb (0 = dry).
    room_size : float
        Size of the shared reverb's room, 0-1.
    ceiling_db : float
        Limiter threshold: the mix's peak stays at about this level.

    Returns
    -------
    mix : np.ndarray [shape=(channels, n)]
    levels : dict
        Loudness (dBFS) of the piano, of the orchestra before and after the gain, of the mix,
        and the mix's peak.

    Examples
    --------
    >>> import numpy as np
    >>> from concerto_nb import mixing
    >>> sr = 22050
    >>> t = np.arange(2 * sr) / sr
    >>> out, levels = mixing.mix(0.3 * np.sin(2 * np.pi * 440 * t), 0.3 * np.sin(2 * np.pi * 220 * t), sr)
    >>> out.shape
    (1, 44100)
    """
    import pedalboard as pb

    from ._arrays import check_audio, check_sample_rate

    piano, orchestra = check_audio(piano, name="piano"), check_audio(orchestra, name="orchestra")
    sr = check_sample_rate(sr)
    check_settings(balance_db=balance_db, reverb=reverb, room_size=room_size, ceiling_db=ceiling_db)
    channels = max(np.atleast_2d(piano).shape[0], np.atleast_2d(orchestra).shape[0])
    piano, orchestra = _as_channels(piano, channels), _as_channels(orchestra, channels)
    n = max(piano.shape[1], orchestra.shape[1])
    piano = np.pad(piano, [(0, 0), (0, n - piano.shape[1])])
    orchestra = np.pad(orchestra, [(0, 0), (0, n - orchestra.shape[1])])

    if eq:
        piano = pb.Pedalboard([
            pb.HighpassFilter(cutoff_frequency_hz=70.0),
            pb.PeakFilter(cutoff_frequency_hz=3000.0, gain_db=2.0, q=0.7),
        ])(piano, sr)
    piano_db = loudness_db(piano, sr)
    orchestra_in_db = loudness_db(orchestra, sr)
    # a silent orchestra (e.g. a solo passage) is left alone rather than boosted by 100 dB
    gain_db = piano_db + balance_db - orchestra_in_db if orchestra_in_db > -80.0 else 0.0
    orchestra = orchestra * np.float32(10 ** (gain_db / 20))

    bus = [pb.Reverb(room_size=room_size, wet_level=reverb, dry_level=1.0 - 0.5 * reverb)] if reverb > 0 else []
    # the reverb can overshoot full scale: the limiter comes last; JUCE's limiter makes up
    # its threshold to 0 dBFS, so the ceiling is a gain after it
    bus += [pb.Limiter(threshold_db=ceiling_db, release_ms=150.0), pb.Gain(gain_db=ceiling_db)]
    out = pb.Pedalboard(bus)(piano + orchestra, sr)
    out = np.clip(out, -1.0, 1.0)
    levels = {
        "piano_db": round(piano_db, 2),
        "orchestra_in_db": round(orchestra_in_db, 2),
        "orchestra_gain_db": round(gain_db, 2),
        "orchestra_db": round(loudness_db(orchestra, sr), 2),
        "mix_db": round(loudness_db(out, sr), 2),
        "mix_peak_db": round(float(20 * np.log10(np.max(np.abs(out)) + 1e-12)), 2),
    }
    return out, levels
