#!/usr/bin/env bash
# A real I/O error, not a simulated one: an ext4 image on a loop device whose backing file lives
# on a small tmpfs. Once the tmpfs is full, the device's writes fail and fdatasync reports EIO.
#
#   Tools/eio-loop-test.sh [BANKCTL]
#
# Scenario (issue: "replayed after a failed sync"): a keyed deposit whose sync fails must exit 74;
# a retry with the same key must never be acknowledged unless the deposit is on the disk, and no
# reader may report it as balance before it is. After freeing space, unmounting and mounting
# again, the disk is the judge. Needs root, losetup, mkfs.ext4; otherwise prints SKIPPED.
set -uo pipefail
bankctl=${1:-.build/debug/bankctl}
bankctl=$(cd "$(dirname "$bankctl")" && pwd)/$(basename "$bankctl")

skip() {
  echo "SKIPPED: real-EIO loop-device check: $*"
  exit 0
}
[ "$(id -u)" = 0 ] || skip "not running as root"
for t in losetup mkfs.ext4 mount umount; do
  command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
done

work=$(mktemp -d /tmp/bankcore-eio.XXXXXX)
back=$work/backing
mnt=$work/mnt
mkdir -p "$back" "$mnt"
loop=""
cleanup() {
  umount "$mnt" 2>/dev/null
  [ -n "$loop" ] && losetup -d "$loop" 2>/dev/null
  umount "$back" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

mount -t tmpfs -o size=24m tmpfs "$back" || skip "cannot mount a tmpfs here"
truncate -s 64M "$back/disk.img"
# Journal and inode tables written out now, so that their pages exist in the tmpfs: once it is
# full, the file system's own metadata still has room and only new data blocks fail.
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$back/disk.img" || skip "mkfs.ext4 failed"
loop=$(losetup -f --show "$back/disk.img" 2>/dev/null) || skip "no free loop device"
mount -o errors=continue "$loop" "$mnt" || skip "cannot mount the loop device"

store=$mnt/bank.journal
fail=0
check() { # description, condition result
  if [ "$2" = 0 ]; then echo "ok: $1"; else echo "FAILED: $1"; fail=1; fi
}

"$bankctl" --store "$store" open --name "EIO" >/dev/null || { echo "FAILED: open"; exit 1; }
"$bankctl" --store "$store" deposit 1000-0001-7 10 --id before >/dev/null
check "a deposit before the disk fills is acknowledged" $?
# Grow the journal to just short of a 4 KiB block boundary, so that the next deposit needs a new
# data block (which the full tmpfs cannot back) while the probe of the close block does not.
n=0
while [ $(( $(stat -c %s "$store") % 4096 )) -lt 3950 ] && [ $n -lt 200 ]; do
  "$bankctl" --store "$store" --json freeze 1000-0001-7 >/dev/null
  "$bankctl" --store "$store" --json unfreeze 1000-0001-7 >/dev/null
  n=$((n + 1))
done
echo "journal is $(stat -c %s "$store") bytes"
sync

# Fill the tmpfs behind the loop device, leaving a little room; keyed deposits then use it up
# until one's sync fails: from then on the device's writes fail.
dd if=/dev/zero of="$back/fill" bs=1M >/dev/null 2>&1
truncate -s "-${EIO_ROOM_KIB:-64}K" "$back/fill"
acked=1000 # minor units acknowledged so far: the 10.00 above
failed=""
for i in $(seq 1 100); do
  "$bankctl" --store "$store" --json deposit 1000-0001-7 5 --id "k$i" >"$work/first.out" 2>"$work/first.err"
  first=$?
  if [ "$first" = 0 ]; then acked=$((acked + 500)); continue; fi
  failed="k$i"
  break
done
echo "deposit $failed: exit $first $(cat "$work/first.out" "$work/first.err")"
[ -n "$failed" ] || { echo "FAILED: the full disk never made a sync fail"; exit 1; }
check "the deposit whose sync failed is not acknowledged (exit 74)" $([ "$first" = 74 ]; echo $?)

"$bankctl" --store "$store" --json deposit 1000-0001-7 5 --id "$failed" >"$work/retry.out" 2>"$work/retry.err"
retry=$?
echo "retry of $failed: exit $retry $(cat "$work/retry.out" "$work/retry.err")"
[ "$retry" = 0 ] && acked=$((acked + 500))
"$bankctl" --store "$store" --json balance 1000-0001-7 >"$work/bal.out" 2>"$work/bal.err"
reader=$?
echo "reader: exit $reader $(cat "$work/bal.out" "$work/bal.err")"

# The disk decides: free the space, unmount (dropping every cached page), mount again.
rm -f "$back/fill"
umount "$mnt" || { sleep 1; umount -l "$mnt"; }
mount -o errors=continue "$loop" "$mnt" 2>/dev/null || mount -o ro "$loop" "$mnt" || {
  echo "FAILED: cannot remount"
  exit 1
}
after=$("$bankctl" --store "$store" --json balance 1000-0001-7 2>"$work/after.err")
echo "after remount: $after $(cat "$work/after.err")"
on_disk=$(echo "$after" | sed -n 's/.*"balance":"\([0-9.]*\)".*/\1/p')

minor() { echo "$1" | awk -F. '{ printf "%d", $1 * 100 + $2 }'; }
disk=$(minor "${on_disk:-0.00}")
if [ "$retry" = 0 ]; then
  check "the acknowledged retry is on the disk" $(grep -q '"replayed":false' "$work/retry.out" || [ "$disk" -ge "$acked" ]; echo $?)
else
  echo "ok: the retry was not acknowledged either (exit $retry)"
fi
check "every acknowledged deposit is on the disk ($disk >= $acked minor units)" $([ "$disk" -ge "$acked" ]; echo $?)
check "nothing unacknowledged beyond the failed deposit appeared ($disk <= $((acked + 500)))" $([ "$disk" -le $((acked + 500)) ]; echo $?)
if [ "$reader" = 0 ]; then
  shown=$(minor "$(sed -n 's/.*"balance":"\([0-9.]*\)".*/\1/p' "$work/bal.out")")
  check "the balance a reader showed ($shown) was durable ($disk on disk)" $([ "$shown" -le "$disk" ]; echo $?)
fi
exit $fail
