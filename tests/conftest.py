import warnings
from pathlib import Path

import pytest

from concerto_nb import data, io, pipeline, sync

# librosa compiles its numba gufuncs when first imported and caches them beside its source. Two processes
# doing that at once (this one and a notebook kernel, in a fresh venv) can pair cache files of different
# processes, and a later call segfaults (numba/numba#10128; seen in CI in librosa.util.peak_pick). Importing
# it here, before any kernel starts, fills the cache from this process alone.
import librosa  # noqa: E402, F401

ROOT = Path(__file__).resolve().parent.parent
SHARED = data.SOURCES_DIR  # the licensed sources shipped in data/sources


@pytest.fixture(scope="session")
def demo22():
    """The demo files, mono at synctoolbox's rate."""
    return {name: io.load_audio(data.demo_path(name), sr=sync.SYNC_SR)[0]
            for name in ("concerto", "piano", "orchestra", "pianist")}


@pytest.fixture(scope="session")
def playalong_demo(tmp_path_factory):
    """One play-along run on the demo, shared by the tests that inspect its outputs."""
    out = tmp_path_factory.mktemp("playalong")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = pipeline.playalong(data.demo_path("concerto"), data.demo_path("pianist"), out, progress=False)
    return out, report
