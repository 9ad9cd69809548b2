#!/usr/bin/env bash
# Build (or find, cached) the OpenTelemetry Collector the log-routing tests run: the filelog
# receiver, the file exporter, the file and env config providers (testenv/otelcol/main.go). Its own
# cache key, apart from testenv/build.sh's, so changing one never rebuilds the other.
#
#   bash testenv/otelcol/build.sh          build if missing; the LAST line printed is the binary's path
#   bash testenv/otelcol/build.sh --find   print the binary's path if built (exit 1 otherwise); needs no Go
#   bash testenv/otelcol/build.sh --key    print the cache key (collector version + wrapper hash)
#
# The binary goes to ${TENANCY_TESTENV_CACHE:-$HOME/.cache/tenancy-testenv}/<key>/otelcol. Versions:
# go.mod (every collector module at one release: core v0.165.0/v1.71.0, contrib v0.165.1 — the
# filelog receiver's pkg/stanza is served at no older recent release). A cold build (empty GOCACHE,
# modules downloaded) takes about 200 CPU-seconds: 1 min 42 s wall on this project's 2-core machine,
# 17 min when other work left it 19% of the CPU.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
version="$(awk '$1 == "go.opentelemetry.io/collector/otelcol" {print $2; exit}' go.mod)"
hash="$(cat build.sh go.mod go.sum main.go | sha256sum | cut -c1-12)"
key="otelcol-${version}_${hash}"
cache="${TENANCY_TESTENV_CACHE:-$HOME/.cache/tenancy-testenv}"
bin="$cache/$key/otelcol"

case "${1:-}" in
  --key) echo "$key"; exit 0 ;;
  --find) [[ -x "$bin" ]] && { echo "$bin"; exit 0; }; exit 1 ;;
esac
if [[ -x "$bin" ]]; then
  echo "otelcol: cached ($key)"
  echo "$bin"
  exit 0
fi
mkdir -p "$cache/$key"
exec 9>"$cache/$key.lock"
flock 9
if [[ -x "$bin" ]]; then
  echo "otelcol: cached ($key, built by the build we waited for)"
  echo "$bin"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "otelcol: Go is not installed; install Go >= 1.26 and run this script again" >&2
  exit 2
fi
export GOFLAGS="-buildvcs=false"
start=$(date +%s)
tmp="$cache/$key/otelcol.tmp.$$"
go build -trimpath -o "$tmp" .
mv "$tmp" "$bin"
echo "otelcol: built $key in $(( $(date +%s) - start )) s" >&2
echo "$bin"
