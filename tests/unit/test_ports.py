"""Atomic tenant port allocation from [start_port, start_port + 100)."""

from __future__ import annotations

import socket

import pytest

from showcase.tenants.ports import RANGE_SIZE, NoFreePort, PortAllocator, port_is_free


def always_free(port: int) -> bool:
    return True


def test_lowest_port_first() -> None:
    """The first allocation is start_port itself."""
    assert PortAllocator(4000, is_free=always_free).allocate() == 4000


def test_allocated_ports_are_not_handed_out_twice() -> None:
    """Consecutive allocations (two tenants starting at once) get distinct ports."""
    ports = PortAllocator(4000, is_free=always_free)
    assert [ports.allocate() for _ in range(3)] == [4000, 4001, 4002]
    assert ports.allocated == {4000, 4001, 4002}


def test_ports_in_use_elsewhere_are_skipped() -> None:
    """A port another program holds (the test bind fails) is skipped."""
    ports = PortAllocator(4000, is_free=lambda port: port != 4000)
    assert ports.allocate() == 4001


def test_released_port_is_reused() -> None:
    """A released port is free again, and the lowest free port is preferred."""
    ports = PortAllocator(4000, is_free=always_free)
    first, _second = ports.allocate(), ports.allocate()
    ports.release(first)
    assert ports.allocate() == first


def test_releasing_an_unknown_port_is_harmless() -> None:
    """Releasing a port that is not allocated changes nothing."""
    ports = PortAllocator(4000, is_free=always_free)
    ports.release(4321)
    assert ports.allocated == frozenset()


def test_range_is_one_hundred_ports() -> None:
    """The range is [start, start + 100): the 101st allocation fails."""
    ports = PortAllocator(4000, is_free=always_free)
    allocated = [ports.allocate() for _ in range(RANGE_SIZE)]
    assert allocated[-1] == 4099
    with pytest.raises(NoFreePort):
        ports.allocate()


def test_new_start_applies_to_later_allocations() -> None:
    """After a reload with a new start_port, new ports come from the new range."""
    ports = PortAllocator(4000, is_free=always_free)
    ports.allocate()
    ports.set_start(5000)
    assert ports.allocate() == 5000
    assert ports.allocated == {4000, 5000}


@pytest.mark.integration
def test_port_is_free_sees_a_listener() -> None:
    """A port something listens on is not free; once closed it is free again."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        assert not port_is_free(port)
    finally:
        listener.close()
    assert port_is_free(port)


@pytest.mark.integration
def test_port_is_free_sees_a_wildcard_listener() -> None:
    """A program listening on all interfaces also makes the port unavailable."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", 0))
    listener.listen()
    try:
        assert not port_is_free(listener.getsockname()[1])
    finally:
        listener.close()
