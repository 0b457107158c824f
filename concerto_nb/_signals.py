"""Ctrl-C and SIGTERM for the command line: an exception in the main thread, never lost.

Python raises a signal handler's exception wherever the main thread is; inside a finaliser (``__del__``, as
llvmlite's run during numba's compilation) it is printed as "Exception ignored" and dropped, and the run would go
on. :func:`interruptible` notes such a dropped interruption, and :func:`check` raises it again where the work can
stop cleanly: between stages, and before a run's outputs are moved into place.
"""
from __future__ import annotations

import contextlib
import signal
import sys
import threading

_PENDING: list = []


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that every ``finally`` (temporary files) runs."""


def _raise_terminated(signum, frame):
    raise Terminated()


@contextlib.contextmanager
def interruptible():
    """SIGTERM raises :class:`Terminated`; an interruption dropped by a finaliser is kept for :func:`check`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous_term, previous_hook = signal.signal(signal.SIGTERM, _raise_terminated), sys.unraisablehook

    def keep_interruptions(unraisable):
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            _PENDING.append(unraisable.exc_value)
        else:
            previous_hook(unraisable)

    sys.unraisablehook = keep_interruptions
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        sys.unraisablehook = previous_hook
        _PENDING.clear()


def check() -> None:
    """Raise an interruption that a finaliser dropped, if any."""
    if _PENDING:
        raise _PENDING.pop()


@contextlib.contextmanager
def ignored():
    """SIGINT and SIGTERM during the block are ignored (main thread only): the block finishes a run's outputs,
    so a signal then is too late to undo anything and would only misreport a finished run."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
