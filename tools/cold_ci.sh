#!/usr/bin/env bash
# `.ci/run` as a machine that has never built anything runs it: a fresh clone of HEAD, and empty
# HOME, Go module and build caches, pip cache and testenv cache (all under one temporary folder,
# removed afterwards unless KEEP=1). Prints the wall time of the whole run and of the Go build and
# exits with .ci/run's status. Slow on purpose (about 30 min on 2 cores); not part of `make test`.
#
#   bash tools/cold_ci.sh            # clones the committed HEAD of this checkout
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d -t tenancy-cold.XXXXXX)"
[[ "${KEEP:-0}" == 1 ]] || trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/home"
git clone -q "$src" "$tmp/repo"
echo "cold CI: $(git -C "$tmp/repo" log --oneline -1 | cut -c1-80) in $tmp ($(date -u +%H:%M:%S))"
start=$SECONDS
# Only the toolchains' own locations stay (Go's, pyenv's); every cache starts empty.
set +e
env -i PATH="$PATH" PYENV_ROOT="${PYENV_ROOT:-}" LANG=C.UTF-8 CI=true HOME="$tmp/home" \
  GOMODCACHE="$tmp/gomod" GOCACHE="$tmp/gocache" GOPATH="$tmp/gopath" PIP_CACHE_DIR="$tmp/pip" \
  XDG_CACHE_HOME="$tmp/home/.cache" TENANCY_TESTENV_CACHE="$tmp/testenv" \
  bash -c 'cd "$1" && bash .ci/run' _ "$tmp/repo" > "$tmp/run.log" 2>&1
rc=$?
set -e
grep -E "^\[[0-9]/6\] .*built in|^testenv: built" "$tmp/run.log" || true
grep -E "^(FAILED|ERROR) " "$tmp/run.log" || true
tail -n 1 "$tmp/run.log"
go_s="$(sed -n 's/^seconds=//p' "$tmp"/testenv/*/bin/.complete 2>/dev/null | head -n 1)"
echo "cold CI: exit $rc; wall $((SECONDS - start)) s; Go build ${go_s:-?} s"
exit "$rc"
