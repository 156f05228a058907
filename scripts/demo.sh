#!/usr/bin/env bash
# `make demo`: nftpol's main job on the example cluster (examples/). As root
# with ip and nft, the whole product on this machine (scripts/demo.ts): the
# embedded API server, the controller and one executor per node, the nodes and
# pods as network namespaces, real probes against the oracle, and a policy
# change through the API. Otherwise, the part that needs no privileges: render
# each node's nft script and ask the oracle who may talk to whom, and why.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ] && command -v nft >/dev/null && command -v ip >/dev/null; then
  exec node --import tsx scripts/demo.ts
fi

nftpol=./bin/nftpol
out=$(mktemp -d)
cleanup() { rm -rf "$out"; }
trap cleanup EXIT INT TERM
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

echo "Not running the whole product: it needs root, ip (iproute2) and nft (nftables)"
echo "for its network namespaces. Run 'sudo make demo' for it; the offline part follows."

step "Render one nft script per node from examples/"
$nftpol render -f examples/ --out "$out"

step "The script for node-a (first 25 lines)"
head -n 25 "$out/node-a.nft"
echo "  … ($(wc -l <"$out/node-a.nft") lines)"

step "Who may connect to whom on TCP port 80 (the oracle)"
$nftpol matrix -f examples/ --port 80

step "Why is shop/frontend-0 -> shop/cart-0 on http allowed?"
$nftpol explain -f examples/ --from shop/frontend-0 --to shop/cart-0 --port http

step "Why is shop/checkout-0 -> payments/db-0 on 5432 denied?"
$nftpol explain -f examples/ --from shop/checkout-0 --to payments/db-0 --port 5432

step "Why is shop/frontend-0 -> payments/api-0 on https denied, although a NetworkPolicy allows it?"
$nftpol explain -f examples/ --from shop/frontend-0 --to payments/api-0 --port https
