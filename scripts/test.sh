#!/usr/bin/env bash
# Runs callbacksim's whole test suite on a fresh machine: installs what the
# tests need when it is missing (redis-server; chromium for the dashboard's
# browser test; curl, which runs the copy-as-curl commands; promtool (Prometheus) for the alerting rules; Node and npm, PHP and Flask for the example merchant apps,
# all Debian packages; Express from npm), then gofmt, vet, staticcheck, a
# short fuzzing pass, and the race-enabled tests.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v chromium >/dev/null || [ -n "${CHROME_PATH:-}" ] || need+=(chromium)
command -v curl >/dev/null || need+=(curl) # copy as curl: the tests run the commands
# The example merchant apps (examples/): each run script names what it uses.
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
command -v php >/dev/null || need+=(php-cli)
# promtool checks the Prometheus configuration and alerting rules.
command -v promtool >/dev/null || need+=(prometheus)
/usr/bin/python3 -c 'import flask' 2>/dev/null || need+=(python3-flask)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
    echo "scripts/test.sh: missing ${need[*]}; install them (apt-get install ${need[*]}) and run again" >&2
    exit 1
  fi
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "scripts/test.sh: installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "== npm ci (examples/node)"
(cd examples/node && npm ci --no-audit --no-fund --loglevel=error)

echo "== gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
echo "== go vet"
go vet ./...
echo "== staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
echo "== fuzz (${FUZZTIME:-5s} per target)"
scripts/fuzz.sh "${FUZZTIME:-5s}"
echo "== go test -race"
go test -race -count=1 -timeout 20m ./...
