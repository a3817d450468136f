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
    if ! out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1); then
      echo "$out"
      # A failing input is written under testdata/fuzz: a real failure.
      if grep -q "Failing input written to" <<<"$out"; then
        exit 1
      fi
      # Without one, the fuzzing engine itself stopped: Go's coordinator can
      # report its own deadline as a failure when fuzztime ends while a
      # worker is busy (seen on a loaded machine). Any other stop is run
      # again once before it counts.
      if grep -q "context deadline exceeded" <<<"$out"; then
        echo "== $pkg $target: the fuzzing engine hit its own deadline; no failing input"
      else
        echo "== $pkg $target: no failing input; running it again"
        go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
      fi
    else
      echo "$out" | tail -n 1
    fi
  done
done < <(go list -f '{{.Dir}} {{.ImportPath}}' ./...)

if [ "$found" -eq 0 ]; then
  echo "scripts/fuzz.sh: no fuzz targets found" >&2
  exit 1
fi
echo "== $found fuzz targets ran for $fuzztime each"
