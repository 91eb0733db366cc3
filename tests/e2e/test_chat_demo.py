"""`olo serve --demo` configures the sign-up greeting: a user new to the demo finds a chat
with demo-bella, her greeting in it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from fakes import free_port

from domains.profile.auth import mint_emulator_token

ROOT = Path(__file__).resolve().parents[2]
CHATS = (
    "{ chats(first: 5) { ... on ChatPage { chats { peer { displayName } lastItem { text } } } } }"
)


def _serve_demo(database_url: str, port: int) -> subprocess.Popen[str]:
    """`olo serve --demo` on the test's database (no embedded PostgreSQL)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("OLO_") and k != "FIREBASE_AUTH_EMULATOR_HOST"
    }
    env |= {"DATABASE_URL": database_url, "OLO_PORT": str(port)}
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_a_new_demo_user_is_greeted_by_demo_bella(database_url: str) -> None:
    port = free_port()
    process = _serve_demo(database_url, port)
    token = mint_emulator_token("demo-newcomer", "demo-olo", name="Newcomer")
    found: list[dict[str, object]] = []
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for _ in range(1200):  # start-up and seeding, then the greeting policy
                assert process.poll() is None, process.communicate()
                try:
                    response = await client.post(
                        "/graphql",
                        json={"query": CHATS},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    found = response.json()["data"]["chats"]["chats"]
                except (httpx.TransportError, KeyError, TypeError, ValueError):
                    found = []
                if found:
                    break
                await asyncio.sleep(0.1)
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.to_thread(process.communicate, timeout=120)
    assert len(found) == 1, found
    (chat,) = found
    assert chat["peer"] == {"displayName": "Bella"}
    assert chat["lastItem"] == {
        "text": "Hi! Welcome to olo. Write me any time, or call when I'm online."
    }
