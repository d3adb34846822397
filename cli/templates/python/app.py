"""{{id}}: a Keel plugin in Python, with FastAPI and the official Dapr Python SDK.

It serves the Keel plugin protocol itself (GET /v1/identify, GET /v1/status; POST
/v1/addons/identify once it offers addon points), answers every error with the {"ret", "msg"}
envelope, and checks the app API token its sidecar sends. Its own endpoint is GET /hello.
"""

import hmac
import os

from dapr.clients import DaprClient
from dapr.ext.fastapi import DaprApp
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

PLUGIN_ID = "{{id}}"  # its Dapr app-id
VERSION = "0.1.0"
KEEL_VERSION = "{{keel_version}}"  # the platform version it was written for (major.minor)
# The addon points it offers, e.g. [{"endpoint": "before-save", "desc": "..."}]; with any, it
# must answer POST /v1/addons/identify (below).
ADDONS = []

# Service invocation over HTTP, whatever the SDK's default.
os.environ.setdefault("DAPR_API_METHOD_INVOCATION_PROTOCOL", "HTTP")

app = FastAPI(title=PLUGIN_ID)
dapr_app = DaprApp(app)  # the SDK's FastAPI extension (pub/sub subscriptions go here)
APP_TOKEN = os.environ.get("APP_API_TOKEN", "")
_dapr = None


def dapr() -> DaprClient:
    """One SDK client for the process (creating it waits for the sidecar): for calls to other
    plugins through keel, e.g. dapr().invoke_method("keel", "echo/hello", http_verb="GET")."""
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
            return JSONResponse({"ret": 401, "msg": "missing or wrong dapr-api-token"}, status_code=401)
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
    doc = {"ret": 0, "msg": "ok", "plugin_id": PLUGIN_ID, "version": VERSION, "keel_version": KEEL_VERSION}
    if ADDONS:
        doc["addons"] = ADDONS
    return doc


@app.get("/v1/status")
def status():
    return {"ret": 0, "msg": "ok", "status": "ACTIVE"}


@app.post("/v1/addons/identify")
async def addons_identify(request: Request):
    """Another plugin asks to implement ADDONS: answer ret 0 to accept, anything else refuses
    (the msg reaches whoever registers it)."""
    try:
        body = await request.json()
        implementer = body["plugin"]["id"]
        points = [e["addons_point"] for e in body["endpoint"]]
    except (ValueError, KeyError, TypeError) as err:
        return JSONResponse({"ret": 400, "msg": f"malformed addons identify: {err!r}"}, status_code=400)
    offered = {p["endpoint"] for p in ADDONS}
    unknown = [p for p in points if p not in offered]
    if unknown:
        return {"ret": 1, "msg": f"{implementer} implements points {PLUGIN_ID} does not offer: {unknown}"}
    return {"ret": 0, "msg": "ok"}


@app.get("/healthz")
def healthz():
    return {"ret": 0, "msg": "ok"}


@app.get("/hello")
def hello(request: Request):
    """Says who called, as keel tells it (x-keel-caller for a plugin, x-keel-user for a client
    outside the mesh)."""
    return {
        "ret": 0,
        "msg": "ok",
        "hello": f"hello from {PLUGIN_ID}",
        "caller": request.headers.get("x-keel-caller", ""),
        "user": request.headers.get("x-keel-user", ""),
    }
