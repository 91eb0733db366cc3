"""Production is the default, and it refuses to start with a development value in a secret,
naming the variable; with proper secrets it starts."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fakes import free_port

from app import create_app
from eventlog.settings import ProductionSettingsError, Settings

ROOT = Path(__file__).resolve().parents[2]

PROPER = {
    "OLO_FIREBASE_PROJECT_ID": "olo-prod-test",
    "OLO_AGORA_APP_CERTIFICATE": "0f" * 16,
    "OLO_AGORA_NCS_SECRET": "ncs-production-secret",
    "OLO_AGORA_CUSTOMER_ID": "customer",
    "OLO_AGORA_CUSTOMER_SECRET": "customer-secret",
}
DEV = Settings(mode="development")
DEV_VALUES = {
    "OLO_FIREBASE_PROJECT_ID": DEV.firebase_project_id,
    "OLO_AGORA_APP_CERTIFICATE": DEV.agora_app_certificate,
    "OLO_AGORA_NCS_SECRET": DEV.agora_ncs_secret,
    "OLO_AGORA_CUSTOMER_ID": DEV.agora_customer_id,
    "OLO_AGORA_CUSTOMER_SECRET": DEV.agora_customer_secret,
}


def _settings(**variables: str) -> Settings:
    values = {k.removeprefix("OLO_").lower(): v for k, v in {**PROPER, **variables}.items()}
    return Settings(mode="production", **values)  # type: ignore[arg-type]


def _environment(**variables: str) -> dict[str, str]:
    """This process's environment without olo's or Firebase's variables, plus `variables`."""
    kept = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("OLO_") and k not in ("DATABASE_URL", "FIREBASE_AUTH_EMULATOR_HOST")
    }
    return kept | variables


def test_production_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLO_MODE", raising=False)
    monkeypatch.delenv("OLO_FIREBASE_AUTH_EMULATOR_HOST", raising=False)
    settings = Settings()
    assert settings.mode == "production" and not settings.development
    assert settings.emulator_host is None
    with pytest.raises(ProductionSettingsError):
        settings.check_production()


def test_development_accepts_the_built_in_values() -> None:
    DEV.check_production()
    assert DEV.emulator_host == "127.0.0.1:9099"
    assert Settings(mode="development", firebase_auth_emulator_host="").emulator_host is None


def test_proper_production_settings_pass() -> None:
    _settings().check_production()
    # Clients mode does not use the kicking-rule API: its customer id and secret may stay.
    _settings(
        OLO_MEDIA_EVENTS="clients",
        OLO_AGORA_CUSTOMER_ID=DEV_VALUES["OLO_AGORA_CUSTOMER_ID"],
        OLO_AGORA_CUSTOMER_SECRET=DEV_VALUES["OLO_AGORA_CUSTOMER_SECRET"],
    ).check_production()


@pytest.mark.parametrize("variable", sorted(DEV_VALUES))
def test_a_development_value_is_refused_by_name(variable: str) -> None:
    with pytest.raises(ProductionSettingsError, match=variable) as refused:
        _settings(**{variable: DEV_VALUES[variable]}).check_production()
    assert "built-in development value" in str(refused.value)
    with pytest.raises(ProductionSettingsError, match=f"{variable} must be set"):
        _settings(**{variable: ""}).check_production()


def test_emulator_tokens_and_half_configured_onesignal_are_refused() -> None:
    with pytest.raises(ProductionSettingsError, match="OLO_FIREBASE_AUTH_EMULATOR_HOST"):
        _settings(OLO_FIREBASE_AUTH_EMULATOR_HOST="127.0.0.1:9099").check_production()
    with pytest.raises(ProductionSettingsError, match="OLO_ONESIGNAL_API_KEY must be set"):
        _settings(OLO_ONESIGNAL_APP_ID="app").check_production()
    _settings(OLO_ONESIGNAL_APP_ID="app", OLO_ONESIGNAL_API_KEY="key").check_production()


def test_create_app_refuses_a_development_secret(database_url: str) -> None:
    settings = _settings(OLO_AGORA_NCS_SECRET=DEV_VALUES["OLO_AGORA_NCS_SECRET"])
    with pytest.raises(ProductionSettingsError, match="OLO_AGORA_NCS_SECRET"):
        create_app(settings, database_url)


def _olo(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_olo_serve_refuses_a_development_secret_naming_it(database_url: str) -> None:
    certificate = DEV_VALUES["OLO_AGORA_APP_CERTIFICATE"]
    env = _environment(**{**PROPER, "OLO_AGORA_APP_CERTIFICATE": certificate})
    env["DATABASE_URL"] = database_url
    process = _olo("serve", "--no-worker", env=env)
    _, stderr = await asyncio.to_thread(process.communicate, timeout=60)
    assert process.returncode != 0
    assert "refusing to start: OLO_AGORA_APP_CERTIFICATE is the built-in development value" in (
        stderr
    ), stderr


async def test_olo_serve_demo_refuses_an_explicit_production_mode(database_url: str) -> None:
    env = _environment(OLO_MODE="production", DATABASE_URL=database_url)
    process = _olo("serve", "--demo", env=env)
    _, stderr = await asyncio.to_thread(process.communicate, timeout=60)
    assert process.returncode != 0
    assert "the demo runs in development mode, but OLO_MODE=production" in stderr


async def test_olo_serve_starts_in_production_with_proper_secrets(database_url: str) -> None:
    port = free_port()
    env = _environment(**PROPER, DATABASE_URL=database_url, OLO_PORT=str(port))
    process = _olo("serve", "--no-worker", env=env)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(600):
                assert process.poll() is None, process.communicate()
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                pytest.fail("olo serve did not answer /healthz within 60 s")
            assert (await client.get("/docs")).status_code == 404
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.to_thread(process.communicate, timeout=60)
    assert process.returncode == 0, stderr  # uvicorn's graceful shutdown ran to its end
    assert "Application shutdown complete" in stderr
    assert "DEVELOPMENT mode" not in stderr
    assert "deprecated" not in stderr.lower(), stderr
