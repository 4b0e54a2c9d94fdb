"""Work on several machines at once: remote calls in threads, the database in the job's thread.

SQLAlchemy's session belongs to the job's thread, so a machine's thread never touches it: it
sends its log lines, and any call that reads or writes the database (`Lane.call`), to the job's
thread, which carries them out in the order they arrive and hands back the result. The job's
thread does nothing else meanwhile, so what a machine records is written as soon as it exists.
Nor does a machine's thread read a model's attributes (`ctx.operator.id`): after a commit they
load again through the session. Steps take such values in the job's thread first.

When one machine fails, the others are told to stop: machines not begun yet never begin, and a
machine in progress stops at its next stage (a clone or a start already asked for finishes and
is recorded first), so a retry or a deletion finds everything that exists.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from jobs.steps.context import DeployContext

T = TypeVar("T")
R = TypeVar("R")


class Stopped(Exception):
    """Another machine failed: this one stops where it is."""


@dataclass(frozen=True)
class Outcome(Generic[R]):
    """What became of one machine's work, in plan order."""

    name: str
    result: R | None = None
    error: BaseException | None = None
    stopped: bool = False

    @property
    def done(self) -> bool:
        return self.error is None and not self.stopped


class Lane:
    """One machine's side of a parallel step: its log lines and its calls to the job's thread."""

    def __init__(
        self,
        name: str,
        prefix: str,
        aliases: Sequence[str],
        events: queue.SimpleQueue[tuple[str, str, Any]],
        stop: threading.Event,
    ) -> None:
        self.name = name
        self.prefix = prefix
        self._known = (prefix, *aliases)
        self._events = events
        self._stop = stop

    def say(self, line: str) -> None:
        """Log a line, attributed to this machine unless it already names it."""
        self._events.put(("log", self.name, self.attributed(line)))

    def stage(self, what: str) -> None:
        """Log that this machine enters a stage, unless another machine failed meanwhile."""
        self.check()
        self._events.put(("log", self.name, f"== {self.prefix}{what}"))

    def attributed(self, line: str) -> str:
        """Return the line starting with this machine's prefix (or another name of it)."""
        return line if line.startswith(self._known) else self.prefix + line

    def call(self, function: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Run `function` in the job's thread (it may use the database) and return its result."""
        answer: Future[R] = Future()
        self._events.put(("call", self.name, (function, args, kwargs, answer)))
        return answer.result()

    def stopping(self) -> bool:
        """Tell whether another machine failed, so this one should stop."""
        return self._stop.is_set()

    def check(self) -> None:
        """Raise Stopped if another machine failed."""
        if self._stop.is_set():
            raise Stopped


def bound(ctx: DeployContext) -> int:
    """Return how many machines are worked on at once (FEDIPANEL_PARALLEL_MACHINES)."""
    return max(1, ctx.settings.parallel_machines)


def run_each(
    ctx: DeployContext,
    items: Sequence[tuple[str, T]],
    work: Callable[[Lane, T], R],
    prefix: Callable[[str], str],
    aliases: Callable[[str], Sequence[str]] = lambda _name: (),
    on_done: Callable[[Outcome[R]], None] | None = None,
) -> list[Outcome[R]]:
    """Run `work` for each named item in threads, at most `bound(ctx)` at once.

    Return every item's outcome in the given order; after the first failure no item begins.
    `on_done` runs in the job's thread as each item ends (to move the progress bar).
    """
    events: queue.SimpleQueue[tuple[str, str, Any]] = queue.SimpleQueue()
    stop = threading.Event()
    outcomes: dict[str, Outcome[R]] = {}

    def run(name: str, item: T) -> None:
        try:
            lane = Lane(name, prefix(name), aliases(name), events, stop)
            lane.check()
            events.put(("done", name, Outcome(name, result=work(lane, item))))
        except Stopped:
            events.put(("log", name, lane.attributed("stopped, another machine failed")))
            events.put(("done", name, Outcome[R](name, stopped=True)))
        except BaseException as exc:  # handed to the job's thread, which raises it
            stop.set()
            events.put(("done", name, Outcome[R](name, error=exc)))

    failure: BaseException | None = None
    workers = min(bound(ctx), max(1, len(items)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fedipanel-machine") as pool:
        for name, item in items:
            pool.submit(run, name, item)
        while len(outcomes) < len(items):
            try:
                kind, name, payload = events.get()
                if kind == "done":
                    outcomes[name] = payload
                    if on_done is not None:
                        on_done(payload)
                elif kind == "log":
                    ctx.progress.log([payload])
                else:
                    _answer(*payload)
            except BaseException as exc:
                # The job's thread failed (the database, a job time-out): stop the machines,
                # keep answering them until each has ended, then say why.
                stop.set()
                failure = failure or exc
    if failure is not None:
        raise failure
    return [outcomes[name] for name, _ in items]


def _answer(
    function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], answer: Future[Any]
) -> None:
    try:
        answer.set_result(function(*args, **kwargs))
    except BaseException as exc:  # the machine's thread raises it as its own failure
        answer.set_exception(exc)


def first_failure(outcomes: Sequence[Outcome[Any]]) -> BaseException | None:
    """Return the first failure in plan order, or None."""
    return next((o.error for o in outcomes if o.error is not None), None)
