#!/usr/bin/env python3
"""Checks `bankctl loan quote` against an independent annuity computation with Python's
decimal module at 40 significant digits (issue 21): schedules of 1 to 360 months at rates from
0 to 36 %, every installment's payment, interest, principal and remaining balance to the cent.

Usage: loan_crosscheck.py BANKCTL [CASES]   (seeded: the same cases every run)
"""
import json
import random
import subprocess
import sys
from decimal import ROUND_HALF_EVEN, Decimal, getcontext

getcontext().prec = 40
CENT = Decimal("0.01")


def schedule(principal, months, annual):
    p = Decimal(principal)
    r = Decimal(annual) / Decimal(100) / Decimal(12)
    if r == 0:
        inst = (p / months).quantize(CENT, rounding=ROUND_HALF_EVEN)
    else:
        inst = (p * r / (1 - (1 + r) ** -months)).quantize(CENT, rounding=ROUND_HALF_EVEN)
    rows = []
    rem = p
    for n in range(1, months + 1):
        # The month's interest divides last: rem × annual ÷ 1200 is exact in decimal whenever it
        # ends, so a tie (156.00 at 5.5 % is 0.715) rounds as exact arithmetic rounds it, to
        # 0.72; rem × (annual ÷ 1200) at 40 digits would be 0.71499… and round to 0.71.
        interest = (rem * Decimal(annual) / Decimal(1200)).quantize(CENT, rounding=ROUND_HALF_EVEN)
        if n == months:
            part = rem
        else:
            part = max(Decimal(0), min(inst - interest, rem))
        rem -= part
        rows.append((interest + part, interest, part, rem))
    return rows


def main():
    bankctl = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    seed = 21
    print(f"loan cross-check: {count} cases, seed {seed}")
    rng = random.Random(seed)
    cases = [("12000.00", 12, "12"), ("1000.00", 3, "0"), ("250000.00", 360, "36")]
    rates = ["0", "0.01", "1", "3.65", "5.5", "7.25", "12", "19.99", "24", "35.999999", "36"]
    while len(cases) < count:
        months = rng.choice([1, 2, 3, 6, 12, 24, 36, 60, 120, 180, 240, 300, 360, rng.randint(1, 360)])
        rate = rng.choice(rates + [f"{rng.randint(0, 36)}.{rng.randint(0, 999999):06d}"])
        if Decimal(rate) > 36:
            rate = "36"
        cents = rng.choice([rng.randint(100, 10**5), rng.randint(10**5, 10**8), rng.randint(10**8, 10**11)])
        cases.append((f"{cents // 100}.{cents % 100:02d}", months, rate))
    failures = 0
    for principal, months, rate in cases:
        out = subprocess.run(
            [bankctl, "--json", "loan", "quote", "--amount", principal, "--months", str(months),
             "--annual", rate, "--start", "2026-01-31"],
            capture_output=True, text=True)
        if out.returncode != 0:
            print(f"FAIL {principal} {months} {rate}: exit {out.returncode} {out.stderr.strip()}")
            failures += 1
            continue
        got = json.loads(out.stdout)["installments"]
        want = schedule(principal, months, rate)
        if len(got) != len(want):
            print(f"FAIL {principal} {months} {rate}: {len(got)} installments, expected {len(want)}")
            failures += 1
            continue
        for g, w in zip(got, want):
            fields = [Decimal(g["payment"]), Decimal(g["interest"]), Decimal(g["principal"]), Decimal(g["remaining"])]
            if fields != list(w):
                print(f"FAIL {principal} {months} {rate} installment {g['n']}: got {fields}, expected {list(w)}")
                failures += 1
                break
    print(f"loan cross-check: {len(cases) - failures} of {len(cases)} schedules agree")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
