"""The read cache: whole answers of the hot GET pages and API calls, kept in each worker's memory
and checked against one number in the database every time one is used.

The change stamp: every transaction that writes anything (an ORM flush, a Core statement, raw
SQL) adds one to `change_stamp.value` just before it commits, in the same transaction, so the new
stamp and the new data become visible together.

A GET of a view marked `@cacheable` is answered from memory only when
- the same URL was asked with the same credentials (Authorization header or the whole session
  cookie), client address, user agent and host;
- the stamp read now (one primary-key read on the worker's own autocommit connection: one round
  trip) equals the stamp read before that answer was computed (read first, so the cached data is
  never older than its stamp); and
- the answer is younger than READ_CACHE_SECONDS (pages show dates relative to today) and the API
  token it was made for has not expired since.

Any write anywhere (a transition, a lab record, a token revoked, a role changed, "sign out
everywhere") moves the stamp, so the next read recomputes: nothing can be served stale, and there
is no per-object invalidation to forget. Under a steady stream of writes it simply misses. Answers
that are not 200 or that set a cookie (a first CSRF token, a flash message shown) are never kept.
READ_CACHE_SECONDS = 0 turns it off.
"""
from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from functools import wraps

from flask import current_app, request
from sqlalchemy import BigInteger, Integer, event
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db

READ = "SELECT value FROM change_stamp WHERE id = 1"
BUMP = "UPDATE change_stamp SET value = value + 1 WHERE id = 1"
WRITES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE", "MERGE", "REPLACE")
SCHEMA = ("CREATE", "ALTER", "DROP")  # migrations: the table may not exist yet
MARK = "conversion.read_cache"  # environ keys set by @cacheable and the sign-in code
STAMP = "conversion.read_cache.stamp"
UNTIL = "conversion.read_cache.until"
KEY_PARTS = ("PATH_INFO", "QUERY_STRING", "HTTP_AUTHORIZATION", "HTTP_COOKIE", "REMOTE_ADDR",
             "HTTP_USER_AGENT", "HTTP_HOST", "wsgi.url_scheme", "HTTP_X_FORWARDED_FOR",
             "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_ACCEPT")


class ChangeStamp(db.Model):
    """One row (id 1): how many writing transactions have committed."""
    __tablename__ = "change_stamp"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


def watch_writes(engine) -> None:
    """Bump the stamp in every transaction on `engine` that wrote something."""

    @event.listens_for(engine, "before_cursor_execute")
    def _note(conn, cursor, statement, parameters, context, executemany):
        head = statement.lstrip()[:8].upper()
        if head.startswith(WRITES):
            conn.info["stamp_wrote"] = True
        elif head.startswith(SCHEMA):
            conn.info["stamp_schema"] = True

    @event.listens_for(engine, "commit")
    def _bump(conn):
        wrote, schema = conn.info.pop("stamp_wrote", False), conn.info.pop("stamp_schema", False)
        if wrote and not schema:
            cursor = conn.connection.cursor()  # the DBAPI cursor: no event, no recursion
            try:
                cursor.execute(BUMP)
            finally:
                cursor.close()

    @event.listens_for(engine, "rollback")
    def _forget(conn):
        conn.info.pop("stamp_wrote", None)
        conn.info.pop("stamp_schema", None)


class StampReader:
    """Reads the stamp on a connection of its own per worker process, in autocommit: one round
    trip (no BEGIN/ROLLBACK, no pool ping); threads take turns on it. An in-memory SQLite
    database has one connection, shared through the pool."""

    def __init__(self, engine):
        self.engine = engine
        self.lock = threading.Lock()
        self.conn, self.pid = None, None
        self.shared = engine.url.database in (None, "", ":memory:")

    def read(self) -> int | None:
        """The current stamp; None when it cannot be read (then nothing is cached)."""
        if self.shared:
            with self.engine.connect() as conn:
                return conn.exec_driver_sql(READ).scalar()
        with self.lock:
            try:
                if self.conn is None or self.pid != os.getpid():  # a forked worker opens its own
                    self.conn, self.pid = self._open(), os.getpid()
                cursor = self.conn.cursor()
                cursor.execute(READ)
                row = cursor.fetchone()
                cursor.close()
                return row[0] if row else None
            except Exception:  # the database went away: answer uncached now, reconnect next time
                self.close()
                return None

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def _open(self):
        fairy = self.engine.raw_connection()
        fairy.detach()  # ours alone, closed rather than returned to the pool
        dbapi = fairy.dbapi_connection
        dbapi.rollback()
        if self.engine.dialect.name == "sqlite":
            dbapi.isolation_level = None
        else:
            dbapi.autocommit = True
        return fairy


