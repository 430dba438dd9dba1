"""Background work of a serving process: a daemon thread per worker, started by its first request.

The disclosure chainer (``idp.identity.disclosures``) and the SMS outbox sender
(``idp.identity.sms_outbox``) are both :class:`ProcessWorker`\\ s. The web application calls
:meth:`ProcessWorker.ensure_running` before each request, so the thread starts in each worker
process of the server (Granian), never in a master process that forks workers later. A forked
child forgets its parent's thread (``os.register_at_fork``) and starts its own at its first
request; a thread that died is started again the same way. Workers of several processes share
their work through the database (leases, row locks), never through memory.
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from abc import ABC, abstractmethod

# After a failed round the next one waits twice as long, up to this.
MAX_FAILURE_DELAY = 60.0

_WORKERS: weakref.WeakSet[ProcessWorker] = weakref.WeakSet()


class ProcessWorker(ABC):
    """A daemon thread running :meth:`_run` until :meth:`stop`; ``interval`` 0 never starts."""

    thread_name = "worker"

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._reset()
        _WORKERS.add(self)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def ensure_running(self) -> None:
        if self.running or self.interval <= 0:
            return
        with self._lock:
            if self.running or self._stop.is_set():
                return
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self._thread.start()
            atexit.register(self.stop)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the round in progress."""
        self._stop.set()
        self._wake()
        atexit.unregister(self.stop)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _wake(self) -> None:  # noqa: B027 - a hook: most workers wait on their stop event
        """Cut a wait short (a worker that waits on something else than its stop event)."""

    @abstractmethod
    def _run(self) -> None:
        """The thread's loop: rounds until ``self._stop`` is set."""


def backoff(delay: float, interval: float) -> float:
    """The wait after a failed round."""
    return min(max(delay, interval) * 2, MAX_FAILURE_DELAY)


def _forget_threads_after_fork() -> None:
    for worker in list(_WORKERS):
        worker._reset()


os.register_at_fork(after_in_child=_forget_threads_after_fork)
