#!/bin/sh
# Starts one InfraBox app: `docker run IMAGE api|registry|scheduler|output-forwarder [ARGS…]`
# runs `node dist/apps/<app>/src/main.js ARGS…` (e.g. --config /etc/infrabox/config.yaml --port 8080).
# exec replaces this shell, so the app gets SIGTERM from tini directly.
set -eu

APPS='api registry scheduler output-forwarder'
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)

usage() {
  cat <<USAGE
Usage: IMAGE APP [--config FILE] [--port N]

APP is one of: $APPS
Runs node dist/apps/APP/src/main.js with the remaining arguments; APP --help lists them.

Example:
  docker run IMAGE api --config /etc/infrabox/config.yaml --port 8080
USAGE
}

if [ $# -eq 0 ]; then
  echo 'infrabox: name the app to run' >&2
  usage >&2
  exit 2
fi

app=$1
shift
case "$app" in
  api | registry | scheduler | output-forwarder) ;;
  -h | --help)
    usage
    exit 0
    ;;
  *)
    echo "infrabox: unknown app '$app': expected one of $APPS" >&2
    exit 2
    ;;
esac

main="$root/dist/apps/$app/src/main.js"
if [ ! -f "$main" ]; then
  echo "infrabox: $main is missing: the image (or checkout) was not built with npm run build" >&2
  exit 2
fi
exec node "$main" "$@"
