"""The benchmark driver behind `make bench` (scripts/bench.sh starts PostgreSQL, then runs this).

Needs PG_ADMIN_URL (a superuser URL to a running throw-away cluster). Writes docs/benchmarks.md.
Every series is a wrk run walking distinct URLs (bench/targets.py, bench/paths.lua), measured
against a hello-world run just before it. Knobs (environment): BENCH_REQUESTS (50000),
BENCH_SMALL (1000), BENCH_SQLITE_REQUESTS (20000; 0 skips the SQLite series), BENCH_DURATION
(seconds per wrk run, 8), BENCH_CONNECTIONS (16), BENCH_OUT (another file than docs/benchmarks.md,
for a trial run), BENCH_LOGS (where wrk output, URL files and logs go).

    python bench/run.py --report results.json    # re-write docs/benchmarks.md from a run's results"""

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
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
BIN = ROOT / ".venv" / "bin"
OUT = Path(os.environ.get("BENCH_OUT") or ROOT / "docs" / "benchmarks.md")  # BENCH_OUT: a trial run elsewhere
LOGS = Path(os.environ.get("BENCH_LOGS") or tempfile.mkdtemp(prefix="bench-logs-"))
LOGS.mkdir(parents=True, exist_ok=True)

N = int(os.environ.get("BENCH_REQUESTS", "50000"))
SMALL = int(os.environ.get("BENCH_SMALL", "1000"))
DURATION = int(os.environ.get("BENCH_DURATION", "8"))
SQLITE_N = int(os.environ.get("BENCH_SQLITE_REQUESTS", "20000"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
WARMUP = 2  # seconds of unrecorded load before each measured wrk run
THREADS = 2
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))  # as docs/deploy.md runs gunicorn
UA = "emma-bench/1"
# (series, who, title, target ratio to hello-world req/s or None)
SERIES = [
    ("api_detail", "api", "API detail, `GET /api/v1/requests/<id>` (coordinator token)", 0.15),
    ("api_list", "api", "API list, `GET /api/v1/requests?status=&node=&q=&cursor=` (coordinator token)", 0.15),
    ("page_staff", "staff", "Request page, `GET /requests/<id>` (ICS staff)", 0.05),
    ("page_coordinator", "coordinator", "Request page, `GET /requests/<id>` (coordinator)", 0.05),
    ("queue", "staff", "Staff work queue, `GET /requests?status=&sort=&page=&q=` (ICS staff)", 0.05),
    ("review", "coordinator", "Review queue, `GET /review` (coordinator)", 0.02),
    ("dashboard", "coordinator", "Dashboard, `GET /dashboard` (coordinator)", 0.02),
    ("csv", "coordinator", "CSV export, `GET /requests.csv?all=1&...` (coordinator)", None),
    ("pdf", "api", "Invoice PDF, `GET /api/v1/invoices/<id>.pdf` (coordinator token)", None),
    ("mixed", "api", "Mixed: 90 % API reads (detail, list), 10 % transitions (hold/resume)", None),
]
SQLITE_SERIES = ("api_detail", "api_list", "page_staff", "page_coordinator", "queue")


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
        subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *args],
            cwd=ROOT,
            env=env_for(url),
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
        )
    return time.perf_counter() - started


def prepare(url: str, n: int, tag: str) -> float:
    flask(url, "db", "upgrade", "heads", log_name=f"upgrade-{tag}.log")
    flask(url, "seed-demo", log_name=f"seed-demo-{tag}.log")
    log(f"seed-bench --requests {n} ({tag})")
    return flask(url, "seed-bench", "--requests", str(n), log_name=f"seed-{tag}.log")


def run_json(script: str, url: str, log_name: str) -> dict:
    res = subprocess.run([PY, str(ROOT / "bench" / script)], cwd=ROOT, env=env_for(url), capture_output=True, text=True)
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
            [
                str(BIN / "gunicorn"),
                "--workers",
                str(WORKERS),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--chdir",
                str(chdir),
                app,
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
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
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=180)  # a backlog may drain first
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
    status, headers, body = server.request(
        "POST", "/login", {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}, form
    )
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
    status, _, body = server.request(
        "POST",
        "/api/v1/tokens",
        {"Content-Type": "application/json"},
        json.dumps({"email": email, "password": password}).encode(),
    )
    if status != 201:
        raise RuntimeError(f"token for {email}: {status} {body[:200]!r}")
    return json.loads(body)["token"]


