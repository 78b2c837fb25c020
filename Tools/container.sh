#!/usr/bin/env bash
# Builds the bankd image from scratch (Deploy/Containerfile) with podman: stages the binary, its
# web UI resources and exactly the shared libraries ldd lists, at the paths the binary expects.
#   bash Tools/container.sh BANKD [TAG]        (TAG defaults to bankd:latest)
set -euo pipefail
cd "$(dirname "$0")/.."
bankd=$(readlink -f "$1")
tag="${2:-bankd:latest}"
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
root="$ctx/rootfs"
mkdir -p "$root/usr/bin" "$ctx/data" "$root/tmp" "$root/etc" "$root/proc" "$root/dev"
cp "$bankd" "$root/usr/bin/bankd"
# Bundle.module looks beside the executable.
for r in "$(dirname "$bankd")"/*.resources; do
  [ -d "$r" ] && cp -r "$r" "$root/usr/bin/"
done
ldd "$bankd" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
echo "nobody:x:65534:65534:nobody:/data:/sbin/nologin" >"$root/etc/passwd"
echo "nogroup:x:65534:" >"$root/etc/group"
chmod 1777 "$root/tmp"
chmod 700 "$ctx/data"
cp Deploy/Containerfile "$ctx/Containerfile"
podman build -q -f "$ctx/Containerfile" -t "$tag" "$ctx" >/dev/null
echo "built $tag ($(du -sh "$root" | cut -f1) of files)"
