"""The one settings object of olo: environment variables `DATABASE_URL` and `OLO_*`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything olo can be configured with; read once, passed down explicitly."""

    model_config = SettingsConfigDict(env_prefix="OLO_", extra="ignore")

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    data_dir: Path = Path(".olo")
    host: str = "127.0.0.1"
    port: int = 8000
    dev_mode: bool = True

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

    firebase_project_id: str = "demo-olo"
    firebase_auth_emulator_host: str | None = "127.0.0.1:9099"
    firebase_credentials_file: Path | None = None

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
    agora_app_certificate: str = "fedcba9876543210fedcba9876543210"
    agora_rest_url: str = "https://api.agora.io"
    agora_customer_id: str = "olo-dev"
    agora_customer_secret: str = "olo-dev-secret"
    agora_ncs_secret: str = "olo-dev-ncs-secret"
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

    def export_environment(self) -> None:
        """Hand the settings that third-party libraries read from the environment to them."""
        if self.firebase_auth_emulator_host:
            os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = self.firebase_auth_emulator_host
        else:
            os.environ.pop("FIREBASE_AUTH_EMULATOR_HOST", None)
