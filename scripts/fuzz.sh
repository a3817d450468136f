#!/usr/bin/env bash
# Runs every Go fuzz target of the module (func FuzzXxx(f *testing.F) in a
# _test.go file) for a short while each: scripts/fuzz.sh [FUZZTIME], e.g.
# scripts/fuzz.sh 10s (the default). Each target's seed corpus also runs
# with the ordinary `go test ./...`; this adds new inputs on top. A failing
# input is saved under the package's testdata/fuzz/ and the script stops:
# commit it, so that `go test` replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${1:-10s}"

found=0
while read -r dir pkg; do
  targets=$(grep -hoE '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' "$dir"/*_test.go 2>/dev/null |
    sed -E 's/^func (Fuzz[A-Za-z0-9_]+).*/\1/' | sort -u) || true
  for target in $targets; do
    found=$((found + 1))
    echo "== $pkg $target ($fuzztime)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
  done
done < <(go list -f '{{.Dir}} {{.ImportPath}}' ./...)

if [ "$found" -eq 0 ]; then
  echo "scripts/fuzz.sh: no fuzz targets found" >&2
  exit 1
fi
echo "== $found fuzz targets ran for $fuzztime each"
