"""In a real browser: a quote from the strain page, the country picker and the plan's estimate,
staff confirming an invoice before it is issued (unsaved edits stop it), and an upload."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from test_journeys import DESKTOP, User, browser, people, shots  # noqa: F401  (fixtures)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_quote_and_country_picker_and_the_plans_estimate(people, shots):
    rita = people("requester")
    page = rita.page
    rita.goto("/strains/EM:05402")
    page.get_by_role("link", name="Get a quote").click()
    page.locator("#q-target").select_option("c")
    page.locator("#q-country").select_option(label="Luxembourg")
    page.locator("#q-node").select_option("ICS")
    page.get_by_role("button", name="Get the quote").click()
    rita.expect_flash("Quote Q-", "success")
    assert "Luxembourg" in page.content()
    expect(page.locator(".quote-total")).to_have_text("EUR 7020.00")
    shots(page, "quote")
    with page.expect_download() as download:  # the PDF link works (inline PDFs download headless)
        page.evaluate("url => { const a = document.createElement('a'); a.href = url; a.download = 'q.pdf'; "
                      "document.body.appendChild(a); a.click(); }",
                      page.get_by_role("link", name="Download the quote (PDF)").get_attribute("href"))
    assert open(download.value.path(), "rb").read(5) == b"%PDF-"

    page.get_by_role("link", name="Request this conversion").click()
    assert page.locator("label.card-choice", has_text="tm1c").locator("input").is_checked()
    page.fill("#organisation", "Université du Luxembourg")
    page.fill("#address", "2 avenue de l'Université\n4365 Esch-sur-Alzette")
    country = page.locator("#country")
    country.select_option(label="Germany")
    assert country.input_value() == "DE"
    page.fill("#vat_number", "DE123456788")
    page.locator("label.choice", has_text="Academic").click()
    page.get_by_role("button", name="Check the plan →").click()
    assert page.locator("h1").inner_text() == "Check the plan"
    estimate = page.locator("section.estimate")
    expect(estimate).to_contain_text("Germany")
    expect(estimate.locator(".quote-total")).to_have_text("EUR 5330.00")  # MRC, export to Germany
    shots(page, "plan-estimate")
    page.get_by_role("button", name="Submit request").click()
    rita.expect_flash("submitted: EMMA will review it.")
    expect(page.locator("section.documents")).to_contain_text("Quote Q-")


def test_staff_confirm_before_issue_and_unsaved_edits_stop_it(people, live_server, seeded, shots):
    from flows import Api, walk
    from invoice_helpers import BILLING_FR

    api = Api(seeded.test_client())
    rid = api.submit("EM:05402", "c", billing=BILLING_FR)["id"]
    walk(api, rid, "accepted", node="ICS")
    sam = people("staff_ics")
    page = sam.page
    sam.goto(f"/requests/{rid}")
    page.get_by_role("button", name="Draft an invoice").click()
    sam.expect_flash("Draft invoice prepared", "success")
    page.get_by_label("Description 5").fill("Extra health screening")  # typed, not saved
    page.get_by_label("Unit price 5").fill("250.00")
    page.get_by_role("button", name="Issue invoice…").click()
    sam.expect_flash("unsaved changes", "error")
    expect(page.get_by_label("Description 5")).to_have_value("Extra health screening")  # nothing lost
    shots(page, "issue-refused-unsaved")
    page.get_by_role("button", name="Save lines").click()
    sam.expect_flash("Draft lines saved.", "success")
    page.get_by_role("button", name="Issue invoice…").click()
    assert page.locator("h1").inner_text() == "Issue this invoice?"
    expect(page.locator("table.confirm-lines")).to_contain_text("Extra health screening")
    expect(page.locator(".confirm-total")).to_contain_text("EUR 7320.00")  # (5850 + 250) x 1.2
    shots(page, "issue-confirm")
    page.get_by_role("button", name="Confirm: issue invoice").click()
    sam.expect_flash("issued.", "success")
    number = re.search(r"ICS-\d{4}-\d{4}", page.locator(".flash-success").inner_text()).group(0)
    expect(page.locator(".balance")).to_contain_text("EUR 7320.00")
    # the credit-note form opens on demand
    expect(page.locator("#reason")).to_be_hidden()
    page.get_by_text("Issue a credit note…").click()
    expect(page.locator("#reason")).to_be_visible()
    assert number


def test_requester_uploads_a_signed_mta(people, live_server, seeded, tmp_path, shots):
    from flows import Api

    api = Api(seeded.test_client())
    rid = api.submit("EM:05402", "c")["id"]
    rita = people("requester")
    page = rita.page
    rita.goto(f"/requests/{rid}")
    mta = tmp_path / "MTA signed.pdf"
    mta.write_bytes(PDF)
    page.locator("#doc-kind").select_option(label="Signed Material Transfer Agreement")
    page.locator("#doc-file").set_input_files(str(mta))
    page.get_by_role("button", name="Upload").click()
    rita.expect_flash("uploaded: MTA signed.pdf", "success")
    row = page.locator("table.documents-list tr", has_text="MTA signed.pdf")
    expect(row).to_contain_text("Signed Material Transfer Agreement")
    shots(page, "upload")
    fake = tmp_path / "notes.pdf"
    fake.write_bytes(b"not really a pdf")
    page.locator("#doc-file").set_input_files(str(fake))
    page.get_by_role("button", name="Upload").click()
    rita.expect_flash("judged by their content", "error")
    assert api.get("requester", f"/requests/{rid}/documents").get_json()["items"][0]["name"] == "MTA signed.pdf"
