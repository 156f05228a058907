#!/usr/bin/env bash
# Checks the Helm chart without a cluster, in about 10 seconds once helm is
# cached (scripts/helm.sh fetches it on the first run):
#   1. charts/nftpol/crds/ holds a byte-identical copy of crds/ (one source);
#   2. `helm lint --strict`;
#   3. `helm template` with the default values and with a variant (admission
#      policy off, ServiceMonitor on, Redis history set, one controller
#      replica without leader election, cleanup-on-exit on);
#   4. values the chart must refuse (schema and template guards) are refused;
#   5. every rendered manifest is validated by test/support/check-manifests.ts
#      (kubernetes-models schemas, unknown fields, cross-references), and a
#      sample NodeFirewall against the CRD's openAPIV3Schema (ajv).
# Exit status 0 when all pass. Rendered files stay in $OUT (default: a temp dir).
set -euo pipefail
cd "$(dirname "$0")/.."

helm="$(bash scripts/helm.sh)"
chart=charts/nftpol
ns=nftpol-system
if [ -n "${OUT:-}" ]; then
  out="$OUT"
  mkdir -p "$out"
else
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
fi
fail() {
  echo "check-chart: $*" >&2
  exit 1
}

echo "== CRD copy"
for crd in crds/*.yaml; do
  cmp -s "$crd" "$chart/crds/$(basename "$crd")" ||
    fail "$chart/crds/$(basename "$crd") differs from $crd: cp $crd $chart/crds/"
done
for crd in "$chart"/crds/*.yaml; do
  [ -f "crds/$(basename "$crd")" ] || fail "$crd has no source in crds/"
done
echo "ok"

echo "== helm lint --strict"
"$helm" lint --strict "$chart" --namespace "$ns"

echo "== helm template"
"$helm" template nftpol "$chart" --namespace "$ns" --include-crds >"$out/default.yaml"
"$helm" template nftpol "$chart" --namespace "$ns" --include-crds \
  --set admissionPolicy.enabled=false \
  --set metrics.serviceMonitor.enabled=true \
  --set-string metrics.serviceMonitor.labels.release=prometheus \
  --set history.redis.url=redis://redis.nftpol-system:6379/0 \
  --set history.redis.existingSecret=nftpol-redis \
  --set controller.replicas=1 \
  --set controller.leaderElection.enabled=false \
  --set executor.cleanupOnExit=true \
  >"$out/variant.yaml"

echo "== values the chart refuses"
refuse() {
  local why="$1"
  shift
  if "$helm" template nftpol "$chart" --namespace "$ns" "$@" >/dev/null 2>"$out/refused.txt"; then
    fail "accepted $* ($why)"
  fi
  echo "refused: $why"
}
refuse "a misspelt value" --set controller.replica=3
refuse "a wrong type" --set-string controller.replicas=two
refuse "an unknown log level" --set executor.logLevel=verbose
refuse "two replicas without leader election" --set controller.leaderElection.enabled=false
refuse "debounce longer than max delay" --set controller.debounceMs=5000
refuse "a Redis password Secret without a Redis URL" --set history.redis.existingSecret=s
refuse "a Redis URL that is not redis:// or rediss://" --set history.redis.url=http://r:6379
refuse "the history on the metrics port" --set history.port=8080
refuse "a history port below -1 (off)" --set history.port=-2
refuse "a ServiceMonitor without Services" \
  --set metrics.serviceMonitor.enabled=true --set metrics.service.enabled=false

echo "== Redis history values reach the controller"
grep -q 'name: NFTPOL_REDIS_URL' "$out/variant.yaml" || fail "history.redis.url set but no NFTPOL_REDIS_URL"
grep -q 'name: "nftpol-redis"' "$out/variant.yaml" || fail "history.redis.existingSecret set but not referenced"
! grep -q 'NFTPOL_REDIS' "$out/default.yaml" || fail "NFTPOL_REDIS_* rendered without history.redis values"
echo "ok"

echo "== the history on its own port, on localhost, off the metrics Service"
grep -q -- '--history-port=8081' "$out/default.yaml" || fail "no --history-port=8081 in the controller's args"
grep -q -- '--history-host=127.0.0.1' "$out/default.yaml" || fail "no --history-host=127.0.0.1 in the controller's args"
! grep -q 'port: 8081' "$out/default.yaml" || fail "the history port is declared on a container or a Service"
echo "ok"

echo "== manifests"
node --import tsx test/support/check-manifests.ts "$out/default.yaml" "$out/variant.yaml"
echo "check-chart: all passed"
