#!/bin/sh
# The start file of the hosted-hello bundle: what the seed asks of one, done our way.
#   start.sh start --port=<N> --args=<args>   starts ./hello_service in the background
#   start.sh stop                             stops the process named in pid.txt
# The service writes pid.txt itself; its output goes wherever ours goes (hosting keeps it).
set -u
cd "$(dirname "$0")" || exit 1
PORT=""
ARGS=""
VERB="${1:-help}"
[ $# -gt 0 ] && shift
for arg in "$@"; do
  case "$arg" in
    --port=*) PORT="${arg#*=}" ;;
    --args=*) ARGS="${arg#*=}" ;;
  esac
done

case "$VERB" in
  start)
    [ -n "$PORT" ] || { echo "start needs --port=<N>" >&2; exit 2; }
    nohup ./hello_service --port="$PORT" --args="$ARGS" </dev/null &
    ;;
  stop)
    [ -f pid.txt ] || exit 0
    pid="$(cat pid.txt)"
    kill -TERM "$pid" 2>/dev/null || exit 0
    # Up to 1.5 s to finish its requests, then it is killed.
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 15 ]; do
      sleep 0.1
      i=$((i + 1))
    done
    kill -KILL "$pid" 2>/dev/null || true
    ;;
  *)
    echo "usage: $0 start|stop --port=<N> --args=<args>"
    [ "$VERB" = help ]
    ;;
esac
