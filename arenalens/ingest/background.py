"""Run a generator in a forked child process and read its items in this one.

Bulk ingest reads, checks and hashes batch k+1 in a child while this process writes batch k:
on two cores the database writer and the Python checks no longer queue for one interpreter
lock. The child only computes; it never touches the store. Items and the exception that ends
the generator (if any) come back pickled, in order. Closing the reader early (an error in the
writer) stops the child; if this process dies, the child's next send fails and it exits.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")

_ITEM, _DONE, _RAISED = 0, 1, 2


def can_fork() -> bool:
    """Whether a child would help: this platform forks (Linux does) and this process may run
    on two cores or more (with one, the child only adds the cost of sending its results)."""
    if not hasattr(os, "fork") or "fork" not in multiprocessing.get_all_start_methods():
        return False
    cores = (
        os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    )
    return len(cores) >= 2


@contextmanager
def in_child_process(make: Callable[[], Iterator[T]]) -> Iterator[Iterator[T]]:
    """Yield an iterator over what `make()` yields, computed one item ahead in a child.

    The child starts at once and works while the caller handles the previous item (the pipe
    holds about one item). An exception raised by the generator is raised here, at the point
    it happened in the sequence.
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_produce, args=(make, sender, receiver), daemon=True)
    child.start()
    sender.close()  # only the child writes: when it exits, our reads end instead of hanging
    try:
        yield _consume(receiver)
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()
        child.join()


def _consume(receiver: Connection) -> Iterator[Any]:
    while True:
        try:
            kind, payload = pickle.loads(receiver.recv_bytes())
        except EOFError:
            raise RuntimeError("the ingest reader process stopped unexpectedly") from None
        if kind == _DONE:
            return
        if kind == _RAISED:
            raise payload
        yield payload


def _produce(make: Callable[[], Iterator[Any]], sender: Connection, receiver: Connection) -> None:
    receiver.close()  # the parent's end: when the parent dies, our sends fail and we stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops us
    # A short-lived child that makes no reference cycles: without the cyclic collector it does
    # not walk (and copy, page by page) the parent's inherited heap: ~2x faster
    gc.freeze()
    gc.disable()
    try:
        for item in make():
            if not _send(sender, (_ITEM, item)):
                return
        message: tuple[int, Any] = (_DONE, None)
    except Exception as exc:  # raised in the parent, where the caller handles it
        message = (_RAISED, _picklable(exc))
    _send(sender, message)


def _send(sender: Connection, message: tuple[int, Any]) -> bool:
    """Send one message; False when the parent has gone (closed the pipe or died)."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        sender.send_bytes(data)
    except (BrokenPipeError, ConnectionResetError):
        return False
    return True


def _picklable(exc: Exception) -> Exception:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc
