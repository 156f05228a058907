#!/usr/bin/env bash
# Installs what `make` targets need on a fresh Debian machine with Node:
# npm packages (when missing or stale) and, as root, the Debian packages the
# dataplane and integration tiers use, and the real Kubernetes control plane
# for the integration tier (scripts/k8s-assets.sh). Idempotent and quiet when
# all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

want=(nftables iproute2 socat redis-server etcd-server openssl)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "note: not root; missing Debian packages ${missing[*]} (the dataplane tier will be skipped)" >&2
  fi
fi

bash scripts/k8s-assets.sh
