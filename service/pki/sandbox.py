"""Running the parsing of untrusted input in a child process with a CPU-time and memory budget.

Python cannot stop a thread: a parser that loops or allocates for as long as its input asks
holds the worker (and its health check) for as long. So the expensive parsing of uploaded PDFs
runs in a child process, where the kernel enforces the budget:

* CPU time: ``RLIMIT_CPU`` is set, before each job, to the child's CPU time so far plus the
  budget; past it the kernel ends the child (SIGXCPU).
* Memory: ``RLIMIT_AS`` is set to the child's address space plus the budget; an allocation
  beyond fails (``MemoryError``, or the child dies).
* Wall time: the parent waits at most :attr:`Budget.wall_seconds` for the answer (a child that
  sleeps or is starved of CPU), then kills the child.

An overrun raises :class:`Overrun` in the parent. Children are forked from multiprocessing's
fork server, which has the PDF modules imported already, and are kept warm between jobs: a
normal job pays a pipe round trip (well under a millisecond for a result PDF), not a process
start, and a child that overran is killed and its replacement forked in milliseconds.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import resource
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

log = logging.getLogger("tokhai")

#: imported once by the fork server, so that a new child starts with them loaded: the PDF
#: verification's modules, and the PDF import's (service.imports and the reader, whose
#: pdfplumber and pypdfium2 it imports only when it runs)
PRELOAD = ["service.pki.validation", "service.records.digitised", "service.imports",
           "forms.imports.draft", "pdfplumber", "pypdfium2"]
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(PRELOAD)


@dataclass(frozen=True)
class Budget:
    cpu_seconds: float
    #: address space a job may add to the child's
    memory_bytes: int

    @property
    def wall_seconds(self) -> float:
        """How long the parent waits: the CPU budget with room for a busy machine."""
        return 2 * self.cpu_seconds + 1


class Overrun(Exception):
    """A job exceeded its budget: ``kind`` is ``time``, ``memory`` or ``busy`` (no child was
    free within the wall time)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class _Child:
    def __init__(self) -> None:
        self.conn, theirs = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(target=_serve, args=(theirs,), daemon=True,
                                        name="tokhai-sandbox")
        self.process.start()
        theirs.close()
        self.jobs = 0

    def kill(self) -> int | None:
        """End the child; its exit code (negative: the signal that ended it)."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()
        return self.process.exitcode


class Sandbox:
    """A few warm children; one job per child at a time."""

    def __init__(self, max_children: int = 2, max_jobs: int = 500) -> None:
        self._idle: list[_Child] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_children)
        #: a child is replaced after this many jobs (what a job's parsing leaves behind, such
        #: as a fragmented heap, does not accumulate)
        self.max_jobs = max_jobs

    def run(self, function: Callable[..., Any], *args: Any, budget: Budget) -> Any:
        """``function(*args)`` in a child (both picklable; ``function`` importable), its
        result or its exception; :class:`Overrun` when it exceeds ``budget``."""
        if not self._slots.acquire(timeout=budget.wall_seconds):
            raise Overrun("busy")
        try:
            return self._run(function, args, budget)
        finally:
            self._slots.release()

    def _run(self, function: Callable[..., Any], args: tuple[Any, ...], budget: Budget) -> Any:
        with self._lock:
            child = self._idle.pop() if self._idle else None
        if child is not None and not child.process.is_alive():
            child.kill()
            child = None
        if child is None:
            child = _Child()
        try:
            child.conn.send((function, args, budget.cpu_seconds, budget.memory_bytes))
            if not child.conn.poll(budget.wall_seconds):
                child.kill()
                raise Overrun("time")
            outcome, value = child.conn.recv()
        except (EOFError, OSError):  # the child died: the kernel ended it
            code = child.kill()
            # SIGXCPU: past the CPU limit; anything else (SIGKILL from the OOM killer, a
            # crash on an allocation that failed past RLIMIT_AS) is counted as memory, and
            # logged with its exit code so that a death of another cause can be told apart
            log.warning("sandbox child died", extra={"exit_code": code})
            raise Overrun("time" if code == -signal.SIGXCPU else "memory") from None
        if outcome == "memory":
            child.kill()
            raise Overrun("memory")
        child.jobs += 1
        if child.jobs >= self.max_jobs:
            child.kill()
        else:
            with self._lock:
                self._idle.append(child)
        if outcome == "raise":
            raise value
        return value

    def close(self) -> None:
        """End the idle children (the others end with their job)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for child in idle:
            child.kill()


def _address_space() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _serve(conn: Connection) -> None:
    """The child: run jobs until the parent closes the pipe."""
    # what a job has to say is in its result; the parsers' own warnings (pyHanko logs a
    # traceback for every suspicious field) would only flood the service's stderr
    logging.basicConfig(handlers=[logging.NullHandler()], force=True)
    from service.pki import pdfhex

    pdfhex.install()  # the children parse PDFs: pyHanko's fast hex reader, as in the parent
    unlimited = resource.RLIM_INFINITY
    while True:
        try:
            function, args, cpu_seconds, memory_bytes = conn.recv()
        except (EOFError, OSError):
            return
        times = os.times()
        resource.setrlimit(resource.RLIMIT_CPU,
                           (int(times.user + times.system + cpu_seconds) + 1, unlimited))
        resource.setrlimit(resource.RLIMIT_AS, (_address_space() + memory_bytes, unlimited))
        try:
            reply: tuple[str, Any] = ("ok", function(*args))
        except MemoryError:
            reply = ("memory", None)
        except Exception as e:  # noqa: BLE001 - handed to the parent, which raises it
            reply = ("raise", e)
        finally:
            resource.setrlimit(resource.RLIMIT_AS, (unlimited, unlimited))
            resource.setrlimit(resource.RLIMIT_CPU, (unlimited, unlimited))
        try:
            conn.send(reply)
        except Exception as e:  # noqa: BLE001 - an exception that does not pickle
            conn.send(("raise", RuntimeError(f"{type(reply[1]).__name__}: {e}")))


#: one per process: its children serve every application of the process
SANDBOX = Sandbox()
