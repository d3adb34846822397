"""The plugin answers the protocol as the registry expects (run: ./run.sh test).

The app is called as an ASGI application, with nothing beyond the standard library.
"""

import asyncio
import json
import unittest

import app as plugin
from app import app


def call(method, path, body=b""):
    """(status, JSON body) of one request to the app."""

    async def run():
        sent = []
        delivered = False

        async def receive():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the client stays connected

        async def send(message):
            sent.append(message)

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
            "root_path": "", "headers": [(b"content-type", b"application/json")],
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
        }
        await app(scope, receive, send)
        status = next(m["status"] for m in sent if m["type"] == "http.response.start")
        data = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return status, json.loads(data)

    return asyncio.run(run())


class Protocol(unittest.TestCase):
    def test_identify(self):
        status, doc = call("GET", "/v1/identify")
        self.assertEqual(status, 200)
        self.assertEqual(doc["ret"], 0)
        self.assertEqual(doc["plugin_id"], "{{id}}")

    def test_status(self):
        self.assertEqual(call("GET", "/v1/status"), (200, {"ret": 0, "msg": "ok", "status": "ACTIVE"}))

    def test_errors_carry_the_envelope(self):
        status, doc = call("GET", "/no-such-path")
        self.assertEqual(status, 404)
        self.assertNotEqual(doc["ret"], 0)

    def test_addons_identify_judges_implementers(self):
        saved, plugin.ADDONS = plugin.ADDONS, [{"endpoint": "before-save", "desc": "d"}]
        try:
            request = {"plugin": {"id": "other", "version": "1.0.0"},
                       "endpoint": [{"addons_point": "before-save", "endpoint": "hooks/x"}]}
            self.assertEqual(call("POST", "/v1/addons/identify", json.dumps(request).encode())[1]["ret"], 0)
            request["endpoint"][0]["addons_point"] = "not-offered"
            self.assertNotEqual(call("POST", "/v1/addons/identify", json.dumps(request).encode())[1]["ret"], 0)
            status, doc = call("POST", "/v1/addons/identify", b"{}")
            self.assertEqual(status, 400)
            status, doc = call("GET", "/v1/identify")
            self.assertEqual(doc["addons"], plugin.ADDONS)
        finally:
            plugin.ADDONS = saved

    def test_hello(self):
        status, doc = call("GET", "/hello")
        self.assertEqual((status, doc["hello"]), (200, "hello from {{id}}"))


if __name__ == "__main__":
    unittest.main()
