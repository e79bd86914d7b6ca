"""Demo price lists for the nodes that offer conversion (EUR; academic, industry)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from ..extensions import db
from .models import Price, PriceList

SERVICES = ("rederivation", "conversion_step", "tat_cre", "cryopreservation", "shipping_live", "shipping_frozen")
# node -> prices in force from 2026-01-01, (academic, industry) per service in the order above
PRICES_2026 = {
    "ICS": [(1800, 3100), (2200, 3900), (650, 1100), (1500, 2600), (450, 600), (350, 450)],
    "MRC": [(1650, 2900), (1900, 3400), (600, 1000), (1400, 2500), (520, 700), (380, 500)],
    "HMGU": [(1750, 3000), (2100, 3800), (700, 1200), (1450, 2550), (480, 650), (320, 420)],
    "UNIOULU": [(1500, 2600), (1650, 2900), (550, 950), (1200, 2100), (560, 760), (390, 520)],
}
# The 2025 lists were 5 % cheaper: issued 2025 invoices keep them.
OLD_FACTOR = Decimal("0.95")

BANKS = {
    "ICS": ("Banque Exemple, Strasbourg", "FR76 0000 0000 0000 0000 0000 000", "DEMOFRPPXXX"),
    "MRC": ("Example Bank plc, Oxford", "GB00 DEMO 0000 0000 0000 00", "DEMOGB2LXXX"),
    "HMGU": ("Beispielbank München", "DE00 0000 0000 0000 0000 00", "DEMODEMMXXX"),
    "UNIOULU": ("Esimerkkipankki Oulu", "FI00 0000 0000 0000 00", "DEMOFIHHXXX"),
}


def bank_details(node) -> str:
    bank, iban, bic = BANKS[node.code]
    return f"Account holder: {node.name}\nBank: {bank} (placeholder)\nIBAN: {iban}\nBIC: {bic}"


def seed_price_lists(nodes: dict) -> None:
    for code, rows in PRICES_2026.items():
        node = nodes.get(code)
        if node is None:
            continue
        have = set(db.session.scalars(select(PriceList.valid_from).where(PriceList.node_id == node.id)))
        for valid_from, factor in ((date(2025, 1, 1), OLD_FACTOR), (date(2026, 1, 1), Decimal(1))):
            if valid_from in have:
                continue
            plist = PriceList(
                node=node, valid_from=valid_from, currency="EUR", payment_days=30, bank_details=bank_details(node)
            )
            for service, (academic, industry) in zip(SERVICES, rows):
                for tier, value in (("academic", academic), ("industry", industry)):
                    amount = (Decimal(value) * factor).quantize(Decimal("1"))
                    plist.prices.append(Price(service=service, tier=tier, amount=amount))
            db.session.add(plist)
