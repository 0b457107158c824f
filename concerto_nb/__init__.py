"""concerto_nb - play a piano concerto with an orchestra, and learn the MIR behind it.

Stages, one module each (synchronization a subpackage by concern, as synctoolbox's):

- :mod:`concerto_nb.separation` - concerto recording -> piano + orchestra
- :mod:`concerto_nb.sync` - separated piano vs the pianist -> time map (``audio_features``, ``timemap``, ``jumps``,
  ``diagnostics``, ``alignment``)
- :mod:`concerto_nb.tsm` - orchestra warped along the time map
- :mod:`concerto_nb.mixing` - EQ, shared reverb, balance, limiter
- :mod:`concerto_nb.pipeline` - all of it: :func:`playalong`
- :mod:`concerto_nb.practice` - a practice track of a passage: slower, counted in, clicks, loops, or following a take
- :mod:`concerto_nb.io`, :mod:`concerto_nb.data`, :mod:`concerto_nb.render`, :mod:`concerto_nb.evaluation`
"""
__version__ = "0.20.0"

# The top-level functions are imported on first use (PEP 562), so that ``concerto-nb`` starts, and can be
# interrupted cleanly, before numpy and the stage modules load.
_EXPORTS = {"load_audio": "io", "save_audio": "io", "mix": "mixing", "playalong": "pipeline",
            "separate": "separation", "align": "sync", "warp": "tsm"}

__all__ = ["load_audio", "save_audio", "separate", "align", "warp", "mix", "playalong", "__version__"]


_MODULES = ("adaptation", "cli", "data", "evaluation", "informed", "io", "mixes", "mixing", "model", "performance",
            "pipeline", "plots", "practice", "render", "separation", "sync", "tsm", "widgets")


def __getattr__(name):
    import importlib

    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    elif name in _MODULES:  # `concerto_nb.sync.align` after a bare `import concerto_nb`
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS) | set(_MODULES))
