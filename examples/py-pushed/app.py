"""A service that joins Keel the push way (docs/push.md), as production would: it takes a
client-credentials token from auth through keel's public port, registers itself with the
registry's push API with that token, heartbeats with it, and deregisters when it stops.

Settings (environment): KEEL_URL (keel's public port), REGISTRY_URL (the push API),
PUSHED_CLIENT_ID and PUSHED_CLIENT_SECRET (its client credentials, which a platform admin
created in auth), PORT.
"""

import asyncio
import contextlib
import logging
import os

import httpx
from fastapi import FastAPI

KEEL_URL = os.environ.get("KEEL_URL", "http://127.0.0.1:8000")
REGISTRY_URL = os.environ.get("REGISTRY_URL", "http://127.0.0.1:8001")
CLIENT_ID = os.environ.get("PUSHED_CLIENT_ID", "pushed")
CLIENT_SECRET = os.environ.get("PUSHED_CLIENT_SECRET", "")
PORT = int(os.environ.get("PORT", "8020"))
HEARTBEAT_S = 10

log = logging.getLogger("py-pushed")

SERVICE = {
    "name": CLIENT_ID,
    "display_name": "Pushed quotes",
    "description": "An example service registered by push, with a token",
    "version": "1.0.0",
    "host": "127.0.0.1",
    "port": PORT,
    "base_path": "/",
    "health_check_url": "/health",
    "metadata": {"example": True},
    "tags": ["example"],
    "requires_auth": True,
    "heartbeat_interval": HEARTBEAT_S,
    "endpoints": [
        {"path": "quote", "method": "GET", "description": "a quote", "is_public": False},
        {"path": "health", "method": "GET", "description": "liveness", "is_public": True},
    ],
}


class Registration:
    """The token and the calls that need it; a refused token is fetched again once."""

    def __init__(self, http: httpx.AsyncClient):
        self.http = http
        self.token = ""

    async def fetch_token(self) -> None:
        res = await self.http.post(
            f"{KEEL_URL}/apis/auth/v1/oauth/token",
            data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        )
        res.raise_for_status()
        self.token = res.json()["access_token"]

    async def call(self, path: str, body: dict | None = None) -> httpx.Response:
        for attempt in range(2):
            if not self.token:
                await self.fetch_token()
            res = await self.http.post(
                f"{REGISTRY_URL}{path}", json=body, headers={"Authorization": f"Bearer {self.token}"}
            )
            if res.status_code != 401 or attempt:
                return res
            self.token = ""
        return res


async def keep_registered(reg: Registration) -> None:
    while True:
        try:
            res = await reg.call("/api/registry/register", SERVICE)
            if res.status_code in (200, 201):
                log.warning("registered %s with the platform", CLIENT_ID)
                break
            log.warning("registration refused (%s): %s", res.status_code, res.text)
        except httpx.HTTPError as e:
            log.warning("registry not reachable yet: %s", e)
        await asyncio.sleep(2)
    while True:
        await asyncio.sleep(HEARTBEAT_S)
        with contextlib.suppress(httpx.HTTPError):
            await reg.call("/api/registry/heartbeat", {"service_id": CLIENT_ID, "status": "healthy"})


@contextlib.asynccontextmanager
async def lifespan(_app: FastAPI):
    async with httpx.AsyncClient(timeout=5.0) as http:
        reg = Registration(http)
        task = asyncio.create_task(keep_registered(reg))
        yield
        task.cancel()
        with contextlib.suppress(httpx.HTTPError):
            await reg.call(f"/api/registry/deregister/{CLIENT_ID}")


app = FastAPI(lifespan=lifespan)


@app.get("/quote")
def quote() -> dict:
    return {"quote": "Simplicity is prerequisite for reliability.", "by": "Edsger W. Dijkstra", "served_by": CLIENT_ID}


@app.get("/health")
def health() -> dict:
    return {"status": "healthy"}
