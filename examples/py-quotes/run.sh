#!/usr/bin/env bash
# Starts the py-quotes plugin on $APP_PORT, creating its virtualenv on first use. Works the same
# under `dapr run -f dapr.yaml` and under the repository's sidecar stand-in.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${PY_QUOTES_VENV:-$here/../../target/py-quotes-venv}"
stamp="$venv/.requirements.$(sha256sum "$here/requirements.txt" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  # The first start downloads from PyPI (about 40 s); the sidecar's "Waiting for application to
  # listen" lines meanwhile are expected.
  echo "py-quotes: first start: installing pinned dependencies from PyPI into $venv (about 40 s; the app listens once it is done)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  touch "$stamp"
fi
echo "py-quotes: serving on 127.0.0.1:${APP_PORT:?APP_PORT is set by dapr run}" >&2
exec "$venv/bin/python" -m uvicorn --app-dir "$here" app:app --host 127.0.0.1 --port "${APP_PORT:?APP_PORT is set by dapr run}" --log-level warning
