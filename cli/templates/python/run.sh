#!/usr/bin/env bash
# Starts {{id}} on $APP_PORT, creating its virtualenv on first use (KEEL_PLUGIN_VENV, default
# .venv next to this file). Works the same under `dapr run` and the Keel sidecar stand-in.
# `./run.sh test` runs the tests (test_app.py) instead.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${KEEL_PLUGIN_VENV:-$here/.venv}"
stamp="$venv/.requirements.$(sha256sum "$here/requirements.txt" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "{{id}}: installing pinned dependencies into $venv (once, from PyPI)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  touch "$stamp"
fi
if [ "${1:-}" = test ]; then
  cd "$here" && exec "$venv/bin/python" -m unittest -v
fi
echo "{{id}}: serving on 127.0.0.1:${APP_PORT:?APP_PORT is set by dapr run}" >&2
exec "$venv/bin/python" -m uvicorn --app-dir "$here" app:app --host 127.0.0.1 --port "${APP_PORT:?APP_PORT is set by dapr run}" --log-level warning
