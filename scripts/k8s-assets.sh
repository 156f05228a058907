#!/usr/bin/env bash
# Makes the envtest-style asset directory the integration tier runs the real
# control plane from: kube-apiserver, kube-controller-manager, etcd (and
# kubectl when there is one), in the directory KUBEBUILDER_ASSETS names.
#
# - KUBEBUILDER_ASSETS set to a directory that already holds kube-apiserver
#   (e.g. from setup-envtest): nothing to do.
# - Otherwise, when ../shared/k8s has the xz-compressed binaries, they are
#   unpacked into KUBEBUILDER_ASSETS (the Makefile defaults it to a cache
#   directory), checked against SHA256SUMS, and Debian's etcd is linked in.
# - Without either, the tier is skipped; this script says so in one line.
set -euo pipefail
cd "$(dirname "$0")/.."

assets=${KUBEBUILDER_ASSETS:-}
shared=${NFTPOL_K8S_SHARED:-../shared/k8s}
if [ -z "$assets" ]; then
  echo "note: KUBEBUILDER_ASSETS is unset; the real-API-server tests will be skipped (run through make)" >&2
  exit 0
fi
if [ -x "$assets/kube-apiserver" ] && [ -x "$assets/etcd" ]; then exit 0; fi
if [ ! -f "$shared/SHA256SUMS" ]; then
  echo "note: no kube-apiserver in $assets and no $shared; the real-API-server tests will be skipped" >&2
  exit 0
fi

mkdir -p "$assets"
for bin in kube-apiserver kube-controller-manager; do
  [ -f "$shared/$bin.xz" ] || continue
  want=$(awk -v b="$bin" '$2 == b { print $1 }' "$shared/SHA256SUMS")
  if [ -x "$assets/$bin" ] && [ "$(sha256sum "$assets/$bin" | cut -d' ' -f1)" = "$want" ]; then continue; fi
  echo "unpacking $bin into $assets"
  xz -dc "$shared/$bin.xz" >"$assets/$bin.tmp"
  got=$(sha256sum "$assets/$bin.tmp" | cut -d' ' -f1)
  if [ "$got" != "$want" ]; then
    rm -f "$assets/$bin.tmp"
    echo "error: $bin from $shared has sha256 $got, SHA256SUMS says $want" >&2
    exit 1
  fi
  chmod +x "$assets/$bin.tmp"
  mv "$assets/$bin.tmp" "$assets/$bin"
done
for bin in etcd kubectl; do
  if [ ! -e "$assets/$bin" ] && command -v "$bin" >/dev/null; then ln -s "$(command -v "$bin")" "$assets/$bin"; fi
done
if [ ! -x "$assets/etcd" ]; then
  echo "note: no etcd (Debian package etcd-server, installed as root); the real-API-server tests will be skipped" >&2
fi
