#!/usr/bin/env python3
"""Three bankd nodes on one PostgreSQL journal, under load and faults (issue 23's fault test).

    python3 Tools/pg_nodes.py BANKD BANKCTL_PG [--seconds N] [--clients-per-node N]

Starts a private PostgreSQL (Tools/pg_private.sh), creates the demo bank and eight more accounts
with bankctl-pg, and starts three bankd nodes on it. Clients (16 per node by default) make
transfers and deposits between overlapping accounts (teller sessions, one Idempotency-Key per
operation, retried with the same key, on the next node, until acknowledged) and ATM withdrawals
through the terminal routes (authorize, then complete). During the load:

  - node 2 is SIGKILLed and started again;
  - PostgreSQL itself is restarted;
  - node 3's database connections are ended with pg_terminate_backend;
  - node 1 is paused (SIGSTOP) for 10 seconds, then continued (SIGCONT).

Then it checks, on every node and with bankctl-pg: each balance equals its opening balance plus
the acknowledged operations; each acknowledged operation is in the journal exactly once (by its
memo); the trial balance's debits equal its credits; `verify` passes; and the surviving nodes
answered during each fault. Exits 0 when every check passes, 1 otherwise.
"""
import argparse
import collections
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cents(text):
    sign = -1 if text.startswith("-") else 1
    whole, _, frac = text.lstrip("-").partition(".")
    return sign * (int(whole) * 100 + int((frac + "00")[:2]))


class Node:
    def __init__(self, name, bankd, url, pin_key, work):
        self.name, self.bankd, self.url, self.pin_key = name, bankd, url, pin_key
        self.port, self.event_port = free_port(), free_port()
        self.log = open(os.path.join(work, f"{name}.log"), "a")
        self.proc = None
        self.paused = False

    def start(self):
        env = dict(os.environ, BANKD_POSTGRES=self.url)
        self.proc = subprocess.Popen(
            [self.bankd, "--pin-key", self.pin_key, "--port", str(self.port),
             "--event-port", str(self.event_port), "--log-level", "error"],
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        deadline = time.time() + 120
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.name} exited while starting (see {self.log.name})")
            if "listening on" in line:
                break
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"


def dump_stacks(node):
    """Prints every thread's stack of a node that stopped answering (gdb, when installed), so a
    hang in CI can be diagnosed from the log."""
    if not shutil.which("gdb") or not node.proc or node.proc.poll() is not None:
        return
    r = subprocess.run(["gdb", "-p", str(node.proc.pid), "-batch", "-ex", "thread apply all bt 30"],
                       capture_output=True, text=True, timeout=120)
    lines = [l for l in r.stdout.splitlines() if l.startswith(("#", "Thread"))]
    print(f"--- {node.name}'s threads ({len(lines)} lines) ---", flush=True)
    for l in lines[:1500]:
        print("    " + l[:240], flush=True)


