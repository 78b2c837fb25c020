"""The peer of bankd's service benchmark: the seed system's own stack, a small Flask +
SQLAlchemy + SQLite app (WAL, synchronous=FULL) with the same three routes as bankd:

  GET  /v1/accounts/<number>              -> {"account","currency","balance"}
  POST /v1/accounts/<number>/deposits     {"amount"} -> 201 {"account","balance"}
  POST /v1/accounts/<number>/withdrawals  {"amount"} -> 201 {"account","balance"}

Amounts are decimal strings parsed to integer cents (no floating point). Every call needs
`Authorization: Bearer TOKEN` checked against a sessions table, as bankd checks its sessions.
Each write is one transaction (BEGIN IMMEDIATE, the row updated, a movement inserted, COMMIT),
durable when answered (synchronous=FULL).

  python3 flask_bank.py --db PATH --port N [--setup ACCOUNTS]   (served by gunicorn or Flask)
"""

import argparse
import re

from flask import Flask, jsonify, request
from sqlalchemy import create_engine, event, text

AMOUNT = re.compile(r"^(0|[1-9][0-9]{0,12})(\.[0-9]{1,2})?$")


def make_app(db_path):
    engine = create_engine(f"sqlite:///{db_path}", connect_args={"check_same_thread": False},
                           pool_size=32, max_overflow=32)

    @event.listens_for(engine, "connect")
    def pragmas(dbapi_connection, _):
        dbapi_connection.isolation_level = None  # explicit BEGIN below
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    app = Flask(__name__)

    def authorised(conn):
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return False
        row = conn.execute(text("SELECT 1 FROM sessions WHERE token = :t"), {"t": header[7:]}).first()
        return row is not None

    def cents(s):
        if not isinstance(s, str) or not AMOUNT.match(s):
            return None
        whole, _, frac = s.partition(".")
        return int(whole) * 100 + int((frac + "00")[:2])

    def shown(c):
        sign = "-" if c < 0 else ""
        c = abs(c)
        return f"{sign}{c // 100}.{c % 100:02d}"

    def error(status, code, message):
        return jsonify({"error": {"code": code, "message": message}}), status

    @app.get("/v1/accounts/<number>")
    def balance(number):
        with engine.connect() as conn:
            if not authorised(conn):
                return error(401, "authentication_failed", "bad session")
            row = conn.execute(text("SELECT balance FROM accounts WHERE number = :n"), {"n": number}).first()
            if row is None:
                return error(404, "account_not_found", f"account {number} not found")
            return jsonify({"account": number, "currency": "USD", "balance": shown(row[0])})

    def move(number, sign):
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or set(body) - {"amount", "memo"}:
            return error(400, "invalid_argument", "body must be {amount, memo}")
        amount = cents(body.get("amount"))
        if not amount:
            return error(400, "invalid_amount", "amount must be a positive decimal")
        with engine.connect() as conn:
            if not authorised(conn):
                return error(401, "authentication_failed", "bad session")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                row = conn.execute(text("SELECT balance FROM accounts WHERE number = :n"), {"n": number}).first()
                if row is None:
                    conn.exec_driver_sql("ROLLBACK")
                    return error(404, "account_not_found", f"account {number} not found")
                new = row[0] + sign * amount
                if new < 0:
                    conn.exec_driver_sql("ROLLBACK")
                    return error(422, "insufficient_funds", f"account {number} has {shown(row[0])}")
                conn.execute(text("UPDATE accounts SET balance = :b WHERE number = :n"), {"b": new, "n": number})
                conn.execute(text("INSERT INTO movements (account, amount) VALUES (:n, :a)"),
                             {"n": number, "a": sign * amount})
                conn.exec_driver_sql("COMMIT")
            except Exception:
                conn.exec_driver_sql("ROLLBACK")
                raise
            return jsonify({"account": number, "balance": shown(new)}), 201

    @app.post("/v1/accounts/<number>/deposits")
    def deposit(number):
        return move(number, 1)

    @app.post("/v1/accounts/<number>/withdrawals")
    def withdraw(number):
        return move(number, -1)

    return app, engine


def setup(engine, accounts, token):
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS accounts (number TEXT PRIMARY KEY, balance INTEGER NOT NULL)")
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS movements (id INTEGER PRIMARY KEY, account TEXT, amount INTEGER)")
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS sessions (token TEXT PRIMARY KEY)")
        conn.exec_driver_sql("BEGIN")
        for number in accounts:
            conn.execute(text("INSERT OR IGNORE INTO accounts VALUES (:n, 100000)"), {"n": number})
        conn.execute(text("INSERT OR IGNORE INTO sessions VALUES (:t)"), {"t": token})
        conn.exec_driver_sql("COMMIT")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    p.add_argument("--setup", nargs="*", default=None, help="account numbers to create")
    p.add_argument("--token", default="peer-token")
    args = p.parse_args()
    app, engine = make_app(args.db)
    setup(engine, args.setup or [], args.token)


def wsgi():
    """gunicorn's entry: `gunicorn 'flask_bank:wsgi()'` with PEER_DB set."""
    import os

    return make_app(os.environ["PEER_DB"])[0]
