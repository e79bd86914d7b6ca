"""Invoice PDF: the app's rendering (template + WeasyPrint with its cached stylesheet and fonts)
against WeasyPrint rendering the same HTML directly, per page. Database in DATABASE_URL.

    python bench/pdfbench.py        # prints JSON
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RUNS = 7


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    from sqlalchemy import func, select
    from weasyprint import CSS, HTML

    from conversion import create_app
    from conversion.extensions import db
    from conversion.invoices import pdf as P
    from conversion.invoices.models import Invoice, InvoiceLine

    app = create_app({"SESSION_COOKIE_SECURE": False})
    with app.app_context(), app.test_request_context():
        most_lines = (
            select(InvoiceLine.invoice_id)
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .where(Invoice.status == "issued")
            .group_by(InvoiceLine.invoice_id)
            .order_by(func.count().desc(), InvoiceLine.invoice_id)
            .limit(1)
        )
        invoice = db.session.get(Invoice, db.session.scalar(most_lines))
        if invoice is None:
            print(json.dumps({"error": "no issued invoice in the database"}))
            return
        captured = {}
        real = P.render_pdf

        def capture(html: str) -> bytes:
            captured["html"] = html
            return real(html)

        P.render_pdf = capture
        P.render_invoice(invoice, preview=False)  # warm-up: parses the stylesheet, loads fonts
        P.render_pdf = real
        html = captured["html"]
        app_times = [timed(lambda: P.render_invoice(invoice, preview=False)) for _ in range(RUNS)]

        css_text = (
            (P.TEMPLATE_DIR / "document.css").read_text(encoding="utf-8").replace("FONT_DIR", P.FONT_DIRS[0].as_uri())
        )
        base = P.TEMPLATE_DIR.as_uri() + "/"

        def direct() -> bytes:
            return HTML(string=html, base_url=base).write_pdf(stylesheets=[CSS(string=css_text, base_url=base)])

        direct()
        direct_times = [timed(direct) for _ in range(RUNS)]
        pages = len(HTML(string=html, base_url=base).render(stylesheets=[CSS(string=css_text, base_url=base)]).pages)
        app_ms = statistics.median(app_times) * 1000
        direct_ms = statistics.median(direct_times) * 1000
        print(
            json.dumps(
                {
                    "invoice": invoice.number,
                    "lines": len(invoice.lines),
                    "pages": pages,
                    "app_ms": round(app_ms, 1),
                    "direct_ms": round(direct_ms, 1),
                    "app_ms_per_page": round(app_ms / pages, 1),
                    "direct_ms_per_page": round(direct_ms / pages, 1),
                    "ratio": round(app_ms / direct_ms, 2),
                    "runs": RUNS,
                }
            )
        )


if __name__ == "__main__":
    main()