@dataclass
class Entry:
    stamp: int
    until: float
    status: str
    headers: list
    body: bytes


class ReadCache:
    """WSGI middleware around the Flask app (outermost)."""

    def __init__(self, app, wsgi_app, reader: StampReader):
        self.config, self.wsgi_app, self.reader = app.config, wsgi_app, reader
        self.entries: OrderedDict[bytes, Entry] = OrderedDict()
        self.size = 0  # bytes of the bodies kept
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "GET" or not self.config.get("READ_CACHE_SECONDS"):
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        key = hashlib.sha256("\x00".join(str(environ.get(k, "")) for k in KEY_PARTS).encode()).digest()
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
        if entry is not None and entry.until > time.time():
            stamp = self.reader.read()
            if stamp is not None and stamp == entry.stamp:
                return self._serve(entry, environ, start_response, started)
            environ[STAMP] = stamp  # read before the view runs: @cacheable need not read it again
        return self._answer(key, environ, start_response)

    def _serve(self, entry: Entry, environ, start_response, started: float):
        from .observability import REQUEST_ID, log_access

        given = environ.get("HTTP_X_REQUEST_ID", "")
        rid = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        start_response(entry.status, entry.headers + [("X-Request-ID", rid), ("X-Read-Cache", "hit")])
        if self.config.get("LOG_REQUESTS", True):
            log_access("GET", environ.get("PATH_INFO", ""), int(entry.status[:3]), started,
                       environ.get("REMOTE_ADDR"), rid)
        return [entry.body]

    def _answer(self, key: bytes, environ, start_response):
        captured = {}

        def capture(status, headers, exc_info=None):
            captured.update(status=status, headers=headers)
            if environ.get(MARK) and environ.get(STAMP) is not None:
                headers = headers + [("X-Read-Cache", "miss")]
            return start_response(status, headers, exc_info)

        result = self.wsgi_app(environ, capture)
        if not environ.get(MARK) or environ.get(STAMP) is None or not captured.get("status", "").startswith("200"):
            return result
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "x-request-id"]
        budget = self.config.get("READ_CACHE_BYTES", 32 * 1024 * 1024)
        if len(body) <= budget // 16 and not any(k.lower() == "set-cookie" for k, _ in headers):
            until = min(time.time() + self.config["READ_CACHE_SECONDS"], environ.get(UNTIL, float("inf")))
            with self.lock:
                old = self.entries.pop(key, None)
                self.size += len(body) - (len(old.body) if old else 0)
                self.entries[key] = Entry(environ[STAMP], until, captured["status"], headers, body)
                while self.entries and (len(self.entries) > self.config.get("READ_CACHE_ENTRIES", 256)
                                        or self.size > budget):  # least recently used first
                    self.size -= len(self.entries.popitem(last=False)[1].body)
        return [body]


def cacheable(view):
    """Mark a GET view whose answer depends only on the caller, the URL and the database. The
    stamp is read before the view reads anything (put it above the sign-in decorators)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        cache = current_app.extensions.get("read_cache")
        if cache is not None and request.method == "GET" and current_app.config.get("READ_CACHE_SECONDS"):
            request.environ[MARK] = True
            if request.environ.get(STAMP) is None:
                request.environ[STAMP] = cache.reader.read()
        return view(*args, **kwargs)

    return wrapped


def cache_until(timestamp: float) -> None:
    """This answer must not be served from the cache after `timestamp` (seconds since the epoch):
    the caller's token expires then."""
    request.environ[UNTIL] = min(timestamp, request.environ.get(UNTIL, float("inf")))


def init_app(app) -> None:
    with app.app_context():
        engine = db.engine
    watch_writes(engine)
    cache = ReadCache(app, app.wsgi_app, StampReader(engine))
    app.extensions["read_cache"] = cache
    app.wsgi_app = cache
