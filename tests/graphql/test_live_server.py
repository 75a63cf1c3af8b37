"""The API through a real uvicorn server on a loopback port."""

from __future__ import annotations

import httpx

from tests.conftest import LiveServer
from tests.factories import IPHONE_UA, LOGIN, make_account


async def test_login_and_sessions_over_a_live_server(live_server: LiveServer) -> None:
    await make_account(live_server.app)
    async with httpx.AsyncClient(base_url=live_server.url, headers={"user-agent": IPHONE_UA}) as http:
        response = await http.post("/graphql", json={"query": LOGIN, "variables": {
            "username": "alice", "password": "correct horse battery staple"}})
        token = response.json()["data"]["login"]["token"]
        query = "{ viewer { sessions { nodes { isCurrent device ipAddress location } } } }"
        listed = await http.post("/graphql", json={"query": query}, headers={"authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    assert listed.json() == {"data": {"viewer": {"sessions": {"nodes": [
        {"isCurrent": True, "device": "iPhone", "ipAddress": "127.0.0.x", "location": "Local network"}]}}}}
