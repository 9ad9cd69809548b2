#!/usr/bin/env bash
# Build (or find, cached) the live tests' binaries from Go modules: kube-apiserver,
# kube-controller-manager, etcd, pulumi, pulumi-language-python (+ its -exec shim) and
# pulumi-resource-kubernetes. See README "Live tests".
#
#   bash testenv/build.sh          build what is missing; the LAST line printed is the bin folder
#   bash testenv/build.sh --find   print the bin folder if it is complete (exit 1 otherwise); needs no Go
#   bash testenv/build.sh --path   print where the bin folder is (built or not); needs no Go
#   bash testenv/build.sh --key    print the cache key (versions + wrapper hash): a CI cache key; needs no Go
#
# Binaries go to ${TENANCY_TESTENV_CACHE:-$HOME/.cache/tenancy-testenv}/<key>/bin, where <key> names
# the versions and hashes the wrapper modules (go.mod, go.sum, *.go) and this script. Go's own caches
# (GOMODCACHE, GOCACHE) stay at their defaults, outside the checkout, so a rebuild after a small change
# recompiles little. Requires Go >= 1.26 and the Go module proxy.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

# Versions: single source is each wrapper's go.mod.
modver() { awk -v m="$2" '$1 == m && $2 ~ /^v/ {print $2; exit}' "$1/go.mod"; }
KUBE_VERSION="$(modver kube k8s.io/kubernetes)"                 # e.g. v1.37.2
KUBE_MINOR="$(echo "$KUBE_VERSION" | cut -d. -f2)"
ETCD_VERSION="$(modver etcd go.etcd.io/etcd/server/v3)"
PULUMI_VERSION="$(modver pulumi github.com/pulumi/pulumi/pkg/v3)"
# provider/v4 is untagged: the proxy serves only a pseudo-version (commit f47bc2d6f199, 2026-01-15,
# after sdk/v4.24.0). Name it honestly as a pre-release of the next minor, with the commit as build metadata.
K8S_PROVIDER_VERSION="4.25.0-dev.20260115+f47bc2d6f199"

files=$(find kube etcd pulumi pulumi-kubernetes -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) | LC_ALL=C sort)
# shellcheck disable=SC2086
hash="$(cat build.sh $files | sha256sum | cut -c1-12)"
key="kube-${KUBE_VERSION}_etcd-${ETCD_VERSION}_pulumi-${PULUMI_VERSION}_kubernetes-${K8S_PROVIDER_VERSION%%+*}_${hash}"
cache="${TENANCY_TESTENV_CACHE:-$HOME/.cache/tenancy-testenv}"
bin="$cache/$key/bin"
binaries=(etcd kube-apiserver kube-controller-manager pulumi pulumi-language-python pulumi-language-python-exec
          pulumi-resource-kubernetes)

complete() {
  [[ -f "$bin/.complete" ]] || return 1
  for b in "${binaries[@]}"; do [[ -x "$bin/$b" ]] || return 1; done
}

if [[ "${1:-}" == "--key" ]]; then
  echo "$key"
  exit 0
fi
if [[ "${1:-}" == "--path" ]]; then
  echo "$bin"
  exit 0
fi
if [[ "${1:-}" == "--find" ]]; then
  complete && { echo "$bin"; exit 0; }
  exit 1
fi
if complete; then
  echo "testenv: cached ($key)"
  echo "$bin"
  exit 0
fi

# One build per key at a time: a second `make testenv` (or a test session building on demand) waits
# here for the first and then finds the binaries cached, instead of racing it over the same files.
mkdir -p "$cache"
exec 9>"$cache/$key.lock"
if ! flock -n 9; then
  echo "testenv: another build of $key is running; waiting for it ($(date -u +%H:%M:%S))" >&2
  flock 9
fi
if complete; then
  echo "testenv: cached ($key, built by the build we waited for)"
  echo "$bin"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "testenv: Go is not installed; install Go >= 1.26 (https://go.dev/dl/) and run 'make testenv' again" >&2
  exit 2
fi
gover="$(go env GOVERSION)"
case "$gover" in
  go1.2[6-9]*|go1.[3-9][0-9]*) ;;
  *) echo "testenv: $gover is too old; these modules need Go >= 1.26" >&2; exit 2 ;;
esac

mkdir -p "$bin"
export GOFLAGS="-buildvcs=false"
start_all=$SECONDS
step=0
total=6
run() {  # run NAME DIR -- go build args...
  local name="$1" dir="$2"; shift 2
  step=$((step + 1))
  if [[ -x "$bin/$name" ]]; then
    echo "[$step/$total] $name: cached"
    return
  fi
  echo "[$step/$total] $name: building in testenv/$dir ($(date -u +%H:%M:%S); cold builds take minutes)"
  local t0=$SECONDS
  # A temporary name of this process's own, renamed into place once whole.
  local tmp="$bin/.$name.tmp.$$"
  (cd "$dir" && go build -trimpath -o "$tmp" "$@")
  mv -f "$tmp" "$bin/$name"
  echo "[$step/$total] $name: built in $((SECONDS - t0))s"
}

kube_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${KUBE_VERSION} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${KUBE_MINOR} -X k8s.io/component-base/version.gitTreeState=clean"
run etcd etcd -ldflags "-s -w" .
run kube-apiserver kube -ldflags "$kube_ldflags" k8s.io/kubernetes/cmd/kube-apiserver
run kube-controller-manager kube -ldflags "$kube_ldflags" k8s.io/kubernetes/cmd/kube-controller-manager

pulumi_ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${PULUMI_VERSION}"
run pulumi pulumi -ldflags "$pulumi_ldflags" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
run pulumi-language-python pulumi -ldflags "$pulumi_ldflags" ./cmd/pulumi-language-python
# The language host runs this shim (sdk/python/cmd/pulumi-language-python-exec in the sdk/v3 module).
# `go mod download` (not `go list -m`, whose Dir is empty on a cold module cache) fetches it if needed.
sdk_dir="$(cd pulumi && go mod download -json github.com/pulumi/pulumi/sdk/v3 \
  | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[[ -n "$sdk_dir" ]] || { echo "testenv: go mod download github.com/pulumi/pulumi/sdk/v3 gave no directory" >&2; exit 1; }
install -m 0755 "$sdk_dir/python/cmd/pulumi-language-python-exec" "$bin/.pulumi-language-python-exec.tmp.$$"
mv -f "$bin/.pulumi-language-python-exec.tmp.$$" "$bin/pulumi-language-python-exec"

if [[ ! -x "$bin/pulumi-resource-kubernetes" ]]; then
  (cd pulumi-kubernetes && VERSION="$K8S_PROVIDER_VERSION" go run ./gen)
fi
run pulumi-resource-kubernetes pulumi-kubernetes \
  -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=${K8S_PROVIDER_VERSION}" \
  ./cmd/pulumi-resource-kubernetes

for b in "${binaries[@]}"; do [[ -x "$bin/$b" ]] || { echo "testenv: $b missing after build" >&2; exit 1; }; done
{
  echo "key=$key"
  echo "go=$gover"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "seconds=$((SECONDS - start_all))"
} > "$bin/.complete"
echo "testenv: built in $((SECONDS - start_all))s ($key)"
echo "$bin"
