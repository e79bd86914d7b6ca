"""URL converters, and URLs built once per page for its many rows."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote_plus

from flask import has_request_context, request, url_for
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<int:...>` in every URL: database ids, so 0..2**31-1. A larger number is a 404, not a
    database overflow (500); the OpenAPI document states the maximum."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


_AROUND: dict[tuple, tuple[str, str]] = {}


def url_around(endpoint: str, name: str, marker, **values) -> tuple[str, str]:
    """The text of `url_for(endpoint, name=marker, **values)` before and after `marker`, built once
    per script root: the URL of any value of `name` that url_for writes as it is (an id, an EMMA id)
    is that text around it (url_for costs ~15 µs a call)."""
    key = (request.script_root if has_request_context() else None, endpoint, name, marker, *values.items())
    parts = _AROUND.get(key)
    if parts is None:
        head, _, tail = url_for(endpoint, **{name: marker}, **values).partition(str(marker))
        parts = (head, tail)
        if key[0] is not None and len(_AROUND) < 1_000:  # outside a request: no script root to key on
            _AROUND[key] = parts
    return parts


def id_url(endpoint: str, name: str = "request_id") -> Callable[[int], str]:
    """`url_for(endpoint, **{name: id})` for many ids (a page's rows): the integer id written into
    the text around it (url_around)."""
    head, tail = url_around(endpoint, name, MAX_ID)
    return lambda value: f"{head}{int(value)}{tail}"


def query_value(value: str) -> str:
    """A query string's value quoted as url_for quotes it (werkzeug.urls._urlencode)."""
    return quote_plus(value, safe="!$'()*,/:;?@")


_FIXED: dict[tuple, str] = {}


def fixed_url_for(endpoint: str, **values) -> str:
    """The templates' url_for. A link without arguments (the layout's menus) or to a static file is
    the same text on every page of a deployment (for its script root): built once, not on each of
    the ~15 such links of every page. Anything else is url_for itself."""
    if not has_request_context() or (values and (endpoint != "static" or len(values) != 1)):
        return url_for(endpoint, **values)
    key = (request.script_root, endpoint, values.get("filename"))
    url = _FIXED.get(key)
    if url is None:
        url = url_for(endpoint, **values)
        if len(_FIXED) < 1_000:
            _FIXED[key] = url
    return url
