/* SQLite peer for bankbench: the same double-entry transfers, WAL mode, synchronous=FULL,
 * prepared statements, one transaction per batch. Build: cc -O2 sqlite_peer.c -lsqlite3
 * Usage: sqlite_peer DB ACCOUNTS TRANSFERS BATCH   -> prints "transfers_per_second" */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static uint64_t s = 1;
static uint64_t next(void) {
  s += 0x9E3779B97F4A7C15ULL;
  uint64_t z = s;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
static void check(int rc, sqlite3 *db, const char *what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
  }
}
int main(int argc, char **argv) {
  if (argc != 5) { fprintf(stderr, "usage: sqlite_peer DB ACCOUNTS TRANSFERS BATCH\n"); return 64; }
  const char *path = argv[1];
  long accounts = atol(argv[2]), transfers = atol(argv[3]), batch = atol(argv[4]);
  unlink(path);
  sqlite3 *db;
  check(sqlite3_open(path, &db), db, "open");
  check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                         "CREATE TABLE accounts(id INTEGER PRIMARY KEY, debits INTEGER NOT NULL, credits INTEGER NOT NULL);"
                         "CREATE TABLE transfers(id INTEGER PRIMARY KEY, debit INTEGER NOT NULL, credit INTEGER NOT NULL,"
                         " amount INTEGER NOT NULL, ts INTEGER NOT NULL);", 0, 0, 0), db, "schema");
  check(sqlite3_exec(db, "BEGIN", 0, 0, 0), db, "begin");
  sqlite3_stmt *ins;
  check(sqlite3_prepare_v2(db, "INSERT INTO accounts VALUES(?, 0, 100000000000000)", -1, &ins, 0), db, "prep");
  for (long i = 1; i <= accounts; i++) {
    sqlite3_bind_int64(ins, 1, i);
    check(sqlite3_step(ins), db, "insert account");
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  check(sqlite3_exec(db, "COMMIT", 0, 0, 0), db, "commit");
  sqlite3_stmt *debit, *credit, *hist, *begin, *commit, *rollback;
  /* The debit only applies when funds suffice, the ledger's rule, checked in the same statement. */
  check(sqlite3_prepare_v2(db, "UPDATE accounts SET debits = debits + ?1 WHERE id = ?2 AND credits - debits >= ?1", -1, &debit, 0), db, "p1");
  check(sqlite3_prepare_v2(db, "UPDATE accounts SET credits = credits + ?1 WHERE id = ?2", -1, &credit, 0), db, "p2");
  check(sqlite3_prepare_v2(db, "INSERT INTO transfers(debit, credit, amount, ts) VALUES(?, ?, ?, ?)", -1, &hist, 0), db, "p3");
  check(sqlite3_prepare_v2(db, "BEGIN", -1, &begin, 0), db, "p4");
  check(sqlite3_prepare_v2(db, "COMMIT", -1, &commit, 0), db, "p5");
  check(sqlite3_prepare_v2(db, "ROLLBACK", -1, &rollback, 0), db, "p6");
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  long done = 0;
  while (done < transfers) {
    check(sqlite3_step(begin), db, "begin"); sqlite3_reset(begin);
    for (long j = 0; j < batch && done < transfers; j++, done++) {
      long a = 1 + next() % accounts, b = 1 + next() % accounts;
      if (b == a) b = b % accounts + 1;
      long amt = 1 + next() % 10000;
      sqlite3_bind_int64(debit, 1, amt); sqlite3_bind_int64(debit, 2, a);
      check(sqlite3_step(debit), db, "debit"); sqlite3_reset(debit);
      if (sqlite3_changes(db) != 1) { fprintf(stderr, "insufficient funds\n"); return 1; }
      sqlite3_bind_int64(credit, 1, amt); sqlite3_bind_int64(credit, 2, b);
      check(sqlite3_step(credit), db, "credit"); sqlite3_reset(credit);
      sqlite3_bind_int64(hist, 1, a); sqlite3_bind_int64(hist, 2, b); sqlite3_bind_int64(hist, 3, amt);
      sqlite3_bind_int64(hist, 4, done);
      check(sqlite3_step(hist), db, "history"); sqlite3_reset(hist);
    }
    check(sqlite3_step(commit), db, "commit"); sqlite3_reset(commit);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("%.0f\n", transfers / secs);
  sqlite3_close(db);
  unlink(path);
  return 0;
}