def call(node, method, path, body=None, token=None, key=None, auth="Bearer", timeout=15):
    req = urllib.request.Request(node.base + path, method=method)
    if body is not None:
        req.data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"{auth} {token}")
    if key:
        req.add_header("Idempotency-Key", key)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.loads(e.read() or b"{}")
        except ValueError:
            return e.code, {}
    except (OSError, ValueError) as e:
        return None, {"error": {"code": "connection", "message": str(e)}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bankd")
    ap.add_argument("bankctl_pg")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--clients-per-node", type=int, default=16)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("SEED", "23")))
    a = ap.parse_args()
    print(f"seed {a.seed}", flush=True)
    rng = random.Random(a.seed)
    work = tempfile.mkdtemp(prefix="pg-nodes-")
    os.chmod(work, 0o755)
    pgdir = os.path.join(work, "pg")
    script = os.path.join(HERE, "pg_private.sh")
    url = subprocess.run(["bash", script, "start", pgdir, str(free_port())], check=True,
                         capture_output=True, text=True).stdout.strip()
    pin_key = os.path.join(work, "pin.key")
    nodes = []

    def ctl(*args, stdin=None):
        r = subprocess.run([a.bankctl_pg, "--pin-key", pin_key, *args], input=stdin,
                           capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, BANKCTL_POSTGRES=url))
        return r.returncode, r.stdout, r.stderr

    try:
        # The bank: the demo, eight more accounts, Ada's card with a known PIN, ATM-01's key.
        code, out, err = ctl("demo")
        check(code == 0, f"bankctl-pg demo ({err.strip()[:200]})")
        # Two customers own four accounts each: customers transfer out of their own accounts
        # (the permission matrix), into any of the eight.
        accounts, owner, customers = [], {}, []
        for i in range(2):
            pw = f"quiet harbour lantern {i}7"
            code, out, err = ctl("--json", "customer", "register", "--name", f"Holder {i}",
                                 "--email", f"load{i}@example.org", "--phone", f"+1415555010{i}",
                                 "--age", "40", "--currency", "USD", stdin=pw + "\n")
            check(code == 0, f"customer {i} registered ({err.strip()[:200]})")
            reg = json.loads(out)
            customers.append((reg["customer"], pw))
            mine = list(reg["accounts"])
            for _ in range(3):
                code, out, err = ctl("--json", "open", "--name", f"Load {i}", "--currency", "USD",
                                     "--customer", reg["customer"])
                mine.append(json.loads(out)["account"])
            for acct in mine:
                owner[acct] = i
                ctl("deposit", acct, "100000.00")
            accounts += mine
        ada = "1000-0011-6"
        ctl("deposit", ada, "100000.00")
        code, out, err = ctl("--json", "card", "issue", "--customer", "C000001", "--account", ada)
        card = json.loads(out)["card"]
        ctl("card", "set-pin", card, stdin="4826\n")
        code, out, err = ctl("--json", "atm", "register", "--terminal", "ATM-01")
        terminal_key = json.loads(out)["key"]
        opening = {}
        for acct in accounts + [ada]:
            code, out, _ = ctl("--json", "balance", acct)
            opening[acct] = cents(json.loads(out)["balance"])

        for i in range(3):
            nodes.append(Node(f"node{i + 1}", a.bankd, url, pin_key, work))
            nodes[-1].start()
        status, body = call(nodes[0], "POST", "/v1/sessions",
                            {"staff": "mark", "password": "approvals desk 2026 green"})
        token = body.get("session")
        check(status == 201 and token, f"the manager logs in on node1 ({status})")
        customer_tokens = []
        for cid, pw in customers:
            status, body = call(nodes[0], "POST", "/v1/sessions", {"customer": cid, "password": pw})
            customer_tokens.append(body.get("session"))
            check(status == 201, f"customer {cid} logs in ({status})")
        # The session is in the journal: every node accepts it.
        for n in nodes[1:]:
            s, _ = call(n, "GET", f"/v1/accounts/{ada}", token=token)
            check(s == 200, f"{n.name} accepts node1's session ({s})")

        stop = threading.Event()
        lock = threading.Lock()
        acked = []  # (kind, memo, {account: delta})
        served = collections.Counter()  # (node, second) -> acknowledged operations
        refused = collections.Counter()  # (kind, status, code) -> definite refusals
        started = time.time()

        def note_served(node):
            with lock:
                served[(node.name, int(time.time() - started))] += 1

        def until_acked(first, method, path, body, key, ok_codes=(200, 201), auth="Bearer",
                        tok=None, lost_means_done=None):
            """Sends one operation until a node acknowledges it, with the same key each time,
            moving to the next node after a failure. Returns (status, body) or None."""
            i = first
            attempts = 0
            uncertain = False
            while attempts < 400:
                node = nodes[i % 3]
                s, b = call(node, method, path, body, token=tok or token, key=key, auth=auth)
                if s in ok_codes:
                    note_served(node)
                    return s, b
                code = (b.get("error") or {}).get("code")
                if lost_means_done and uncertain and code == lost_means_done:
                    return 200, {}
                if s is not None and 400 <= s < 500 and s not in (408, 429):
                    with lock:
                        refused[(path.rsplit("/", 1)[-1], s, code)] += 1
                    return s, b  # A definite refusal: nothing was done.
                uncertain = True
                attempts += 1
                i += 1
                time.sleep(0.05 if attempts < 20 else 0.25)
            return None

        def client(cid):
            r = random.Random(a.seed * 1000 + cid)
            home = cid % 3
            n = 0
            while not stop.is_set():
                n += 1
                memo = f"c{cid}-{n}"
                roll = r.random()
                if roll < 0.6:
                    src, dst = r.sample(accounts, 2)
                    amount = r.randint(1, 500)
                    res = until_acked(home, "POST", "/v1/transfers",
                                      {"from": src, "to": dst, "amount": f"{amount / 100:.2f}",
                                       "memo": memo}, key=memo, tok=customer_tokens[owner[src]])
                    if res and res[0] in (200, 201):
                        with lock:
                            acked.append(("transfer", memo, {src: -amount, dst: amount}))
                elif roll < 0.9:
                    dst = r.choice(accounts)
                    amount = r.randint(1, 500)
                    res = until_acked(home, "POST", f"/v1/accounts/{dst}/deposits",
                                      {"amount": f"{amount / 100:.2f}", "memo": memo}, key=memo)
                    if res and res[0] in (200, 201):
                        with lock:
                            acked.append(("deposit", memo, {dst: amount}))
                else:
                    s, b = call(nodes[home], "POST", "/v1/terminals/ATM-01/withdrawals",
                                {"card": card, "pin": "4826", "amount": "100.00"},
                                token=terminal_key, auth="Terminal")
                    if s == 201 and "hold" in b:
                        res = until_acked(home, "POST",
                                          f"/v1/terminals/ATM-01/withdrawals/{b['hold']}/complete",
                                          {"taken": True}, key=None, auth="Terminal",
                                          tok=terminal_key, lost_means_done="hold_not_found")
                        if res and res[0] == 200:
                            with lock:
                                acked.append(("atm", memo, {ada: -10000}))
                    time.sleep(0.05)

        threads = [threading.Thread(target=client, args=(c,), daemon=True)
                   for c in range(3 * a.clients_per_node)]
        for t in threads:
            t.start()

        def window(name, t0, t1, exclude):
            with lock:
                count = sum(v for (n, s), v in served.items()
                            if n != exclude and t0 <= s <= t1)
            check(count > 0, f"the other nodes served during '{name}': {count} operations")

        def at(second):
            time.sleep(max(0, started + second - time.time()))

        span = a.seconds
        # 1. SIGKILL node 2, then start it again (same ports).
        at(span * 0.1)
        nodes[1].proc.send_signal(signal.SIGKILL)
        nodes[1].proc.wait()
        t0 = int(time.time() - started)
        at(span * 0.2)
        nodes[1].start()
        window("node2 killed", t0, int(time.time() - started), "node2")
        # 2. Restart PostgreSQL.
        at(span * 0.3)
        t0 = int(time.time() - started)
        subprocess.run(["bash", script, "restart", pgdir], check=True)
        at(span * 0.45)
        window("PostgreSQL restarted", t0, int(time.time() - started), None)
        # 3. End node 3's connections.
        at(span * 0.5)
        ports = node_ports(nodes[2].proc.pid)
        sql = ("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
               f"WHERE client_port IN ({','.join(map(str, ports)) or '0'})")
        r = subprocess.run(["bash", script, "psql", pgdir, url.rsplit(":", 1)[1].split("/")[0],
                            "bank", sql], capture_output=True, text=True)
        check(r.returncode == 0 and r.stdout.strip() not in ("", "0"),
              f"node3's connections ended: {r.stdout.strip()} backends ({r.stderr.strip()[:100]})")
        # 4. Pause node 1 for 10 seconds.
        at(span * 0.6)
        t0 = int(time.time() - started)
        nodes[0].proc.send_signal(signal.SIGSTOP)
        time.sleep(10)
        nodes[0].proc.send_signal(signal.SIGCONT)
        window("node1 paused", t0, int(time.time() - started), "node1")
        at(span)
        stop.set()
        for t in threads:
            t.join(timeout=180)
        check(not any(t.is_alive() for t in threads), "every client finished its last operation")

        kinds = collections.Counter(k for k, _, _ in acked)
        print(f"acknowledged: {dict(kinds)} in {span} s; refused: {dict(refused)}", flush=True)
        check(kinds["transfer"] > 0 and kinds["deposit"] > 0 and kinds["atm"] > 0,
              "transfers, deposits and ATM withdrawals were all acknowledged")
        expected = dict(opening)
        for _, _, deltas in acked:
            for acct, d in deltas.items():
                expected[acct] += d
        # Every node, caught up, answers the same exact balances.
        time.sleep(1.5)
        for n in nodes:
            wrong = []
            for acct, want in expected.items():
                s, b = call(n, "GET", f"/v1/accounts/{acct}", token=token)
                got = cents(b["balance"]) if s == 200 else None
                if got != want:
                    # The answer itself, when there was no balance: its status and error.
                    why = "" if s == 200 else f" (HTTP {s}: {str(b)[:160]})"
                    wrong.append(f"{acct}: {got} != {want}{why}")
            check(not wrong, f"{n.name}'s balances are exact ({'; '.join(wrong[:3])})")
            if wrong:
                dump_stacks(n)
        # Each acknowledged transfer or deposit is in the journal once, by its memo.
        memos = collections.Counter()
        for acct in accounts:
            code, out, _ = ctl("--json", "history", acct, "--limit", "1000000")
            for e in json.loads(out)["entries"]:
                memos[(acct, e.get("memo", ""))] += 1
        missing = doubled = 0
        for kind, memo, deltas in acked:
            if kind == "atm":
                continue
            for acct in deltas:
                c = memos[(acct, memo)]
                missing += c == 0
                doubled += c > 1
        check(missing == 0 and doubled == 0,
              f"every acknowledged operation is in the journal once ({missing} missing, {doubled} doubled)")
        code, out, _ = ctl("--json", "history", ada, "--limit", "1000000")
        atm_entries = sum(1 for e in json.loads(out)["entries"]
                          if e.get("memo", "").startswith("ATM ATM-01 withdrawal"))
        check(atm_entries >= kinds["atm"],
              f"every acknowledged ATM withdrawal is posted ({atm_entries} posted, {kinds['atm']} acknowledged)")
        code, out, _ = ctl("--json", "report", "trial-balance")
        tb = json.loads(out) if code == 0 else {}
        check(tb.get("total_debits") == tb.get("total_credits"),
              f"the trial balance is zero: debits {tb.get('total_debits')}, credits {tb.get('total_credits')}")
        code, out, err = ctl("verify")
        check(code == 0, f"the journal verifies ({err.strip()[:200]})")
    finally:
        for n in nodes:
            if n.proc and n.proc.poll() is None:
                n.proc.send_signal(signal.SIGCONT)
                n.proc.send_signal(signal.SIGTERM)
        for n in nodes:
            if n.proc:
                try:
                    rc = n.proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    dump_stacks(n)
                    n.proc.kill()
                    rc = None
                check(rc == 0, f"{n.name} exits 0 on SIGTERM ({rc})")
        subprocess.run(["bash", script, "stop", pgdir], capture_output=True)
        if not failures:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work} for inspection")
    if failures:
        print(f"{len(failures)} checks failed")
        return 1
    print("three nodes on one PostgreSQL journal: every check passed")
    return 0


def node_ports(pid):
    """The local ports of a process's TCP connections (to find its database backends)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[9] in inodes:
                ports.append(int(f[1].rsplit(":", 1)[1], 16))
    return ports


if __name__ == "__main__":
    sys.exit(main())
