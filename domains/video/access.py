"""Access to a call's media: the Agora channel, the party's uid and an RTC token whose
privileges end with the caller's paid time (plus a grace), so media stops by itself when
the coins do, even if removing a user from the channel fails."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domains.video.aggregate import Call, CallStateError, CallStatus, Side
from domains.video.agora import RtcTokens, channel_of, uid_for


@dataclass(frozen=True)
class MediaPass:
    app_id: str
    channel: str
    uid: int
    token: str
    expires_at: int


class MediaAccess:
    def __init__(self, app_id: str, tokens: RtcTokens, *, grace_seconds: int) -> None:
        self.app_id = app_id
        self._tokens = tokens
        self._grace = grace_seconds

    def expiry(self, call: Call, now: float) -> int:
        """The end of paid time plus grace: the caller's next checkpoint, or (not connected
        yet) the media deadline plus what the connect charge pays for."""
        paid_until = call.paid_until()
        if paid_until is None:
            assert call.media_deadline is not None
            next_at = call.checkpoint(Side.CALLER, call.paid[Side.CALLER]).at_second
            paid_until = max(now, call.media_deadline) + next_at
        return int(paid_until) + self._grace

    def pass_for(self, call: Call, user_id: UUID, now: float) -> MediaPass:
        """A fresh pass into the call's channel for one of its parties."""
        if call.status not in (CallStatus.ACCEPTED, CallStatus.CONNECTED):
            raise CallStateError(f"the call is {call.status.value}")
        channel = channel_of(call.id)
        uid = uid_for(call.side_of(user_id))
        expires_at = self.expiry(call, now)
        return MediaPass(
            self.app_id, channel, uid, self._tokens.issue(channel, uid, expires_at), expires_at
        )
