"""Who the roulette may offer a caller: read from the read models, so a candidate can be
stale by a moment; ringing them (CallService.request_call) checks again against the log."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

# Online is presence's own test (a heartbeat row not yet expired, by the database's clock).
# A streamer "skipped" by this caller is one a roulette of theirs rang since `skipped_since`
# without the call connecting: declined, missed, cancelled, or answered with no media.
_CANDIDATES = """
SELECT u.user_id
FROM profile_users u
JOIN video_availability a ON a.user_id = u.user_id AND a.roulette
WHERE u.role = 'streamer'
  AND u.user_id <> $1
  AND u.user_id <> ALL($2::uuid[])
  AND EXISTS (
    SELECT 1 FROM video_presence p WHERE p.user_id = u.user_id AND p.expires_at > now())
  AND NOT EXISTS (
    SELECT 1 FROM video_calls c
    WHERE c.status IN ('ringing', 'accepted', 'connected') AND c.caller_id = u.user_id)
  AND NOT EXISTS (
    SELECT 1 FROM video_calls c
    WHERE c.status IN ('ringing', 'accepted', 'connected') AND c.callee_id = u.user_id)
  AND NOT EXISTS (
    SELECT 1 FROM blocklist_blocks b
    WHERE (b.blocker_id = $1 AND b.blocked_id = u.user_id)
       OR (b.blocker_id = u.user_id AND b.blocked_id = $1))
  AND NOT EXISTS (
    SELECT 1 FROM video_calls s
    WHERE s.caller_id = $1 AND s.callee_id = u.user_id AND s.kind = 'roulette'
      AND s.requested_at > $3 AND s.connected_at IS NULL)
ORDER BY random()
LIMIT $4
"""


class StreamerMatching:
    """Streamers in the roulette who can be offered to a caller now, in random order."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def candidates(
        self, caller_id: UUID, *, exclude: Sequence[UUID], skipped_since: float, limit: int
    ) -> list[UUID]:
        """Opted in, online, not in a call, not blocked either way, not skipped by this
        caller since `skipped_since` (clock seconds), and not in `exclude`."""
        rows = await self._pool.fetch(_CANDIDATES, caller_id, list(exclude), skipped_since, limit)
        return [r["user_id"] for r in rows]
