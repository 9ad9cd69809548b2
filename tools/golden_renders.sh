#!/usr/bin/env bash
# Render every stack, example and fleet cell into OUT (default build/golden), for a before/after
# comparison of a refactor that must not change what is deployed (same URNs, inputs, manifests):
#
#   bash tools/golden_renders.sh /tmp/before      # on the old commit
#   bash tools/golden_renders.sh /tmp/after       # on the new one
#   diff -r /tmp/before /tmp/after                # nothing
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(realpath -m "${1:-build/golden}")"
tenancy="${TENANCY:-.venv/bin/tenancy}"
rm -rf "$out"; mkdir -p "$out"
for f in stacks/Pulumi.*.yaml; do
  s="$(basename "$f" .yaml)"; s="${s#Pulumi.}"
  "$tenancy" render --config "$f" --out "$out/stacks/$s" --quiet
done
ex=examples/team-stack
"$tenancy" render --config "$ex/platform/Pulumi.dev.yaml" --out "$out/team/platform" --quiet
"$tenancy" render --program "$ex" --config "$ex/Pulumi.payments.yaml" \
  --stack-reference "acme/tenancy/dev=$out/team/platform/outputs.json" --out "$out/team/payments" --quiet
for f in fleets/acme/Pulumi.*.yaml; do
  s="$(basename "$f" .yaml)"; s="${s#Pulumi.}"
  "$tenancy" render --config "$f" --out "$out/fleet/$s" --quiet
done
# The team stack's render names the platform's outputs file by its absolute path: make it relative.
{ grep -rl -- "$out" "$out" || true; } | xargs -r sed -i "s#$out#OUT#g"
echo "$out"