# ---- load ---------------------------------------------------------------------------
def wrk(server: Server, lines: list[str], headers: dict, name: str, duration: int = DURATION) -> dict:
    """wrk walking `lines` (bench/targets.py) with bench/paths.lua, after WARMUP s unrecorded."""
    for line in [x for x in lines if x.startswith("GET ")][:3]:
        status, _, body = server.get(line[4:], headers)
        if status != 200:
            raise RuntimeError(f"{name}: {line} answered {status}: {body[:300]!r}")
    paths = LOGS / f"paths-{name}.txt"
    paths.write_text("\n".join(lines) + "\n")
    env = dict(os.environ, BENCH_PATHS=str(paths), BENCH_THREADS=str(THREADS))
    args = [
        "wrk",
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(ROOT / "bench" / "paths.lua"),
        "-H",
        f"User-Agent: {UA}",
    ]
    for key, value in headers.items():
        args += ["-H", f"{key}: {value}"]
    url = f"http://127.0.0.1:{server.port}/"
    subprocess.run(args + [f"-d{WARMUP}s", url], capture_output=True, check=True, env=env)
    out = subprocess.run(args + [f"-d{duration}s", url], capture_output=True, text=True, check=True, env=env).stdout
    (LOGS / f"wrk-{name}.txt").write_text(out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = re.search(r"(\d+) requests in", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    p50 = re.search(r"50%\s+([\d.]+\w+)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    result = {
        "rps": rps,
        "requests": int(total.group(1)) if total else 0,
        "non2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "",
        "p50": p50.group(1) if p50 else "",
        "p99": p99.group(1) if p99 else "",
        "urls": len(set(lines)),
        "example": lines[0],
    }
    log(
        f"{name}: {rps:.0f} req/s (p50 {result['p50']}, p99 {result['p99']}, {result['urls']} URLs, "
        f"non-2xx {result['non2xx']})"
    )
    return result


def against_hello(hello: Server, app: Server, lines: list[str], headers: dict, name: str, before: dict) -> dict:
    """The series between two hello-world runs (`before`: the one just before it, often the previous
    series' after): the ratio is to the mean of the two, as hello-world's own rate drifts by a
    fifth or more within one run on a shared machine."""
    result = wrk(app, lines, headers, name)
    after = wrk(hello, ["GET /"], {}, f"hello-after-{name}")
    result["hello_before"], result["hello_after"] = before["rps"], after["rps"]
    result["hello_rps"] = base = (before["rps"] + after["rps"]) / 2
    result["ratio"] = round(result["rps"] / base, 3) if base else 0.0
    result["_after"] = after
    return result


def memory(server: Server) -> list[dict]:
    """VmRSS and VmHWM (the peak) of each worker, MB."""
    out = []
    for pid in server.workers():
        status = Path(f"/proc/{pid}/status").read_text()
        out.append(
            {k: round(int(re.search(rf"{k}:\s+(\d+) kB", status).group(1)) / 1024, 1) for k in ("VmRSS", "VmHWM")}
        )
    return out


# ---- the machine --------------------------------------------------------------------
def machine() -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text()).group(1)
    versions = subprocess.run(
        [
            PY,
            "-c",
            "import flask, sqlalchemy, gunicorn, weasyprint, psycopg; "
            "print(flask.__version__, sqlalchemy.__version__, gunicorn.__version__, "
            "weasyprint.__version__, psycopg.__version__)",
        ],
        capture_output=True,
        text=True,
    ).stdout.split()
    pg = subprocess.run(["/usr/lib/postgresql/15/bin/postgres", "--version"], capture_output=True, text=True).stdout
    wrk_v = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(int(mem) / 1024 / 1024, 1),
        "cpu": cpu or platform.processor(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "versions": dict(zip(("Flask", "SQLAlchemy", "gunicorn", "WeasyPrint", "psycopg"), versions)),
        "postgres": pg.strip(),
        "wrk": (wrk_v.stdout + wrk_v.stderr).split("\n")[0].strip(),
    }


# ---- main ---------------------------------------------------------------------------
def prepare_sqlite(path: str, n: int) -> tuple[str, float]:
    url = f"sqlite:///{path}"
    return url, prepare(url, n, "sqlite")


def transitions_done(url: str, since_id: int) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                text("SELECT count(*) FROM request_events WHERE id > :i AND comment = 'benchmark'"), {"i": since_id}
            ).scalar()
    finally:
        engine.dispose()


