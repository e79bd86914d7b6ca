"""Invoice PDFs: only local resources, embedded fonts, page numbers; parallel numbering (PostgreSQL)."""

from __future__ import annotations

import re
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest
from conftest import api_token
from flows import Api
from invoice_helpers import BILLING_FR, YEAR, accepted, invoice, pdf_of, pdf_text


@pytest.fixture
def api(seeded, client):
    return Api(client)


def test_url_fetcher_refuses_anything_but_the_apps_own_files(tmp_path):
    from conversion.invoices.pdf import FONT_DIRS, TEMPLATE_DIR, LocalOnlyFetcher

    fetcher = LocalOnlyFetcher()
    font = fetcher.fetch((FONT_DIRS[0] / "DejaVuSans.ttf").as_uri())
    assert font.read()[:4] == b"\x00\x01\x00\x00"
    assert fetcher.fetch((TEMPLATE_DIR / "document.css").as_uri()).read().startswith(b"/*")
    secret = tmp_path / "secret.txt"
    secret.write_text("no")
    for url in (
        "http://example.org/logo.png",
        "https://example.org/x.css",
        "ftp://example.org/f",
        secret.as_uri(),
        "file:///etc/passwd",
        (FONT_DIRS[0] / ".." / ".." / "..").as_uri(),
        (TEMPLATE_DIR / ".." / ".." / ".." / "config.py").as_uri(),
        "data:text/plain,hello",
    ):
        with pytest.raises(ValueError, match="refused"):
            fetcher.fetch(url)


def test_external_resources_in_html_are_not_loaded(app, monkeypatch):
    from conversion.invoices import pdf

    asked = []
    original = pdf.LocalOnlyFetcher.fetch

    def spy(self, url, headers=None):
        asked.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(pdf.LocalOnlyFetcher, "fetch", spy)
    data = pdf.render_pdf(
        '<p>x</p><img src="http://127.0.0.1:9/tracker.png"><link rel="stylesheet" href="file:///etc/passwd">'
    )
    assert data.startswith(b"%PDF-")
    assert "http://127.0.0.1:9/tracker.png" in asked  # asked, and refused by the fetcher


def test_fonts_are_embedded_and_stylesheet_is_reused(app, api):
    from conversion.invoices import pdf

    inv = invoice(api, accepted(api, BILLING_FR))
    data = pdf_of(api, inv)
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        fonts = subprocess.run(["pdffonts", f.name], check=True, capture_output=True, text=True).stdout
    rows = [line for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all("Emma-" in row for row in rows), fonts
    assert all(re.search(r"\byes\s+yes\s+yes\b", row) for row in rows), fonts  # embedded, subset, unicode
    css = pdf._resources()[2]
    invoice(api, accepted(api, BILLING_FR))
    assert pdf._resources()[2] is css


def test_long_invoice_numbers_its_pages(api):
    rid = accepted(api, BILLING_FR)
    lines = [
        {"description": f"Genotyping of pup G3-{i} (tm1c PCR, Flp PCR)", "quantity": 1, "unit_price": "25.00"}
        for i in range(1, 46)
    ]
    inv = invoice(api, rid, body={"lines": lines})
    assert inv["net"] == "1125.00" and inv["total"] == "1350.00"
    text = pdf_text(pdf_of(api, inv))
    pages = re.findall(r"Page (\d+) of (\d+)", text)
    total = int(pages[0][1])
    assert total >= 2 and pages == [(str(n), str(total)) for n in range(1, total + 1)]
    assert text.count(f"ICS-{YEAR}-0001") >= 3  # header and the footer of each page


def test_parallel_issuing_gives_gapless_unique_numbers(app, api):
    if app.config["BACKEND"] != "postgresql":
        pytest.skip("row locks (SELECT ... FOR UPDATE) are a PostgreSQL matter; SQLite serialises writers")
    requests = [accepted(api, BILLING_FR) for _ in range(2)]
    workers = 16
    clients = [app.test_client() for _ in range(workers)]
    tokens = [api_token(c, "staff_ics") for c in clients]
    from conversion.extensions import db

    db.session.commit()
    db.session.remove()
    barrier = threading.Barrier(workers)
    results, errors = [], []

    def work(i):
        try:
            barrier.wait(timeout=30)
            res = clients[i].post(
                f"/api/v1/requests/{requests[i % 2]}/invoices",
                headers={"Authorization": f"Bearer {tokens[i]}"},
                json={
                    "lines": [{"description": f"Worker {i}", "quantity": 1, "unit_price": "100.00"}],
                    "additional": True,
                },
            )
            results.append((res.status_code, res.get_json()))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert [status for status, _ in results] == [201] * workers, results
    numbers = sorted(body["number"] for _, body in results)
    assert numbers == [f"ICS-{YEAR}-{n:04d}" for n in range(1, workers + 1)]
    # each stored PDF carries its own number
    for _, body in results[:3]:
        assert body["number"] in pdf_text(api.get("coordinator", body["pdf_url"].removeprefix("/api/v1")).data)
    from conversion.invoices.models import InvoiceCounter

    counter = db.session.scalar(db.select(InvoiceCounter))
    assert counter.last_number == workers


def test_pdf_resources_paths_exist():
    from conversion.invoices.pdf import FONT_DIRS, TEMPLATE_DIR

    assert (TEMPLATE_DIR / "document.css").is_file() and (TEMPLATE_DIR / "invoice.html").is_file()
    assert all(Path(d, "DejaVuSans.ttf").is_file() for d in FONT_DIRS)
