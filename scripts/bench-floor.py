#!/usr/bin/env python3
"""The CPU floor of one rotation on this machine (run by `scripts/bench floor`).

Only the steps the product contract makes durable, and the socket traffic, timed per rotation:
the pending file (create, fsync, rename, fsync directory, unlink), the sink file (the same, then
read back), the journal's four commits before revocation (start, minted, verified + delivering,
promoted) with their rows on the real schema (WAL, synchronous=FULL), and three request/response
exchanges on a kept-alive loopback socket (no TLS, no HTTP). No parsing, logging or threads.
Python adds some user time to the journal line (about 1 us per statement); the system time is
what the kernel needs for these steps whatever calls them.

usage: bench-floor.py MIGRATIONS_DIR [N] [TMPDIR]
"""
import glob
import os
import resource
import shutil
import socket
import sqlite3
import sys
import tempfile

migrations, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 640
work = tempfile.mkdtemp(prefix="astra-floor.", dir=sys.argv[3] if len(sys.argv) > 3 else None)
secret = b'{"clientId":"' + b"A" * 24 + b'","token":"AstraCS:' + b"B" * 300 + b'"}\n'
parts = []


def measure(label, step):
    before = resource.getrusage(resource.RUSAGE_SELF)
    for i in range(n):
        step(i)
    after = resource.getrusage(resource.RUSAGE_SELF)
    user = (after.ru_utime - before.ru_utime) / n * 1e6
    system = (after.ru_stime - before.ru_stime) / n * 1e6
    parts.append((label, user, system))
    print("%-56s user %4.0f us  sys %4.0f us  total %4.0f us" % (label, user, system, user + system))


def durable_file(directory, name, i, read_back):
    d = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    temp = ".%s.tmp-%016x" % (name, i)
    f = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=d)
    os.write(f, secret)
    os.fsync(f)
    os.close(f)
    os.rename(temp, name, src_dir_fd=d, dst_dir_fd=d)
    os.fsync(d)
    if read_back:
        f = os.open(name, os.O_RDONLY, dir_fd=d)
        os.read(f, 4096)
        os.close(f)
    os.close(d)


def pending(i):
    durable_file(work + "/pending", "%d.json" % i, i, False)
    os.unlink(work + "/pending/%d.json" % i)


def journal(i):
    cred, now, new = "cred%02d" % (i % 64), 1_790_000_000_000 + i, "N%023d" % i
    event = ("INSERT INTO events (at_ms, credential, client_id, rotation_id, event, detail) "
             "VALUES (?, ?, ?, ?, ?, ?)")
    db.execute("BEGIN IMMEDIATE")
    rid = db.execute("INSERT INTO rotations (credential, stage, \"trigger\", old_client_id, "
                     "started_ms, updated_ms) VALUES (?, 'planned', 'schedule', 'OLD', ?, ?)",
                     (cred, now, now)).lastrowid
    db.execute("UPDATE credentials SET state = 'rotating', last_rotation_id = ?, updated_ms = ? "
               "WHERE name = ?", (rid, now, cred))
    db.execute("COMMIT")
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE rotations SET stage = 'minted', new_client_id = ?, updated_ms = ? "
               "WHERE id = ?", (new, now, rid))
    db.execute("INSERT INTO clients (client_id, roles, description, token_expiry, generated_on, "
               "generated_on_ms, first_seen_ms, last_seen_ms) "
               "VALUES (?, '[\"r\"]', '', '', 'x', ?, ?, ?)", (new, now, now, now))
    db.execute(event, (now, cred, new, rid, "created", "rotation"))
    db.execute("COMMIT")
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE rotations SET stage = 'delivering', updated_ms = ? WHERE id = ?",
               (now, rid))
    db.execute("INSERT INTO rotation_sinks (rotation_id, sink, state, attempts) "
               "VALUES (?, 'file', 'pending', 1)", (rid,))
    db.execute(event, (now, cred, new, rid, "verified", "GET /v2/currentOrg"))
    db.execute("COMMIT")
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE rotation_sinks SET state = 'delivered', delivered_ms = ? "
               "WHERE rotation_id = ?", (now, rid))
    db.execute("UPDATE rotations SET stage = 'grace', updated_ms = ? WHERE id = ?", (now, rid))
    db.execute("UPDATE credentials SET current_client_id = ?, state = 'grace', updated_ms = ? "
               "WHERE name = ?", (new, now, cred))
    db.execute(event, (now, cred, new, rid, "delivered", "sink file"))
    db.execute(event, (now, cred, new, rid, "promoted", "previous client"))
    db.execute("COMMIT")


try:
    os.makedirs(work + "/pending", 0o700)
    os.makedirs(work + "/out", 0o700)
    measure("pending file: create, fsync, rename, fsync dir, unlink", pending)
    measure("sink file: create, fsync, rename, fsync dir, read back",
            lambda i: durable_file(work + "/out", "cred%02d.json" % (i % 64), i, True))

    db = sqlite3.connect(work + "/rotator.db", isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    for migration in sorted(glob.glob(os.path.join(migrations, "*.sql"))):
        with open(migration, encoding="utf-8") as f:
            db.executescript(f.read())
    for c in range(64):
        db.execute("INSERT INTO credentials (name, state, consecutive_failures, created_ms, "
                   "updated_ms) VALUES (?, 'idle', 0, 1, 1)", ("cred%02d" % c,))
    measure("journal: 4 commits (synchronous=FULL) and their rows", journal)

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    child = os.fork()
    if child == 0:
        conn, _ = server.accept()
        while conn.recv(4096):
            conn.sendall(b"H" * 700)
        os._exit(0)
    client = socket.create_connection(server.getsockname())

    def exchanges(_):
        for _ in range(3):
            client.sendall(b"R" * 300)
            client.recv(4096)

    measure("network: 3 exchanges on a kept-alive loopback socket", exchanges)
    client.close()
    os.waitpid(child, 0)
    user = sum(p[1] for p in parts)
    system = sum(p[2] for p in parts)
    print("floor: %.2f ms CPU per rotation (user %.2f, sys %.2f) over %d rotations in %s"
          % ((user + system) / 1000, user / 1000, system / 1000, n, work))
finally:
    shutil.rmtree(work, ignore_errors=True)
