"""The tenant lifecycle state machine and its crash bookkeeping (pure, no clock)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from showcase.tenants.state import (
    CRASH_LIMIT,
    CRASH_WINDOW,
    TRANSITIONS,
    Event,
    IllegalTransition,
    Lifecycle,
    State,
)


def test_new_tenant_is_stopped() -> None:
    """A tenant nobody asked for yet is stopped and has no crash history."""
    life = Lifecycle()
    assert life.state is State.STOPPED
    assert life.crashes == []


def test_full_cycle() -> None:
    """stopped → starting → ready → draining → stopped, and the clean exit is no crash."""
    life = Lifecycle()
    life.start()
    assert life.state is State.STARTING
    life.ready()
    assert life.state is State.READY
    life.stop()
    assert life.state is State.DRAINING
    assert life.exited(10.0) is False
    assert life.state is State.STOPPED
    assert life.crashes == []


def test_stop_while_starting_drains() -> None:
    """A tenant can be stopped before it became ready (reload, eviction, shutdown)."""
    life = Lifecycle()
    life.start()
    life.stop()
    assert life.state is State.DRAINING


@pytest.mark.parametrize("ready_first", [False, True])
def test_exit_while_running_is_a_crash(ready_first: bool) -> None:
    """An exit nobody asked for (starting or ready) is recorded as a crash at its time."""
    life = Lifecycle()
    life.start()
    if ready_first:
        life.ready()
    assert life.exited(5.0) is True
    assert life.state is State.STOPPED
    assert life.crashes == [5.0]


def test_abort_is_not_a_crash() -> None:
    """A start that could not spawn anything goes back to stopped without a crash record."""
    life = Lifecycle()
    life.start()
    life.abort()
    assert life.state is State.STOPPED
    assert life.crashes == []


@pytest.mark.parametrize(
    ("state", "event"),
    [(s, e) for s in State for e in Event if (s, e) not in TRANSITIONS],
)
def test_illegal_transitions_raise(state: State, event: Event) -> None:
    """Every event that is not in the transition table is refused, naming state and event."""
    life = Lifecycle(state=state)
    method = {
        Event.START: life.start,
        Event.READY: life.ready,
        Event.STOP: life.stop,
        Event.ABORT: life.abort,
        Event.EXITED: lambda: life.exited(0.0),
    }[event]
    with pytest.raises(IllegalTransition) as info:
        method()
    assert info.value.state is state
    assert life.state is state


def crash(life: Lifecycle, at: float) -> None:
    life.start()
    life.exited(at)


def test_three_crashes_within_a_minute_is_a_loop() -> None:
    """Three crashes within 60 s make a crash loop, right after the third."""
    life = Lifecycle()
    for t in (0.0, 10.0, 20.0):
        assert not life.crash_looping(t)
        crash(life, t)
    assert life.crash_looping(20.0)
    assert life.crash_looping(20.0 + CRASH_WINDOW - 0.001)


def test_crash_loop_ends_a_minute_after_the_last_crash() -> None:
    """The refusal lasts until 60 s after the last crash."""
    life = Lifecycle()
    for t in (0.0, 1.0, 2.0):
        crash(life, t)
    assert not life.crash_looping(2.0 + CRASH_WINDOW)


def test_crashes_spread_out_are_no_loop() -> None:
    """Three crashes spanning more than 60 s are not a loop."""
    life = Lifecycle()
    for t in (0.0, 40.0, 61.0):
        crash(life, t)
    assert not life.crash_looping(61.0)


def test_one_crash_after_recovery_is_no_loop() -> None:
    """After a loop has expired, a single new crash does not refuse starts again."""
    life = Lifecycle()
    for t in (0.0, 1.0, 2.0, 70.0):
        crash(life, t)
    assert not life.crash_looping(70.0)


def test_forget_crashes_ends_a_loop() -> None:
    """A changed definition forgets the crash history, ending a loop at once."""
    life = Lifecycle()
    for t in (0.0, 1.0, 2.0):
        crash(life, t)
    life.forget_crashes()
    assert not life.crash_looping(3.0)
    assert life.recent_crashes(3.0) == 0


def test_recent_crashes_counts_the_last_minute() -> None:
    """recent_crashes counts the crashes less than 60 s ago."""
    life = Lifecycle()
    for t in (0.0, 50.0):
        crash(life, t)
    assert life.recent_crashes(55.0) == 2
    assert life.recent_crashes(65.0) == 1


@given(st.lists(st.floats(min_value=0, max_value=1000), max_size=CRASH_LIMIT - 1))
def test_fewer_crashes_than_the_limit_never_loop(times: list[float]) -> None:
    """However close together, fewer than three crashes never refuse a start."""
    life = Lifecycle()
    for t in sorted(times):
        crash(life, t)
    assert not life.crash_looping(max(times, default=0.0))
