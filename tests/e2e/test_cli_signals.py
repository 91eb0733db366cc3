"""`olo serve --demo` (what `make run` runs) on an embedded PostgreSQL: the README's quick start
(development mode, the demo token), SIGTERM and SIGHUP stop it as Ctrl-C does, PostgreSQL
included; it starts with one loud development warning and no deprecation warning."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest
from fakes import free_port

from domains.profile.auth import mint_emulator_token

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedded PostgreSQL data dir for the module (initdb once)."""
    return tmp_path_factory.mktemp("olo-signals")


def _postgres_of(pgdata: Path) -> list[psutil.Process]:
    """Running postgres server processes started on `pgdata`."""
    found = []
    for process in psutil.process_iter(attrs=["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if process.info["name"] == "postgres" and str(pgdata) in cmdline:
            found.append(process)
    return found


async def _demo_alice_coins(base_url: str) -> int:
    """What GraphiQL shows with the token `make run` prints, once the worker's balance
    projection has caught up with the demo grants (or 30 s)."""
    token = mint_emulator_token("demo-alice", "demo-olo", name="demo-alice")
    coins = 0
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        for _ in range(300):
            response = await client.post(
                "/graphql",
                json={"query": "{ me { balance { coins } } }"},
                headers={"Authorization": f"Bearer {token}"},
            )
            coins = int(response.json()["data"]["me"]["balance"]["coins"])
            if coins:
                break
            await asyncio.sleep(0.1)
    return coins


async def _wait_healthy(process: subprocess.Popen[str], base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        for _ in range(1800):
            assert process.poll() is None, process.communicate()
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    pytest.fail("olo serve --demo did not answer /healthz within 180 s")


def _serve_demo(data_dir: Path, port: int) -> subprocess.Popen[str]:
    """`olo serve --demo` as `make run` starts it: no DATABASE_URL, so an embedded server."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("OLO_") and k not in ("DATABASE_URL", "FIREBASE_AUTH_EMULATOR_HOST")
    }
    env |= {"OLO_DATA_DIR": str(data_dir), "OLO_PORT": str(port)}
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
async def test_a_stop_signal_stops_the_embedded_postgresql(
    data_dir: Path, stop: signal.Signals
) -> None:
    port = free_port()
    process = _serve_demo(data_dir, port)
    pgdata = (data_dir / "pgdata").resolve()
    try:
        await _wait_healthy(process, f"http://127.0.0.1:{port}")
        assert await _demo_alice_coins(f"http://127.0.0.1:{port}") == 1000
        postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
        assert psutil.pid_exists(postmaster)
        assert _postgres_of(pgdata)
        process.send_signal(stop)
        stdout, stderr = await asyncio.to_thread(process.communicate, timeout=120)
    finally:
        if process.poll() is None:  # the test failed early: stop it the way that works
            process.send_signal(signal.SIGINT)
            await asyncio.to_thread(process.communicate, timeout=120)
    assert process.returncode == 0, stderr
    assert not psutil.pid_exists(postmaster) or psutil.Process(postmaster).status() == "zombie"
    assert _postgres_of(pgdata) == []
    assert not (pgdata / "postmaster.pid").exists()
    output = stdout + stderr
    assert output.count("olo is in DEVELOPMENT mode") == 1, output
    assert "deprecat" not in output.lower(), output
