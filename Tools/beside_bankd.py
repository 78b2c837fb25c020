#!/usr/bin/env python3
"""bankctl beside a running bankd, on one store, with the real binaries.

    python3 Tools/beside_bankd.py BANKD BANKCTL

Starts bankd on a new demo store and, while it serves HTTP deposits from several clients,
runs the operator's writing commands against the same store: `atm register` (the key then works
on bankd's event socket), `staff add` (the new teller then logs in over HTTP), deposits,
`interest run`, and a read. Checks that each side sees the other's commits, that the final
balance is exact, that SIGTERM stops bankd with exit 0, and that the store verifies.
Exits 0 when every check passes, 1 otherwise.
"""
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request

BANKD, BANKCTL = sys.argv[1], sys.argv[2]
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def bankctl(store, *args, stdin=None):
    r = subprocess.run(
        [BANKCTL, "--store", store, "--lock-timeout", "30", *args],
        input=stdin, capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


def main():
    work = tempfile.mkdtemp(prefix="beside-bankd-")
    store = os.path.join(work, "bank.journal")
    bankd = subprocess.Popen(
        [BANKD, "--store", store, "--demo", "--port", "0", "--event-port", "0",
         "--log-level", "error"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        events = bankd.stdout.readline().strip().rsplit(":", 1)[1]
        base = bankd.stdout.readline().strip().split(" on ", 1)[1]

        def call(method, path, body=None, token=None, key=None):
            req = urllib.request.Request(base + path, method=method)
            if body is not None:
                req.data = json.dumps(body).encode()
                req.add_header("Content-Type", "application/json")
            if token:
                req.add_header("Authorization", "Bearer " + token)
            if key:
                req.add_header("Idempotency-Key", key)
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    return r.status, json.loads(r.read() or b"{}")
            except urllib.error.HTTPError as e:
                return e.code, json.loads(e.read() or b"{}")

        account = "1000-0011-6"  # the demo's Ada Lovelace, 2400.00
        code, out, _ = bankctl(store, "--json", "balance", account)
        start = json.loads(out)["balance"] if code == 0 else None
        check(start == "2400.00", f"bankctl reads beside bankd: {start}")

        # The operator adds a teller while bankd runs; bankd logs them in.
        pw = "counter shift 2026 amber"
        code, _, err = bankctl(
            store, "staff", "add", "--username", "olga", "--name", "Olga Teller",
            "--role", "teller", stdin=f"{pw}\n{pw}\n")
        check(code == 0, f"bankctl staff add beside bankd (exit {code} {err.strip()})")
        status, body = call("POST", "/v1/sessions", {"staff": "olga", "password": pw})
        teller = body.get("session")
        check(status == 201 and teller, f"bankd logs in the teller bankctl added ({status})")

        # HTTP deposits from 4 clients and bankctl deposits, interleaved.
        def client(c):
            for i in range(25):
                s, _ = call("POST", f"/v1/accounts/{account}/deposits", {"amount": "1.00"},
                            token=teller, key=f"http-{c}-{i}")
                if s != 201:
                    failures.append(f"HTTP deposit {c}-{i}: {s}")
        threads = [threading.Thread(target=client, args=(c,)) for c in range(4)]
        for t in threads:
            t.start()
        for i in range(20):
            code, _, err = bankctl(store, "deposit", account, "2.00", "--id", f"cli-{i}")
            if code != 0:
                failures.append(f"bankctl deposit {i}: exit {code} {err.strip()}")
        for t in threads:
            t.join()
        status, body = call("GET", f"/v1/accounts/{account}", token=teller)
        check(body.get("balance") == "2540.00",
              f"bankd's balance counts both sides' deposits: {body.get('balance')} (2540.00)")
        code, out, _ = bankctl(store, "--json", "balance", account)
        check(code == 0 and json.loads(out)["balance"] == "2540.00",
              "bankctl's balance counts both sides' deposits")

        # A terminal key issued by bankctl works on bankd's event socket at once.
        code, out, err = bankctl(store, "--json", "atm", "register", "--terminal", "ATM-01")
        check(code == 0, f"bankctl atm register beside bankd (exit {code} {err.strip()})")
        key = json.loads(out)["key"] if code == 0 else ""
        with socket.create_connection(("127.0.0.1", int(events)), timeout=30) as s:
            f = s.makefile("rw")
            f.write(json.dumps({"hello": "ATM-01", "key": key}) + "\n")
            f.flush()
            hello = json.loads(f.readline())
            f.write(json.dumps({"type": "cassette_low", "detail": "beside bankctl"}) + "\n")
            f.flush()
            event = json.loads(f.readline())
        check(hello.get("ok") is True and event.get("ok") is True,
              f"the new key authenticates on bankd's socket: {hello} {event}")

        # An interest run (a manager's batch) beside the service.
        today = datetime.datetime.now(datetime.timezone.utc).date()
        yesterday = (today - datetime.timedelta(days=1)).isoformat()
        code, out, err = bankctl(store, "--json", "interest", "run", "--date", yesterday)
        check(code == 0, f"bankctl interest run beside bankd (exit {code} {err.strip()})")
        status, body = call("POST", f"/v1/accounts/{account}/deposits", {"amount": "1.00"},
                            token=teller, key="after-interest")
        check(status == 201, f"bankd commits after the interest run ({status})")
    finally:
        bankd.send_signal(signal.SIGTERM)
        try:
            rc = bankd.wait(timeout=60)
        except subprocess.TimeoutExpired:
            bankd.kill()
            rc = None
    check(rc == 0, f"bankd exits 0 on SIGTERM ({rc})")
    code, out, err = bankctl(store, "verify")
    check(code == 0, f"the store verifies ({out.strip()[:60]} {err.strip()})")
    shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"{len(failures)} checks failed")
        for f in failures[:20]:
            print("  " + f)
        return 1
    print("bankctl beside bankd: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
