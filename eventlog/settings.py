"""The one settings object of olo: environment variables `DATABASE_URL` and `OLO_*`.

Production is the default (`OLO_MODE=production`): Firebase ID tokens are verified with
Google's keys, the sandbox store is off, GraphiQL, introspection and `/docs` are off, and a
process refuses to start while a secret is a built-in development value
(:meth:`Settings.check_production`). Development (`OLO_MODE=development`, `olo serve
--demo`, the tests) turns on emulator tokens, the sandbox store and the dev secrets.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Per user and mutation, in `limits` notation ("N/second", "N/minute", "N/hour", "N/day");
# `OLO_RATE_LIMITS` (JSON) overrides some or all of them. A person at the app stays far below
# these; a script ringing a streamer in a loop does not (300 ring/hang-up cycles in 30 s rang
# one streamer 300 times).
DEFAULT_RATE_LIMITS: dict[str, str] = {
    "requestCall": "20/minute",
    "startRoulette": "20/minute",
    "purchaseCoins": "30/minute",
    "block": "30/minute",
    "updateProfile": "30/minute",
    "registerDevice": "20/minute",
    "addFavorite": "60/minute",  # favorites
    "sendGift": "60/minute",  # gift: a gift moves coins and notifies the streamer
    "sendMessage": "60/minute",
    "typing": "60/minute",
}

# The timetable's jobs (name -> five-field crontab, UTC); `OLO_TIMETABLE` (JSON) overrides some
# or all of them. A domain declaring a timetable job adds its line here.
DEFAULT_TIMETABLE: dict[str, str] = {}

GOOGLE_ID_TOKEN_CERTS_URL = (
    "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
)
"""Google's public certificates for Firebase ID tokens (firebase-admin's own default)."""

DEV_FIREBASE_PROJECT_ID = "demo-olo"
DEV_EMULATOR_HOST = "127.0.0.1:9099"

# Built-in development values: fine on a laptop, refused in production.
DEV_AGORA_APP_CERTIFICATE = "fedcba9876543210fedcba9876543210"
DEV_AGORA_CUSTOMER_ID = "olo-dev"
DEV_AGORA_CUSTOMER_SECRET = "olo-dev-secret"
DEV_AGORA_NCS_SECRET = "olo-dev-ncs-secret"

DEVELOPMENT_WARNING = (
    "\n" + "!" * 78 + "\n"
    "!! olo is in DEVELOPMENT mode (OLO_MODE=development): unsigned emulator tokens are\n"
    "!! accepted for any uid, the sandbox store credits coins for any receipt, webhooks\n"
    "!! signed with the built-in secret are believed. Never expose this to a network.\n" + "!" * 78
)


class ProductionSettingsError(ValueError):
    """Production settings that must not serve: the message names the variable to set."""


class Settings(BaseSettings):
    """Everything olo can be configured with; read once, passed down explicitly."""

    model_config = SettingsConfigDict(env_prefix="OLO_", extra="ignore")

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    data_dir: Path = Path(".olo")
    host: str = "127.0.0.1"
    port: int = 8000
    # "production" (the default) or "development" (emulator tokens, sandbox store, dev
    # secrets, GraphiQL and introspection); see the module docstring.
    mode: Literal["production", "development"] = "production"

    db_pool_min: int = 2
    db_pool_max: int = 10
    writer_batch_max: int = 2000
    writer_retries: int = 5
    command_retries: int = 10
    aggregate_cache_size: int = 100_000
    projection_page_size: int = 2000
    leadership_poll_seconds: float = 1.0
    # A job whose page fails tries it again after retry_seconds, doubling up to
    # retry_max_seconds; /readyz is not ready while a job has been failing stuck_seconds.
    follower_retry_seconds: float = 0.5
    follower_retry_max_seconds: float = 30.0
    stuck_seconds: float = 60.0
    worker_ops_port: int | None = None  # `olo worker` serves /healthz, /readyz, /metrics here
    gc_young_threshold: int = 10_000

    # Rate limits: in this process's memory, or shared by every process through Redis.
    redis_url: str | None = None  # e.g. redis://127.0.0.1:6379/0
    rate_limits: dict[str, str] = Field(default_factory=dict)  # over DEFAULT_RATE_LIMITS
    rate_limit_prefix: str = "olo"  # Redis keys (and budgets) are named under this

    # The timetable: cron expressions by job name, over DEFAULT_TIMETABLE
    timetable: dict[str, str] = Field(default_factory=dict)

    # Websockets (/graphql subscriptions)
    ws_max_connections: int = 20_000  # open at once in one API process
    ws_max_connections_per_user: int = 10
    ws_connection_init_seconds: float = 10.0  # `connection_init` must arrive within this

    # Limits (what one request may cost; see README "Limits")
    max_body_bytes: int = 256 * 1024  # /graphql and /webhooks bodies; larger: 413 unread
    max_header_bytes: int = 16 * 1024  # request line and headers; larger: 431
    header_timeout_seconds: float = 10.0  # a connection must send its headers within this
    keep_alive_seconds: int = 5  # an idle keep-alive connection is closed after this
    max_connections: int = 4096  # HTTP connections per process; more are closed at once
    limit_concurrency: int = 2048  # requests in progress per process; more get 503
    graphql_max_chars: int = 5000  # query text (variables are counted by the body limit)
    graphql_max_tokens: int = 500  # lexical tokens (and comments) in a query
    graphql_max_aliases: int = 50
    graphql_max_depth: int = 12
    graphql_max_fields: int = 100  # fields selected, fragments counted where spread
    # /metrics wants `Authorization: Bearer <token>` when set; unset, it is open in
    # development (OLO_MODE) and refused (404) in production.
    metrics_token: str | None = None

    firebase_project_id: str = DEV_FIREBASE_PROJECT_ID
    # Development: unset means 127.0.0.1:9099, empty means real tokens. Production: refused.
    firebase_auth_emulator_host: str | None = None
    firebase_credentials_file: Path | None = None
    # Where Google's public certificates for ID tokens are fetched (a setting for tests).
    firebase_certs_url: str = GOOGLE_ID_TOKEN_CERTS_URL
    verified_tokens_max: int = 10_000  # verified ID tokens kept in memory per process...
    verified_tokens_max_bytes: int = 16 * 1024 * 1024  # ...and at most about this many bytes

    welcome_bonus_coins: int = 0
    coin_packs_file: Path | None = None

    # Calls
    ring_seconds: float = 30.0  # an unanswered call is missed after this
    media_seconds: float = 20.0  # after accepting, both must join the channel within this
    roulette_offer_seconds: float = 10.0
    roulette_skip_minutes: float = 10.0  # a streamer skipped in roulette is not offered again
    presence_heartbeat_seconds: float = 10.0
    presence_ttl_seconds: float = 30.0  # online until this long after the last heartbeat
    meter_shards: int = 8  # calls are billed in this many shards, each led by one worker
    # "agora": Agora's webhooks say who joined a channel; "clients": the apps report it
    # themselves through joinCall/leaveCall (development without Agora).
    media_events: Literal["agora", "clients"] = "agora"

    # Agora (base URL is a setting so tests run against a loopback fake)
    agora_app_id: str = "0123456789abcdef0123456789abcdef"
    agora_app_certificate: str = DEV_AGORA_APP_CERTIFICATE
    agora_rest_url: str = "https://api.agora.io"
    agora_customer_id: str = DEV_AGORA_CUSTOMER_ID
    agora_customer_secret: str = DEV_AGORA_CUSTOMER_SECRET
    agora_ncs_secret: str = DEV_AGORA_NCS_SECRET
    agora_token_grace_seconds: int = 30  # token privileges last this long past paid time
    agora_kick_seconds: int = 60  # a kicking rule keeps a removed user out this long

    # Notifications (base URLs are settings so tests run against loopback fakes)
    fcm_api_url: str = "https://fcm.googleapis.com"
    onesignal_api_root: str = "https://api.onesignal.com"
    onesignal_app_id: str = ""
    onesignal_api_key: str = ""
    # Which provider carries pushes to a device that has both an FCM token and a OneSignal id.
    push_provider: Literal["fcm", "onesignal"] = "fcm"
    ack_seconds_calls: float = 2.0  # no in-app ACK within this: push
    ack_seconds_default: float = 30.0
    push_attempts: int = 4  # tries per push on 5xx / timeouts, with backoff
    push_concurrency: int = 100  # notifications being pushed per dispatcher shard
    push_connections: int = 64  # requests a worker has at the providers at once (per provider)
    push_shards: int = 4  # notifications are pushed in this many shards, each led by one worker
    # favorites and the blocklist's review (issue 11): a follower hears of a favorite coming
    # online at most once per this many hours; K distinct abuse blocks within the window
    # suspend the blocked user pending review.
    favorite_online_hours: float = Field(default=6.0, gt=0)
    suspend_after_blocks: int = Field(default=3, ge=1)
    suspend_window_hours: float = Field(default=24.0, gt=0)

    # Chat (domains/chat): on sign-up these streamers (user ids, or the firebase uids they
    # signed in with) greet the new user with this text, so those chats start at once.
    welcome_streamers: list[str] = Field(default_factory=list)
    welcome_greeting: str = "Hi! Welcome to olo. Write me any time, or call when I'm online."

    @property
    def push_providers(self) -> frozenset[str]:
        """The push providers configured: "fcm" (a service account), "onesignal" (app id and
        key). A device is reachable only through an address one of them pushes."""
        providers = set()
        if self.firebase_credentials_file is not None:
            providers.add("fcm")
        if self.onesignal_app_id and self.onesignal_api_key:
            providers.add("onesignal")
        return frozenset(providers)

    @property
    def development(self) -> bool:
        return self.mode == "development"

    @property
    def emulator_host(self) -> str | None:
        """The Firebase Auth emulator whose unsigned tokens are accepted, if any."""
        if self.firebase_auth_emulator_host is None:
            return DEV_EMULATOR_HOST if self.development else None
        return self.firebase_auth_emulator_host or None

    def cron(self, job: str) -> str:
        """The crontab expression `job` runs on (`OLO_TIMETABLE` over DEFAULT_TIMETABLE)."""
        try:
            return {**DEFAULT_TIMETABLE, **self.timetable}[job]
        except KeyError:
            raise KeyError(f"no cron expression for timetable job {job!r}") from None

    def check_production(self) -> None:
        """Refuse to serve production with development settings; a no-op in development.

        Raises :class:`ProductionSettingsError` naming the first variable to set.
        """
        if self.development:
            return
        for variable, problem in self._production_problems():
            raise ProductionSettingsError(
                f"{variable} {problem} (OLO_MODE=production; "
                "development is OLO_MODE=development or `olo serve --demo`)"
            )

    def _production_problems(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []

        def require(variable: str, value: str, dev_value: str | None = None) -> None:
            if not value.strip():
                problems.append((variable, "must be set"))
            elif value == dev_value:
                problems.append((variable, "is the built-in development value"))

        if self.firebase_auth_emulator_host:
            problems.append(
                ("OLO_FIREBASE_AUTH_EMULATOR_HOST", "is set: emulator tokens are unsigned")
            )
        require("OLO_FIREBASE_PROJECT_ID", self.firebase_project_id, DEV_FIREBASE_PROJECT_ID)
        require("OLO_AGORA_APP_CERTIFICATE", self.agora_app_certificate, DEV_AGORA_APP_CERTIFICATE)
        # /webhooks/agora is served in both media modes: a known secret would let anyone
        # report joins (and connect and bill calls).
        require("OLO_AGORA_NCS_SECRET", self.agora_ncs_secret, DEV_AGORA_NCS_SECRET)
        if self.media_events == "agora":  # the kicking-rule REST API is used
            require("OLO_AGORA_CUSTOMER_ID", self.agora_customer_id, DEV_AGORA_CUSTOMER_ID)
            require(
                "OLO_AGORA_CUSTOMER_SECRET", self.agora_customer_secret, DEV_AGORA_CUSTOMER_SECRET
            )
        if self.onesignal_app_id or self.onesignal_api_key:  # OneSignal is on
            require("OLO_ONESIGNAL_APP_ID", self.onesignal_app_id)
            require("OLO_ONESIGNAL_API_KEY", self.onesignal_api_key)
        return problems

    def export_environment(self) -> None:
        """Hand the settings that third-party libraries read from the environment to them.

        firebase-admin switches to unsigned emulator tokens on FIREBASE_AUTH_EMULATOR_HOST
        alone, so outside emulator mode the variable is removed, whoever set it.
        """
        if self.emulator_host:
            os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = self.emulator_host
        else:
            os.environ.pop("FIREBASE_AUTH_EMULATOR_HOST", None)
