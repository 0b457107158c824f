"""Ctrl-C and SIGTERM for the command line: an exception in the main thread, never lost.

Python raises a signal handler's exception wherever the main thread is; inside a finaliser (``__del__``, as
llvmlite's run during numba's compilation) it is printed as "Exception ignored" and dropped, and the run would go
on. :func:`interruptible` notes such a dropped interruption, and :func:`check` raises it again where the work can
stop cleanly: between stages, and before a run's outputs are moved into place. An interruption that lands
inside a library's own work (numba compiling) can come out of it as that library's error; :func:`received` says
that a signal came, so the command reports the interruption rather than the error.
"""
from __future__ import annotations

import contextlib
import signal
import sys
import threading

_PENDING: list = []
_RECEIVED: list = []  # the signals (numbers) received inside the current interruptible() block


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that every ``finally`` (temporary files) runs."""


def _raise_terminated(signum, frame):
    _RECEIVED.append(signum)
    raise Terminated()


def _raise_keyboard_interrupt(signum, frame):
    _RECEIVED.append(signum)
    raise KeyboardInterrupt()


def received() -> int | None:
    """The last signal (SIGINT or SIGTERM) received in the latest :func:`interruptible` block, or None."""
    return _RECEIVED[-1] if _RECEIVED else None


@contextlib.contextmanager
def interruptible():
    """SIGTERM raises :class:`Terminated`, SIGINT KeyboardInterrupt; both are noted for :func:`received`, and an
    interruption dropped by a finaliser is kept for :func:`check`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _RECEIVED.clear()
    previous_term, previous_hook = signal.signal(signal.SIGTERM, _raise_terminated), sys.unraisablehook
    previous_int = signal.signal(signal.SIGINT, _raise_keyboard_interrupt)

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
        signal.signal(signal.SIGINT, previous_int)
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
