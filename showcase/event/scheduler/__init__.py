"""Heat scheduling for one event, as pure functions over rows the caller read.

The caller builds an :class:`EventData` from the event database; every action returns a
:class:`Schedule` (a :class:`Placement` per heat id, plus the remaining conflicts) or a
single :class:`Placement`, and never changes its input.  Same data, same result.
"""

from showcase.event.scheduler.actions import (
    renumber,
    restore,
    schedule_unscheduled,
    scratch,
    undo,
)
from showcase.event.scheduler.conflicts import conflicts
from showcase.event.scheduler.generate import schedule
from showcase.event.scheduler.model import (
    CLOSED,
    MULTI,
    NOBODY,
    OPEN,
    SOLO,
    BadData,
    Category,
    Conflict,
    Dance,
    Entry,
    EventData,
    Formation,
    Heat,
    Locked,
    NotScheduled,
    Person,
    Placement,
    Schedule,
    SchedulerError,
    Settings,
    Solo,
)
from showcase.event.scheduler.times import start_times

__all__ = [
    "CLOSED",
    "MULTI",
    "NOBODY",
    "OPEN",
    "SOLO",
    "BadData",
    "Category",
    "Conflict",
    "Dance",
    "Entry",
    "EventData",
    "Formation",
    "Heat",
    "Locked",
    "NotScheduled",
    "Person",
    "Placement",
    "Schedule",
    "SchedulerError",
    "Settings",
    "Solo",
    "conflicts",
    "renumber",
    "restore",
    "schedule",
    "schedule_unscheduled",
    "scratch",
    "start_times",
    "undo",
]
