#!/usr/bin/env bash
# `make demo`: nftpol's main job on the embedded example cluster (examples/):
# translate every policy, render each node's nft script, load the scripts into
# the real kernel (as root, each in a throwaway network namespace standing in
# for the node), and answer the questions an operator asks: who may talk to
# whom, and why.
set -euo pipefail
cd "$(dirname "$0")/.."
nftpol=./bin/nftpol
out=$(mktemp -d)
ns="nftpol-demo-$$"
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$out"; }
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Render one nft script per node from examples/"
$nftpol render -f examples/ --out "$out"

step "The script for node-a (first 40 lines)"
head -n 40 "$out/node-a.nft"
echo "  … ($(wc -l <"$out/node-a.nft") lines)"

if [ "$(id -u)" -eq 0 ] && command -v nft >/dev/null && command -v ip >/dev/null; then
  step "Load every node's script into the kernel (network namespace $ns)"
  ip netns add "$ns"
  for f in "$out"/*.nft; do
    ip netns exec "$ns" nft -f "$f"
    listing=$(ip netns exec "$ns" nft list table inet nftpol)
    sets=$(grep -cE '^\s*(set|map) ' <<<"$listing")
    chains=$(grep -cE '^\s*chain ' <<<"$listing")
    echo "  $(basename "$f" .nft): loaded atomically — $chains chains, $sets sets and maps"
  done
else
  step "Skipping the kernel load: it needs root, nft and ip (run as root to see it)"
fi

step "Who may connect to whom on the named port http (TCP)"
$nftpol matrix -f examples/ --port http

step "Why is shop/frontend-0 -> shop/cart-0 on http allowed?"
$nftpol explain -f examples/ --from shop/frontend-0 --to shop/cart-0 --port http

step "Why is shop/checkout-0 -> payments/db-0 on 5432 denied?"
$nftpol explain -f examples/ --from shop/checkout-0 --to payments/db-0 --port 5432
