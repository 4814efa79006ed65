"""Login throttling: 5 failures within 300 s, then wait until the oldest leaves the window."""

from __future__ import annotations

import pytest
from access_parts import FakeClock

from gitloop.access.throttle import LoginThrottle


def test_five_failures_refuse_until_oldest_leaves_window() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(4):
        assert throttle.check("alice") == 0
        throttle.failed("alice")
        clock.advance(10)
    assert throttle.check("alice") == 0
    throttle.failed("alice")  # fifth, at t=40
    assert throttle.check("alice") == pytest.approx(260)
    assert throttle.check("bob") == 0
    clock.advance(259)
    assert throttle.check("alice") == pytest.approx(1)
    clock.advance(1)
    assert throttle.check("alice") == 0


@pytest.mark.parametrize(
    ("gaps", "refused"),
    [
        ([0, 0, 0, 0, 0], True),
        ([0, 0, 0, 0], False),
        ([0, 100, 100, 99, 0], True),  # all five within 300 s
        ([0, 100, 100, 100, 1], False),  # the first left the window
    ],
)
def test_window_is_sliding(gaps: list[float], refused: bool) -> None:
    clock = FakeClock()
    throttle = LoginThrottle(clock=clock)
    for gap in gaps:
        clock.advance(gap)
        throttle.failed("alice")
    assert (throttle.check("alice") > 0) is refused


def test_success_clears() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(5):
        throttle.failed("alice")
    assert throttle.check("alice") > 0
    throttle.succeeded("alice")
    assert throttle.check("alice") == 0


def test_memory_is_bounded_dropping_the_oldest() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(max_failures=1, clock=clock, max_names=3)
    for name in ["a", "b", "c", "d"]:
        throttle.failed(name)
    assert len(throttle) == 3
    assert throttle.check("a") == 0
    assert throttle.check("d") > 0


def test_default_bound_is_ten_thousand() -> None:
    throttle = LoginThrottle(clock=FakeClock())
    for i in range(10_050):
        throttle.failed(f"user{i}")
    assert len(throttle) == 10_000


@pytest.mark.parametrize("args", [(0, 300.0), (5, 0.0)])
def test_bad_parameters(args: tuple[int, float]) -> None:
    with pytest.raises(ValueError, match="positive"):
        LoginThrottle(*args)