def max_event_id(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT coalesce(max(id), 0) FROM request_events")).scalar()
    finally:
        engine.dispose()


def series_urls(url: str) -> dict:
    from sqlalchemy import create_engine

    sys.path.insert(0, str(ROOT))
    from bench import targets

    engine = create_engine(url)
    try:
        urls = targets.series(engine)
        urls["csv_rows"] = targets.csv_rows_expected(engine, urls["csv"][0])
        return urls
    finally:
        engine.dispose()


def measure_server(url: str, env: dict, names: list[str], tag: str) -> dict:
    """Start hello-world and the app on the database at `url`, run the series `names`."""
    urls = series_urls(url)
    load: dict = {}
    servers = []
    try:
        hello = Server(f"hello-{tag}", "hello:app", dict(env), chdir=ROOT / "bench")
        servers.append(hello)
        app = Server(f"app-{tag}", "wsgi:app", env)
        servers.append(app)
        auth = {
            "api": {"Authorization": f"Bearer {bearer(app, 'coordinator@emma.example', 'coordinator-demo')}"},
            "staff": {"Cookie": session_cookie(app, "staff.ics@emma.example", "staff-ics-demo")},
            "coordinator": {"Cookie": session_cookie(app, "coordinator@emma.example", "coordinator-demo")},
        }
        who = {name: w for name, w, _, _ in SERIES}
        load["rss_start"] = memory(app)
        previous = wrk(hello, ["GET /"], {}, f"hello-before-{tag}")
        for name in names:
            lines = urls[name]
            if name == "csv":
                before = memory(app)
            if name == "mixed":
                since = max_event_id(url)
            load[name] = against_hello(hello, app, lines, auth[who[name]], f"{name}-{tag}", previous)
            previous = load[name].pop("_after")
            if name == "csv":
                load[name].update(rows=urls["csv_rows"], memory_before=before, memory_after=memory(app))
            if name == "mixed":
                load[name]["transitions"] = transitions_done(url, since)
        load["rss_end"] = memory(app)
        load["hello_rss"] = memory(hello)
    finally:
        for server in servers:
            server.stop()
    return load


def main() -> None:
    admin = os.environ["PG_ADMIN_URL"]
    results: dict = {
        "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "n": N,
        "small": SMALL,
        "sqlite_n": SQLITE_N,
        "duration": DURATION,
        "connections": CONNECTIONS,
        "machine": machine(),
    }
    log(f"logs in {LOGS}")

    # seed-bench timings and SQL statement counts at two sizes
    small_url = create_db(admin, "bench_small")
    results["seed_small_s"] = round(prepare(small_url, SMALL, "small"), 1)
    big_url = create_db(admin, "bench_big")
    results["seed_pg_s"] = round(prepare(big_url, N, "pg"), 1)
    log("SQL statements per page")
    results["sql_small"] = run_json("querycounts.py", small_url, "querycounts-small.log")
    results["sql_big"] = run_json("querycounts.py", big_url, "querycounts-big.log")
    results["rows"] = dict(
        sql(
            big_url,
            "SELECT 'requests', count(*) FROM conversion_requests UNION ALL "
            "SELECT 'events', count(*) FROM request_events UNION ALL "
            "SELECT 'invoices', count(*) FROM invoices",
        )
    )
    log("invoice PDF")
    results["pdf"] = run_json("pdfbench.py", big_url, "pdfbench.log")

    # throughput, each series against hello-world under the same gunicorn settings
    prod = env_for(big_url, APP_CONFIG="production", SECRET_KEY=secrets.token_hex(32))
    results["load"] = measure_server(big_url, prod, [name for name, _, _, _ in SERIES], "pg")

    if SQLITE_N:
        with tempfile.TemporaryDirectory() as tmp:
            lite_url, seconds = prepare_sqlite(f"{tmp}/bench.sqlite3", SQLITE_N)
            results["seed_sqlite_s"] = round(seconds, 1)
            lite = env_for(lite_url, APP_CONFIG="production", SECRET_KEY=secrets.token_hex(32), ALLOW_SQLITE="1")
            results["load_sqlite"] = measure_server(lite_url, lite, list(SQLITE_SERIES), "sqlite")
    (LOGS / "results.json").write_text(json.dumps(results, indent=1))
    OUT.write_text(report(results))
    log(f"wrote {OUT}")


# ---- the report ---------------------------------------------------------------------------
FINDINGS = ROOT / "bench" / "findings.md"  # the hand-written part of the report


def _hello(x: dict) -> str:
    """hello-world's req/s: the mean, with the runs before and after the series (older reports: one run)."""
    if "hello_before" not in x:
        return f"{x['hello_rps']:.0f}"
    return f"{x['hello_rps']:.0f} ({x['hello_before']:.0f}, {x['hello_after']:.0f})"


def _row(title: str, x: dict, target: float | None) -> str:
    verdict = ""
    if target is not None:
        verdict = "ok" if x["ratio"] >= target else "**below target**"
    if x["non2xx"] or x["socket_errors"]:
        verdict += f" ({x['non2xx']} non-2xx, socket errors: {x['socket_errors'] or 'none'})"
    return (
        f"| {title} | {x['urls']} | {x['rps']:.0f} | {_hello(x)} | **{x['ratio']:.3f}** | "
        f"{'≥ ' + str(target) if target is not None else '–'} | {x['p50']} | {x['p99']} | {verdict} |"
    )


def report(r: dict) -> str:
    m, load = r["machine"], r["load"]
    lines = [
        "# Benchmarks",
        "",
        f"Measured {r['started']} by `make bench` (scripts/bench.sh, bench/run.py) on "
        f"{m['nproc']} CPUs ({m['cpu']}), {m['memory_gb']} GB memory, Linux {m['kernel']}; "
        f"Python {m['python']}, "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
        + f"; {m['postgres']}; {m['wrk']}.",
        "",
        f"Data: `flask --app wsgi seed-bench --requests {r['n']}` on a throw-away PostgreSQL cluster "
        f"({r['rows'].get('requests')} requests, {r['rows'].get('events')} history rows, "
        f"{r['rows'].get('invoices')} invoices), plus the demo data. Nothing is cached between "
        f"requests: every answer is computed from the database (the read cache of issue 10 is gone).",
        "",
        "## Throughput on PostgreSQL",
        "",
        f"gunicorn, {WORKERS} sync workers, `APP_CONFIG=production`; `wrk -t{THREADS} -c{CONNECTIONS} "
        f"-d{r['duration']}s -s bench/paths.lua` on loopback after {WARMUP} s of unrecorded warm-up. "
        f"Each series walks a file of distinct URLs (bench/targets.py: thousands of request ids, list "
        f"URLs over every state × node, deep pages, text searches by reference and by gene) and is "
        f"measured between two runs of bench/hello.py (a one-route Flask app) under the same gunicorn "
        f"settings, one just before and one just after it: the ratio to their mean is the figure that "
        f"holds on a shared machine (hello-world's own rate drifts by a fifth or more within one run).",
        "",
        "| series | URLs | req/s | hello req/s (before, after) | × hello | target | p50 | p99 | |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, _, title, target in SERIES:
        if name in load:
            lines.append(_row(title, load[name], target))
    if "csv" in load:
        c = load["csv"]
        lines += [
            "",
            f"CSV export: {c['rows']} rows per call, streamed. Worker memory (MB) before the "
            f"run: {c['memory_before']}; after it: {c['memory_after']} (VmHWM is the peak).",
        ]
    if "mixed" in load:
        x = load["mixed"]
        lines += [
            "",
            f"Mixed run: {x['transitions']} transitions committed (every 10th call, "
            f"`POST /api/v1/requests/<id>/events` hold or resume, full request JSON answered) "
            f"among {x['requests']} calls.",
        ]
    lines += [
        "",
        f"Worker memory (MB): at start {load['rss_start']}, after every series {load['rss_end']}; "
        f"hello-world workers {load['hello_rss']}.",
    ]
    lite = r.get("load_sqlite")
    if lite:
        lines += [
            "",
            "## Throughput on SQLite (what `make run` users get)",
            "",
            f"The same series on the embedded SQLite default with `seed-bench --requests {r['sqlite_n']}`, "
            f"same gunicorn and wrk settings (`ALLOW_SQLITE=1`).",
            "",
            "| series | URLs | req/s | hello req/s (before, after) | × hello | target | p50 | p99 | |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for name, _, title, target in SERIES:
            if name in lite:
                lines.append(_row(title, lite[name], target))
    lines += [
        "",
        "## SQL statements per page and API call",
        "",
        f"Counted with a SQLAlchemy `before_cursor_execute` listener around one Flask test-client "
        f"request (second call, warm), on PostgreSQL with {r['small']} and with {r['n']} requests "
        f"(bench/querycounts.py). The count includes the sign-in lookup (token or session user). "
        f"tests/test_query_counts.py pins the counts in CI (5 vs 50 requests, SQLite and PostgreSQL). "
        f"The two columns measure two different requests (the newest in breeding at ICS in each data "
        f"set): what a request holds, not the table's size, can add a statement, such as the "
        f"corrections read only when a lab record was corrected or voided.",
        "",
        f"| what | statements ({r['small']}) | statements ({r['n']}) | ms ({r['small']}) | ms ({r['n']}) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, small in r["sql_small"].items():
        big = r["sql_big"][name]
        lines.append(f"| {name} | {small['statements']} | {big['statements']} | {small['ms']} | {big['ms']} |")
    p = r["pdf"]
    lines += ["", "## Invoice PDF rendering", ""]
    if "error" in p:
        lines.append(f"Not measured: {p['error']}.")
    else:
        lines.append(
            f"Invoice {p['invoice']} ({p['lines']} lines, {p['pages']} page(s)), median of {p['runs']} renders: "
            f"the app's `render_invoice` **{p['app_ms_per_page']} ms per page**; WeasyPrint rendering the same "
            f"HTML directly {p['direct_ms_per_page']} ms per page: **{p['ratio']}×** (target ≤ 1.2×)."
        )
    lines += [
        "",
        "## seed-bench",
        "",
        f"`seed-bench --requests {r['n']}`: **{r['seed_pg_s']} s on PostgreSQL**"
        + (f"; `--requests {r['sqlite_n']}` **{r['seed_sqlite_s']} s on SQLite**" if "seed_sqlite_s" in r else "")
        + f" (wall time of the command, migrations not included); {r['small']} requests: {r['seed_small_s']} s.",
        "",
    ]
    lines += FINDINGS.read_text().strip("\n").split("\n")
    lines += [
        "",
        "## Reproduce",
        "",
        "```sh",
        "make bench                      # about 13 minutes on 2 CPUs; writes this file",
        "BENCH_REQUESTS=5000 BENCH_SQLITE_REQUESTS=2000 BENCH_DURATION=3 make bench   # a quick run",
        "DATABASE_URL=... .venv/bin/python bench/profiling.py api_detail --profile  # where the time goes",
        "```",
        "",
        "scripts/bench.sh starts a throw-away PostgreSQL 15 cluster (fsync off) and runs bench/run.py, "
        "which seeds the databases, counts SQL statements (bench/querycounts.py), times the invoice PDF "
        "(bench/pdfbench.py), writes each series' URLs (bench/targets.py), starts gunicorn for the app "
        "and for bench/hello.py, runs wrk with bench/paths.lua and writes this file; the hand-written "
        "findings come from bench/findings.md. Raw wrk output, the URL files and logs stay in the "
        "temporary folder printed at the start. Query plans: `DATABASE_URL=... .venv/bin/python "
        "bench/explain.py`.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--report"]:  # re-write docs/benchmarks.md from a run's results.json
        OUT.write_text(report(json.loads(Path(sys.argv[2]).read_text())))
    else:
        main()
