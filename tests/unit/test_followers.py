"""A failing job's backoff and health (eventlog/followers.py), on a fake clock."""

from __future__ import annotations

import logging

import pytest

from eventlog.followers import Backoff, FollowerHealth


class Job:
    position = 41


def test_backoff_doubles_from_the_first_delay_up_to_the_cap() -> None:
    backoff = Backoff(0.5, 30.0)
    assert [backoff.delay(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(10_000) == 30.0


def test_health_counts_a_stall_from_its_first_failure_until_it_applies(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    health = FollowerHealth("profile", Job(), clock=lambda: now[0])
    assert (health.failing_at, health.stuck_for()) == (None, 0.0)
    backoff = Backoff(1.0, 4.0)
    with caplog.at_level(logging.ERROR, logger="eventlog.followers"):
        delays = []
        for _ in range(4):
            delays.append(health.failed(42, RuntimeError("refused"), backoff))
            now[0] += delays[-1]
    assert delays == [1.0, 2.0, 4.0, 4.0]
    assert (health.failing_at, health.stuck_for(), health.retries) == (42, 11.0, 4)
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        f"profile cannot apply the log at position 42 (try {n})" for n in range(1, 5)
    ]

    # It got further and fails at a later event: a new stall, backoff from the start.
    assert health.failed(57, RuntimeError("refused"), backoff) == 1.0
    assert health.stuck_for() == 0.0

    health.level()
    assert (health.failing_at, health.failing_since, health.failures) == (None, None, 0)
    assert health.retries == 5
