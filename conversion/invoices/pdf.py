"""PDF rendering with WeasyPrint: invoices, credit notes, quotes (and, for conversion/documents,
the conversion certificate).

Nothing is loaded from outside the app: the URL fetcher serves `file:` URLs from the app's
static folder, the PDF templates and the DejaVu font folder only, and refuses everything else
(http, https, other files). The stylesheet and the font configuration are parsed once per
process and reused; renders are serialised by a lock (WeasyPrint is not documented as
thread-safe)."""

from __future__ import annotations

import mimetypes
import threading
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app, render_template
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from ..countries import country_name

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATE_DIR = ROOT / "templates" / "invoices" / "pdf"
STATIC_DIR = ROOT / "static"
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)  # fonts-dejavu-core


class LocalOnlyFetcher(URLFetcher):
    """Serves local files below the allowed folders; refuses any other URL."""

    def __init__(self, roots=(TEMPLATE_DIR, STATIC_DIR, *FONT_DIRS)):
        super().__init__(fail_on_errors=False)
        self.roots = tuple(Path(r).resolve() for r in roots)

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise ValueError(f"refused to load {url[:100]!r}: only the app's own files are used")
        path = Path(unquote(parts.path)).resolve()
        if not any(path.is_relative_to(root) for root in self.roots) or not path.is_file():
            raise ValueError(f"refused to load {path}: outside the app's font and static folders")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix == ".ttf":
            mime = "font/ttf"
        return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": mime})


_lock = threading.RLock()
_cache: dict = {}


def _resources():
    """(fetcher, font configuration, stylesheet), built once per process."""
    with _lock:
        if not _cache:
            fetcher = LocalOnlyFetcher()
            fonts = FontConfiguration()
            css = (TEMPLATE_DIR / "document.css").read_text(encoding="utf-8")
            font_dir = FONT_DIRS[0].as_uri()
            css = css.replace("FONT_DIR", font_dir)
            _cache.update(
                fetcher=fetcher,
                fonts=fonts,
                css=CSS(string=css, base_url=TEMPLATE_DIR.as_uri() + "/", url_fetcher=fetcher, font_config=fonts),
            )
        return _cache["fetcher"], _cache["fonts"], _cache["css"]


def render_pdf(html: str) -> bytes:
    fetcher, fonts, css = _resources()
    with _lock:
        document = HTML(string=html, base_url=TEMPLATE_DIR.as_uri() + "/", url_fetcher=fetcher)
        return document.write_pdf(stylesheets=[css], font_config=fonts)


# ---- formatting -------------------------------------------------------------------
def money(value) -> str:
    """1234.5 -> '1,234.50' (always two decimals)."""
    return f"{Decimal(value):,.2f}"


def quantity(value) -> str:
    value = Decimal(value)
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"


def rate(value) -> str:
    value = Decimal(value or 0)
    return f"{value.normalize():f}" if value != value.to_integral_value() else f"{value:.0f}"


def helpers() -> dict:
    """The formatting functions every PDF template uses."""
    return _helpers()


def _helpers() -> dict:
    return {"money": money, "quantity": quantity, "rate": rate, "country_name": country_name}


# ---- documents ----------------------------------------------------------------------
def render_invoice(invoice, *, preview: bool) -> bytes:
    """An invoice or credit note; `preview` marks a draft (never stored)."""
    from .issuing import snapshots
    from .pricing import price_list_on, today
    from .vat import vat_treatment

    seller, customer, subject = invoice.seller, invoice.customer, invoice.subject
    mention, vat_rate = invoice.vat_mention, invoice.vat_rate
    if seller is None:  # a draft: the parties as they are now
        req = invoice.request
        seller, customer, subject = snapshots(req, price_list_on(req.node, today()))
        try:
            treatment = vat_treatment(req.node.country, req.billing_country, req.billing_vat_number)
            mention, vat_rate = treatment.mention, treatment.rate
        except ValueError:
            mention, vat_rate = None, Decimal("0")
    html = render_template(
        "invoices/pdf/invoice.html",
        invoice=invoice,
        lines=list(invoice.lines),
        preview=preview,
        seller=seller,
        customer=customer,
        subject=subject,
        vat_mention=mention,
        vat_rate=vat_rate if vat_rate is not None else Decimal("0"),
        base_url=current_app.config.get("BASE_URL", ""),
        **_helpers(),
    )
    return render_pdf(html)


def render_quote(quote, plist) -> bytes:
    """A numbered quote with its validity date."""
    node = quote.node
    seller = {
        "code": node.code,
        "name": node.name,
        "address": node.address,
        "country": node.country,
        "vat_number": node.vat_number,
        "email": node.email,
        "payment_days": plist.payment_days,
    }
    html = render_template(
        "invoices/pdf/quote.html", quote=quote, seller=seller, requester=quote.requester, **_helpers()
    )
    return render_pdf(html)
