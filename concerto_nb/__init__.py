"""concerto_nb - play a piano concerto with an orchestra, and learn the MIR behind it.

Stages, one module each (flat, by task, as in librosa):

- :mod:`concerto_nb.separation` - concerto recording -> piano + orchestra
- :mod:`concerto_nb.sync` - separated piano vs the pianist -> time map
- :mod:`concerto_nb.tsm` - orchestra warped along the time map
- :mod:`concerto_nb.mixing` - EQ, shared reverb, balance, limiter
- :mod:`concerto_nb.pipeline` - all of it: :func:`playalong`
- :mod:`concerto_nb.io`, :mod:`concerto_nb.data`, :mod:`concerto_nb.render`, :mod:`concerto_nb.evaluation`
"""
__version__ = "0.7.5"

from .io import load_audio, save_audio  # noqa: E402
from .mixing import mix  # noqa: E402
from .pipeline import playalong  # noqa: E402
from .separation import separate  # noqa: E402
from .sync import align  # noqa: E402
from .tsm import warp  # noqa: E402

__all__ = ["load_audio", "save_audio", "separate", "align", "warp", "mix", "playalong", "__version__"]
