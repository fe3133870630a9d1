"""The lifecycle of one tenant as a pure state machine (no I/O, no clock).

::

    stopped --start--> starting --ready--> ready
    starting --stop--> draining          ready --stop--> draining
    draining --exited--> stopped         (the stop completed)
    starting --exited--> stopped         ready --exited--> stopped   (crashes)
    starting --abort--> stopped          (no process could be started)

:class:`Lifecycle` holds the state and the crash bookkeeping: the times of recent
unexpected exits, from which :meth:`Lifecycle.crash_looping` says whether the
tenant must be refused for a while.  Time is passed in by the caller.
"""

from __future__ import annotations

import enum

import attrs

CRASH_LIMIT = 3
"""This many crashes within :data:`CRASH_WINDOW` seconds make a crash loop."""

CRASH_WINDOW = 60.0
"""Seconds: the span the crashes must fall in, and how long a crash loop refuses starts."""


class State(enum.Enum):
    """Where a tenant is in its life; the value is what ``Supervisor.state()`` returns."""

    STOPPED = "stopped"
    STARTING = "starting"
    READY = "ready"
    DRAINING = "draining"


class Event(enum.Enum):
    """What can happen to a tenant."""

    START = "start"  # a process is being started
    READY = "ready"  # it printed its ready line or its health check answered
    STOP = "stop"  # the supervisor decided to stop it (idle, reload, eviction, shutdown)
    EXITED = "exited"  # the process was reaped
    ABORT = "abort"  # the start could not be carried out (no free port, spawn raised)


TRANSITIONS: dict[tuple[State, Event], State] = {
    (State.STOPPED, Event.START): State.STARTING,
    (State.STARTING, Event.READY): State.READY,
    (State.STARTING, Event.STOP): State.DRAINING,
    (State.READY, Event.STOP): State.DRAINING,
    (State.STARTING, Event.EXITED): State.STOPPED,
    (State.STARTING, Event.ABORT): State.STOPPED,
    (State.READY, Event.EXITED): State.STOPPED,
    (State.DRAINING, Event.EXITED): State.STOPPED,
}
"""Every legal transition; anything else is a bug in the caller."""


class IllegalTransition(Exception):
    """An event that makes no sense in the current state."""

    def __init__(self, state: State, event: Event) -> None:
        super().__init__(f"cannot {event.value} a tenant that is {state.value}")
        self.state = state
        self.event = event


@attrs.define
class Lifecycle:
    """The state of one tenant plus the times of its recent crashes."""

    state: State = State.STOPPED
    crashes: list[float] = attrs.field(factory=list)

    def _apply(self, event: Event) -> State:
        try:
            self.state = TRANSITIONS[(self.state, event)]
        except KeyError:
            raise IllegalTransition(self.state, event) from None
        return self.state

    def start(self) -> None:
        """A process is being started (stopped → starting)."""
        self._apply(Event.START)

    def ready(self) -> None:
        """The process is ready to serve (starting → ready)."""
        self._apply(Event.READY)

    def stop(self) -> None:
        """The supervisor is stopping the process (starting/ready → draining)."""
        self._apply(Event.STOP)

    def abort(self) -> None:
        """No process could be started after all (starting → stopped); not a crash."""
        self._apply(Event.ABORT)

    def exited(self, now: float) -> bool:
        """The process was reaped at ``now``; True if that was a crash.

        An exit while starting or ready was not asked for, so it is a crash and
        is recorded; an exit while draining is the stop completing.
        """
        crashed = self.state in (State.STARTING, State.READY)
        self._apply(Event.EXITED)
        if crashed:
            self.crashes.append(now)
            del self.crashes[:-CRASH_LIMIT]
        return crashed

    def crash_looping(self, now: float) -> bool:
        """True while the last :data:`CRASH_LIMIT` crashes fell within
        :data:`CRASH_WINDOW` seconds and the last one is less than that ago."""
        if len(self.crashes) < CRASH_LIMIT:
            return False
        first, last = self.crashes[-CRASH_LIMIT], self.crashes[-1]
        return last - first <= CRASH_WINDOW and now - last < CRASH_WINDOW

    def recent_crashes(self, now: float) -> int:
        """How many recorded crashes happened within the last :data:`CRASH_WINDOW` seconds."""
        return sum(1 for t in self.crashes if now - t < CRASH_WINDOW)

    def forget_crashes(self) -> None:
        """Drop the crash history (the tenant's definition changed)."""
        self.crashes.clear()
