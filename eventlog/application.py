"""The EventLog application: eventsourcing's PostgreSQL persistence for every olo event."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from asyncpg.pgproto.pgproto import UUID as AsyncpgUUID
from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Transcoder, UUIDAsHex

from eventlog.transcoder import OrjsonTranscoder

EVENTS_TABLE = "eventlog_events"
CHANNEL = "eventlog_events"


class AsyncpgUUIDAsHex(UUIDAsHex):
    """asyncpg returns its own UUID subclass; stored like (and read back as) a plain UUID."""

    type = AsyncpgUUID  # type: ignore[assignment]


class EventLog(Application[Any]):
    """One shared log: table `eventlog_events`, the library's mapper, lock and NOTIFY."""

    name = "EventLog"

    def construct_transcoder(self) -> Transcoder:
        # The library's JSON, through orjson: its mapper (so the store, the writer and every
        # reader, which all use this application's mapper) reads and writes the same rows.
        transcoder = OrjsonTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(AsyncpgUUIDAsHex())


def postgres_env(database_url: str, *, pool_size: int = 4) -> dict[str, str]:
    """Translate a `postgresql://` URL into eventsourcing's POSTGRES_* environment."""
    url = urlsplit(database_url)
    host = parse_qs(url.query).get("host", [url.hostname or "127.0.0.1"])[0]
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": url.path.lstrip("/") or "postgres",
        "POSTGRES_HOST": host,
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_LOCK_TIMEOUT": "10",
        "CREATE_TABLE": "yes",
    }


def open_event_log(database_url: str, *, pool_size: int = 4) -> EventLog:
    """Open (and create, if missing) the event log table on the given database."""
    return EventLog(env=postgres_env(database_url, pool_size=pool_size))
