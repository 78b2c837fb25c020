#!/usr/bin/env bash
# Checks the bankd image without starting a container (this machine builds images but cannot
# run them): mounts the image's file system (podman image mount), then runs bankd from it in a
# chroot: --version, and a short serve-and-query on loopback as the image's user.
#   bash Tools/container_check.sh TAG
set -euo pipefail
tag="$1"
mnt=$(podman image mount "$tag")
work=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  umount "$work/root/proc" "$work/root/dev" 2>/dev/null || true
  podman image unmount "$tag" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
# The image's files, copied so the serve can write its store (the mount is the image itself),
# with /proc (Swift reads its arguments there) and /dev, as a container runtime provides them.
cp -a "$mnt" "$work/root"
mount -t proc proc "$work/root/proc"
mount --bind /dev "$work/root/dev"
version=$(chroot "$work/root" /usr/bin/bankd --version)
echo "from the image: $version"
[ -z "$(ls -A "$work/root/data")" ] || { echo "the image's /data is not empty"; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
chroot --userspec=65534:65534 "$work/root" /usr/bin/bankd --store /data/bank.journal --demo \
  --port "$port" --event-port 0 --log-level error >"$work/out" 2>&1 &
pid=$!
for _ in $(seq 1 300); do grep -q "listening on" "$work/out" && break; sleep 0.1; done
grep "listening on" "$work/out"
token=$(curl -sf -X POST "http://127.0.0.1:$port/v1/sessions" -H 'Content-Type: application/json' \
  -d '{"staff":"tina","password":"service desk 2026 blue"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["session"])')
balance=$(curl -sf "http://127.0.0.1:$port/v1/accounts/1000-0011-6" -H "Authorization: Bearer $token")
echo "served from the image: $balance"
echo "$balance" | grep -q '"balance":"2400.00"'
curl -sf "http://127.0.0.1:$port/" | grep -qi "<html" && echo "the web UI is served from the image"
kill -TERM "$pid"
wait "$pid"
pid=""
mode=$(stat -c %a "$work/root/data/bank.journal")
owner=$(stat -c %u "$work/root/data/bank.journal")
echo "the store in the image's /data: mode $mode, owner $owner"
[ "$mode" = 600 ] && [ "$owner" = 65534 ]
echo "container image checks passed"
