#!/usr/bin/env bash
# Starts the pushed example on $PORT (default 8020), creating its virtualenv on first use. It is
# not a Dapr app: it joins the platform by push registration (docs/push.md).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${PY_PUSHED_VENV:-$here/../../target/py-pushed-venv}"
stamp="$venv/.requirements.$(sha256sum "$here/requirements.txt" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "py-pushed: first start: installing pinned dependencies from PyPI into $venv (about 30 s)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  touch "$stamp"
fi
port="${PORT:-8020}"
echo "py-pushed: serving on 127.0.0.1:$port" >&2
exec "$venv/bin/python" -m uvicorn --app-dir "$here" app:app --host 127.0.0.1 --port "$port" --log-level warning
