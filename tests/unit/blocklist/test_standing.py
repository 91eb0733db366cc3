"""The auto-review rule on a user's Standing: given abuse reports (by whom, when), then
whether a suspension follows, exactly once, and what a lift resets."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from domains.blocklist.standing import BlockCategory, NotSuspendedError, Standing

DAY = 24 * 3600.0
HARASSMENT = BlockCategory.HARASSMENT


def _report(standing: Standing, who: UUID, category: BlockCategory, at: float) -> bool:
    return standing.report_abuse(who, category, at, window=DAY, k=3)


def _events(standing: Standing) -> list[str]:
    return [type(e).__name__ for e in standing.collect_events()]


def test_the_kth_distinct_reporter_within_the_window_suspends_once() -> None:
    standing = Standing(user_id=uuid4())
    a, b, c, d = (uuid4() for _ in range(4))
    assert not _report(standing, a, HARASSMENT, 0.0)
    assert not _report(standing, a, BlockCategory.SCAM, 10.0)  # same person
    assert not _report(standing, b, HARASSMENT, 20.0)
    assert _report(standing, c, BlockCategory.INDECENCY, 30.0)
    assert not _report(standing, d, HARASSMENT, 40.0)  # already suspended
    assert _events(standing) == [
        "Created",
        "AbuseReported",
        "AbuseReported",
        "AbuseReported",
        "AbuseReported",
        "Suspended",
        "AbuseReported",
    ]
    assert standing.suspended and standing.suspended_at == 30.0


def test_reports_older_than_the_window_do_not_count() -> None:
    standing = Standing(user_id=uuid4())
    a, b, c, d = (uuid4() for _ in range(4))
    _report(standing, a, HARASSMENT, 0.0)
    _report(standing, b, HARASSMENT, 1.0)
    assert not _report(standing, c, HARASSMENT, DAY + 0.5)  # a fell out
    assert _report(standing, d, HARASSMENT, DAY + 1.0)  # b, c, d


def test_a_lift_clears_the_reports_and_only_a_suspension_can_be_lifted() -> None:
    standing = Standing(user_id=uuid4())
    with pytest.raises(NotSuspendedError):
        standing.lift("op", "", 0.0)
    people = [uuid4() for _ in range(3)]
    for at, who in enumerate(people):
        _report(standing, who, HARASSMENT, float(at))
    assert standing.suspended
    standing.lift("op", "reviewed: fine", 5.0)
    assert not standing.suspended and standing.reports == {}
    assert not _report(standing, people[0], HARASSMENT, 6.0)


def test_which_categories_are_abuse() -> None:
    abusive = {c for c in BlockCategory if c.abusive}
    assert abusive == {BlockCategory.HARASSMENT, BlockCategory.INDECENCY, BlockCategory.SCAM}
