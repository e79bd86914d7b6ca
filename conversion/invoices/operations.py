"""Invoice operations, the package's one entry point for views and the API.

The work is split by concern: pricing.py (price lists, priced lines, money parsing),
issuing.py (visibility, drafting, gapless numbering, issuing, credit notes, balances),
quotes.py (estimates and numbered quotes), vat.py (VAT treatment and dated rates).
Certificates and the documents of a request are conversion/documents."""

from __future__ import annotations

from .issuing import (  # noqa: F401
    NOT_YET_BILLABLE,
    PanelInvoice,
    accepted_at,
    balance,
    balances,
    billable,
    billing_problems,
    can_draft,
    create_invoice,
    credit_note,
    credit_notes_of,
    credited_total,
    credited_totals,
    delete_draft,
    get_invoice,
    invoice_in_force,
    invoice_pdf,
    invoices_of,
    issue_invoice,
    issue_preview,
    lines_fingerprint,
    list_invoices,
    panel_invoices_of,
    request_invoices,
    snapshots,
    unsaved_edits,
    update_draft,
    visible_invoices,
)
from .pricing import (  # noqa: F401
    MAX_LINES,
    ZERO,
    accepted_on,
    clean_lines,
    drafted_lines,
    parse_amount,
    price_list_on,
    price_lists,
    save_price_list,
    tat_cre_used,
    today,
)
from .quotes import create_quote, estimate, get_quote, quote_pdf, quotes_of  # noqa: F401
