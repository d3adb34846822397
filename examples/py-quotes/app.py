"""py-quotes: a Keel plugin written in Python with FastAPI and the official Dapr Python SDK.

It implements the Keel plugin protocol by hand (platform.md section 2) -- proof that any Dapr app,
in any language, can be a plugin -- and calls the Rust `echo` plugin *through keel* with the SDK's
service invocation (`DaprClient().invoke_method('keel', 'echo/...')`), so keel checks the target
and tells it who called.
"""

import hmac
import json
import os
import random

from dapr.clients import DaprClient
from dapr.ext.fastapi import DaprApp
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

PLUGIN_ID = "py-quotes"
VERSION = "1.0.0"
QUOTES = [
    "Simplicity is prerequisite for reliability. -- Edsger W. Dijkstra",
    "Make it work, make it right, make it fast. -- Kent Beck",
    "The network is reliable. -- the first fallacy of distributed computing",
]

# Service invocation over HTTP (the SDK's default for invoke_method; set explicitly so the
# plugin does not depend on the SDK's choice).
os.environ.setdefault("DAPR_API_METHOD_INVOCATION_PROTOCOL", "HTTP")

app = FastAPI(title=PLUGIN_ID)
dapr_app = DaprApp(app)  # the SDK's FastAPI extension (subscriptions, if any, would go here)
APP_TOKEN = os.environ.get("APP_API_TOKEN", "")
_dapr = None


def dapr() -> DaprClient:
    """One SDK client for the process: creating it waits for the sidecar, so do it once."""
    global _dapr
    if _dapr is None:
        _dapr = DaprClient()
    return _dapr


@app.middleware("http")
async def require_app_token(request: Request, call_next):
    """With APP_API_TOKEN set only this app's sidecar may call it (it sends dapr-api-token)."""
    if APP_TOKEN and request.url.path != "/healthz":
        given = request.headers.get("dapr-api-token", "")
        if not hmac.compare_digest(given, APP_TOKEN):
            return JSONResponse({"ret": -401, "msg": "missing or wrong dapr-api-token"}, status_code=401)
    return await call_next(request)


@app.exception_handler(HTTPException)
async def envelope_http_errors(request: Request, exc: HTTPException):
    """Errors carry the envelope too (unknown paths included), not FastAPI's {"detail"}."""
    return JSONResponse({"ret": exc.status_code, "msg": str(exc.detail)}, status_code=exc.status_code)


@app.exception_handler(RequestValidationError)
async def envelope_validation_errors(request: Request, exc: RequestValidationError):
    return JSONResponse({"ret": 422, "msg": f"malformed request: {exc.errors()}"}, status_code=422)


@app.get("/v1/identify")
def identify():
    return {"ret": 0, "msg": "ok", "plugin_id": PLUGIN_ID, "version": VERSION, "keel_version": "1.0"}


@app.get("/v1/status")
def status():
    return {"ret": 0, "msg": "ok", "status": "ACTIVE"}


@app.get("/healthz")
def healthz():
    return {"ret": 0, "msg": "ok"}


@app.get("/quote")
def quote(request: Request):
    """A random quote; also asks echo (through keel) to confirm it saw the quote."""
    text = random.choice(QUOTES)
    echoed = None
    try:
        resp = dapr().invoke_method(
            app_id="keel",
            method_name="echo/quotes",
            data=json.dumps({"quote": text}),
            content_type="application/json",
            http_verb="POST",
        )
        body = json.loads(resp.data)
        echoed = {"by": "echo", "caller_seen_by_echo": body.get("headers", {}).get("x-keel-caller", [None])[0]}
    except Exception as err:  # noqa: BLE001 -- report any failure of the peer call to the client
        echoed = {"error": str(err)}
    return {
        "ret": 0,
        "msg": "ok",
        "quote": text,
        "caller": request.headers.get("x-keel-caller"),
        "echo": echoed,
    }
