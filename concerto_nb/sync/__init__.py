r"""Stage 3 - music synchronization: which instant of the performance matches each instant of the reference.

Subpackages by concern (as synctoolbox's ``dtw/`` and ``feature/``):

- :mod:`~concerto_nb.sync.audio_features` - chroma, DLNCO, semitone flux, levels; pitch variety, profile, transposition
- :mod:`~concerto_nb.sync.timemap` - DTW path to time map: anchors, rests, held notes, onset refinement
- :mod:`~concerto_nb.sync.note_matching` - onsets paired note by note; the map put through them
- :mod:`~concerto_nb.sync.jumps` - skips and repeats, found and re-aligned; time maps that jump with the pianist
- :mod:`~concerto_nb.sync.diagnostics` - confidence ("same piece?"), implausible tempi, uneven ends
- :mod:`~concerto_nb.sync.alignment` - :func:`align`, all of it

Everything public is importable from ``concerto_nb.sync``. Notebook: ``04_music_synchronization``.

Method (Sync Toolbox, Müller et al. 2021): both recordings become 50 Hz feature
sequences - quantised chroma (harmony) and DLNCO (decaying locally adaptive
normalised chroma onsets: where notes start). Multiresolution, multiscale DTW
(MrMsDTW) finds the warping path :math:`P = ((n_1, m_1), \dots, (n_L, m_L))` minimising

.. math:: \sum_\ell C(n_\ell, m_\ell), \quad C = C_{chroma} + C_{DLNCO},

first on coarse features, then refined in a band around the coarse path. The path
becomes a **time map**: a strictly increasing table ``[reference_s, performance_s]``
from ``(0, 0)`` to the two durations, thinned to one anchor per ``anchor_step`` seconds
and smoothed, since a frame-level staircase makes TSM stutter.

Where the piano rests (tutti) the features say nothing about the timing, and neither do
the decay of the last chord before the rest nor the silence before the entry after it:
only path points from the first to the last onset of each passage the pianist plays
become anchors (the first and the last onset always among them), and the map is a straight
line through the rest between them, from the note-off of the last note, which the pianist
holds in the tempo they played.

DTW's path is only as sharp as its 20 ms frames and its chroma, and it drifts in fast runs.
:func:`refine_with_onsets` then moves each anchor to line up note onsets pitch by pitch
(:func:`semitone_flux`: spectral flux in the 88 semitone bands of the piano, sharp in time and
octave-aware, where DLNCO folds octaves into pitch classes and gives each onset a 200 ms tail).
Both smooth over about a second; :func:`snap_to_onsets` pairs the two recordings' onsets one to one
(the same pitches starting, near where the map puts them, in one chain forward) and puts the map
through each pair, so that a ritardando or a breath bends the map where the pianist bends the tempo.

:func:`confidence` compares the chroma agreement along the path with that of
random frame pairs: near 1 for the same piece, near 0 for unrelated recordings.
"""
from __future__ import annotations

from .alignment import align
from .diagnostics import (
    LOW_SECOND_CONFIDENCE,
    MAX_IMPLAUSIBLE_TEMPO_SHARE,
    MAX_LOW_CONFIDENCE_SHARE,
    MIN_CHROMA_VARIETY,
    MIN_CONFIDENCE,
    confidence,
    implausible_tempo_share,
    low_confidence_share,
    uneven_ends,
)
from .audio_features import (
    FEATURE_RATE,
    SYNC_SR,
    chroma,
    chroma_shift,
    chroma_variety,
    features,
    pitch_difference_cents,
    pitch_offset,
    pitch_profile,
    semitone_flux,
    tuning_cents,
)
from .jumps import realign_jumps, skips_and_repeats, time_map_with_jumps
from .note_matching import match_onset_events, onset_events, pairing_margins, snap_to_onsets, unsure_passages
from .timemap import map_times, path_to_time_map, refine_with_onsets

__all__ = ["FEATURE_RATE", "SYNC_SR", "MIN_CONFIDENCE", "LOW_SECOND_CONFIDENCE", "MAX_LOW_CONFIDENCE_SHARE",
           "MAX_IMPLAUSIBLE_TEMPO_SHARE", "MIN_CHROMA_VARIETY", "features", "semitone_flux", "chroma", "chroma_shift",
           "chroma_variety", "pitch_profile", "pitch_offset", "pitch_difference_cents",
           "tuning_cents", "path_to_time_map", "refine_with_onsets", "map_times",
           "onset_events", "match_onset_events", "pairing_margins", "snap_to_onsets", "unsure_passages",
           "skips_and_repeats", "realign_jumps", "time_map_with_jumps",
           "confidence", "low_confidence_share", "implausible_tempo_share",
           "uneven_ends", "align"]
