"""Schemathesis hooks (SCHEMATHESIS_HOOKS=schemathesis_hooks, tests/test_openapi_fuzz.py): besides
the values it derives from the OpenAPI document, put the inputs that once gave 5xx answers into
the bodies and query strings it sends: over-long integers, ids past 32 bits, lone surrogates,
huge decimal exponents, unicode digits, CR/LF. Each must be refused with a 4xx."""

from __future__ import annotations

import schemathesis
from hypothesis import strategies as st

NASTY = st.sampled_from(
    [
        10**4000,
        2**31,
        2**63,
        2**70,
        -(2**70),
        "\ud800",
        "a\udc00b",
        "\ud800" * 3,
        "1E+999999999",
        "1e-999999999",
        "-1E+999999999",
        "١٢",
        "４５",
        "²",
        "2026-W01-1",
        "20260101",
        "2026-01-01T00:00",
        "/requests\r\nX-A: b",
        "\r\n",
        1e308,
        -1e308,
    ]
)


def _poison(body, path, value):
    """`body` with the leaf at `path` (a list of keys) replaced by `value`."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(body, dict) and head in body:
        return {**body, head: _poison(body[head], rest, value)}
    if isinstance(body, list) and isinstance(head, int) and head < len(body):
        return body[:head] + [_poison(body[head], rest, value)] + body[head + 1 :]
    return body


def _paths(body, prefix=()):
    if isinstance(body, dict):
        for key, value in body.items():
            yield prefix + (key,)
            yield from _paths(value, prefix + (key,))
    elif isinstance(body, list):
        for i, value in enumerate(body[:3]):
            yield prefix + (i,)
            yield from _paths(value, prefix + (i,))


@schemathesis.hook
def flatmap_body(context, body):
    operation = getattr(context, "operation", None)
    if str(getattr(operation, "path", "")).endswith("/documents"):
        return st.just(body)  # a multipart upload: the client cannot encode a lone surrogate into it
    paths = list(_paths(body))
    if not paths:
        return st.just(body)
    return st.one_of(st.just(body), st.builds(lambda p, v: _poison(body, list(p), v), st.sampled_from(paths), NASTY))


@schemathesis.hook
def flatmap_query(context, query):
    query = dict(query or {})
    keys = sorted(set(query) | {"before", "cursor"})
    return st.one_of(
        st.just(query),
        st.builds(
            lambda k, v: {**query, k: str(v)},
            st.sampled_from(keys),
            st.sampled_from([str(2**31), str(2**70), "١٢", "1E+999999999"]),
        ),
    )
