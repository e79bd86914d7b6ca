"""Whole journeys in a real browser: a requester asks for a conversion, the coordinator approves
and assigns it, node staff walk it to completion through the pages, the requester follows it."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import DEMO
from flows import Api, walk

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


_RUNNING: dict = {}  # one Playwright per session, also when another module imports this fixture


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} not found: run the suite with `make test` (installs chromium).")
        pytest.skip(f"{CHROMIUM} not found (apt-get install chromium)")
    if "browser" in _RUNNING:
        yield _RUNNING["browser"]
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = _RUNNING["browser"] = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        _RUNNING.pop("browser", None)
        browser.close()


@pytest.fixture
def shots(seeded):
    """shot(page, name): a full-page screenshot under test-artifacts/screenshots/<backend>-<name>.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    backend = seeded.config.get("BACKEND", "db")

    def shot(page, name: str) -> Path:
        path = SHOTS / f"{backend}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shot


PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


class User:
    """A signed-in browser context for one demo user; collects console errors (CSP violations)."""

    def __init__(self, browser, base: str, who: str, viewport=DESKTOP):
        self.base = base
        self.context = browser.new_context(viewport=viewport, locale="en-GB")
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        email, password = DEMO[who]
        self.goto("/login")
        self.page.fill("#email", email)
        self.page.fill("#password", password)
        self.page.click("button[type=submit]")
        self.expect_flash("Signed in as")

    def goto(self, path: str):
        response = self.page.goto(self.base + path)
        assert response.status == 200, (path, response.status)
        return response

    def expect_flash(self, text: str, kind: str = "") -> None:
        """Wait for the flash message of the page loaded after an action."""
        from playwright.sync_api import expect

        flash = self.page.locator(f".flash{'-' + kind if kind else ''}", has_text=text).first
        try:
            expect(flash).to_be_visible(timeout=10000)
        except AssertionError:
            raise AssertionError((text, self.page.locator(".flash").all_inner_texts(), self.page.url)) from None

    def action(self, label: str, comment: str | None = None) -> None:
        form = self.page.locator("form.action", has=self.page.get_by_role("button", name=label, exact=True))
        if not form.is_visible():  # hold, cancel, reject ... sit behind a disclosure
            self.page.locator("details.action-more", has=form).locator("summary").click()
        if comment is not None:
            form.locator("textarea").fill(comment)
        with self.page.expect_navigation():  # the result page, not the one still showing
            form.get_by_role("button", name=label, exact=True).click()
        self.expect_flash("AC-", "success")

    def save(self, section: str, button: str, rows: list[dict] | None = None, **fields) -> None:
        """Fill a lab form in its section (fields by name suffix; `rows` of the litter table) and save it."""
        box = self.page.locator(f"section#{section}")
        has_form = self.page.locator("form", has=self.page.get_by_role("button", name=button, exact=True))
        form = box.locator("form", has=self.page.get_by_role("button", name=button, exact=True))
        details = box.locator("details", has=has_form).first
        if not details.evaluate("d => d.open"):
            details.locator("summary").first.click()
        for n, row in enumerate(rows or []):
            for name, value in row.items():
                fields[f"{n}-{name}"] = value
        for name, value in fields.items():
            field = form.locator(f"[name$='-{name}']")
            tag = field.first.evaluate("e => e.tagName + ':' + (e.type || '')")
            if tag.startswith("SELECT"):
                field.select_option(value)
            elif tag.endswith(":radio"):
                form.locator(f"[name$='-{name}'][value='{value}']").check()
            else:
                field.fill(value)
        with self.page.expect_navigation():
            form.get_by_role("button", name=button, exact=True).click()
        self.expect_flash("recorded", "success")

    def mark_successful(self, mating: str, reason: str) -> None:
        """The mating row's "Mark successful" (a correction with a reason): start_qc needs one."""
        row = self.page.locator("#mating table.records tbody tr", has_text=mating)
        row.locator("details.mark-successful summary").click()
        row.locator("details.mark-successful [name='fix-reason']").fill(reason)
        with self.page.expect_navigation():
            row.get_by_role("button", name=f"Mark {mating} successful").click()
        self.expect_flash("Corrected (successful)", "success")

    def close(self) -> None:
        csp = [e for e in self.errors if "Content Security Policy" in e or "Refused to" in e]
        self.context.close()
        assert not csp, csp


@pytest.fixture
def people(browser, live_server):
    opened = []

    def open_as(who: str, viewport=DESKTOP) -> User:
        user = User(browser, live_server, who, viewport)
        opened.append(user)
        return user

    yield open_as
    for user in opened:
        user.close()


def test_request_travels_from_catalogue_to_delivery(people, shots):
    # -- the requester finds the strain, checks the plan and submits --------------------------
    rita = people("requester")
    page = rita.page
    page.fill("#q", "Cdk5rap2")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="EM:05402").click()
    assert "What this strain can become" in page.content()
    shots(page, "01-strain")
    page.get_by_role("link", name="Request a conversion").click()
    page.get_by_role("button", name="Check the plan →").click()  # nothing filled in
    assert page.locator(".field-error").count() >= 3
    assert "Choose the allele you need." in page.content()
    shots(page, "02-request-form-errors")
    page.locator("label.card-choice", has_text="tm1c").click()
    page.fill("#address", "Im Neuenheimer Feld 234\n69120 Heidelberg")
    page.select_option("#country", label="Germany")  # the country picker, by name
    page.fill("#vat_number", "DE 123456788")
    page.locator("label.choice", has_text="Academic").click()
    page.fill("#comment", "For a liver-specific knockout with Alb-cre.")
    shots(page, "03-request-form")
    page.get_by_role("button", name="Check the plan →").click()
    assert page.locator("h1").inner_text() == "Check the plan"
    assert "Cross with a Flp deleter" in page.content() and "Cdk5rap2<sup>tm1c(EUCOMM)Wtsi</sup>" in page.content()
    symbol = page.locator(".lede .allele-symbol").last  # shown as scientists write it, never broken
    assert symbol.evaluate("e => getComputedStyle(e).whiteSpace") == "nowrap"
    assert symbol.locator("sup").inner_text() == "tm1c(EUCOMM)Wtsi"
    shots(page, "04-confirm")
    page.get_by_role("button", name="Submit request").click()
    rita.expect_flash("submitted: EMMA will review it.")
    reference = page.locator("h1").inner_text().split()[0]
    request_url = page.url
    assert re.fullmatch(r"AC-\d{4}-\d{5}", reference)
    assert "not assigned to a node yet" in page.content()
    shots(page, "05-request-submitted")

    # -- the coordinator approves and assigns (the suggested node is preselected) ---------------
    cora = people("coordinator")
    cora.page.get_by_role("navigation", name="Main").get_by_role("link", name="Review").click()
    shots(cora.page, "06-review-queue")
    cora.page.get_by_role("button", name=f"Approve {reference}").click()
    cora.expect_flash(f"{reference}: Approved by EMMA.")
    row = cora.page.locator("tr", has_text=reference)
    assert row.locator("select").input_value() == "MRC"  # holds the stock, can do Flp
    shots(cora.page, "07-assign")
    row.get_by_role("button", name="Assign").click()
    cora.expect_flash(f"{reference}: Assigned to MRC.")

    # -- node staff walk it through the lab pages -------------------------------------------
    sue = people("staff_mrc")
    sue.page.get_by_role("navigation", name="Main").get_by_role("link", name="Work queue").click()
    shots(sue.page, "08-work-queue")
    sue.page.get_by_role("link", name=reference).click()
    sue.action("Accept")
    assert sue.page.get_by_role("button", name="Start rederivation").is_disabled()
    assert "Paperwork incomplete" in sue.page.content()
    sue.save("paperwork", "Save paperwork", mta_signed_on="2026-01-15", po_reference="PO-2026-118")
    sue.action("Start rederivation")
    sue.save(
        "animals",
        "Save animals",
        rows=[{"label": "F0-1", "sex": "male", "allele": "tm1a"}, {"label": "F0-2", "sex": "female", "allele": "wt"}],
    )
    sue.action("Start breeding")
    shots(sue.page, "09-breeding-forms")
    sue.save(
        "mating",
        "Save mating",
        deleter="B6.Cg-Tg(ACTFLPe)9205Dym/H",
        set_up_on="2026-03-01",
        generation="1",
        sire="F0-1",
    )
    sue.save(
        "animals",
        "Save animals",
        mating="M1",
        born_on="2026-04-20",
        rows=[
            {"label": "P1", "sex": "female", "allele": "tm1c", "transgene": "negative"},
            {"label": "P2", "sex": "male", "allele": "tm1c", "transgene": "positive"},
            {"label": "P3", "sex": "female", "allele": "wt", "transgene": "negative"},
        ],
    )
    sue.mark_successful("M1", "P1 carries tm1c, deleter-negative")
    sue.action("Start QC")
    sue.save("qc", "Save QC result", assay="tm1c PCR", result="pass", animal="P1")
    sue.action("QC passed")
    sue.save("cryo", "Save", count="20", location="Tank 3 / canister 2 / position 14", test_thaw="pass")
    sue.action("Cryopreservation complete")
    sue.save(
        "shipments",
        "Save shipment",
        courier="World Courier",
        tracking="WC-2026-0042",
        shipped_on="2026-06-01",
        quantity="4",
    )
    sue.action("Mark as shipped")
    shots(sue.page, "10-staff-request-page")

    # -- the requester confirms delivery and reads the timeline --------------------------------
    page.goto(request_url)
    rita.action("Confirm delivery")
    timeline = page.locator("ol.timeline li")
    assert timeline.count() == 11
    text = page.locator("ol.timeline").inner_text()
    for line in (
        "Request submitted",
        "Approved by EMMA",
        "Accepted by the node",
        "Quality control passed",
        "Delivery confirmed",
        "Sue Staff (MRC)",
        "Cora Coordinator",
    ):
        assert line in text, line
    assert "Estimated completion" not in page.content()
    shots(page, "11-request-completed")
    page.set_viewport_size(PHONE)
    shots(page, "12-request-completed-phone")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My requests").click()
    shots(page, "13-my-requests-phone")


def test_bulk_actions_dashboard_and_phone_layout(people, shots, seeded):
    from flows import Api, walk

    api = Api(seeded.test_client())
    ids = [api.submit("EM:05402", t)["id"] for t in ("b", "c", "d")]
    for rid in ids:
        walk(api, rid, "assigned", node="MRC")
    api.go("staff_mrc", ids[0], "accept")

    sue = people("staff_mrc", viewport=PHONE)
    sue.goto("/requests")
    shots(sue.page, "20-work-queue-phone")
    for box in sue.page.locator("input[name=ids]").all():
        box.check()
    sue.page.select_option("#bulk-trigger", "accept")
    assert sue.page.locator("#bulk-reason").is_hidden()  # only the fields an action needs
    sue.page.get_by_role("button", name="Apply to selected").click()
    sue.expect_flash("Nothing was changed", "error")
    assert "1 of the 3" in " ".join(sue.page.locator(".flash").all_inner_texts())
    shots(sue.page, "21-bulk-refused-phone")
    sue.page.locator("#select-all").check()
    sue.page.locator(f"#pick-{ids[0]}").uncheck()
    sue.page.select_option("#bulk-trigger", "accept")
    sue.page.get_by_role("button", name="Apply to selected").click()
    sue.expect_flash("Accept: done for 2 requests")

    cora = people("coordinator")
    cora.page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    assert cora.page.locator("table.counts").is_visible()
    assert cora.page.locator(".charts img").count() == 2
    cora.page.wait_for_function(  # the SVG charts load (served by the app, allowed by the CSP)
        "() => [...document.querySelectorAll('.charts img')].every(i => i.complete && i.naturalWidth > 0)",
        timeout=10000,
    )
    shots(cora.page, "22-dashboard")
    cora.page.set_viewport_size(PHONE)
    shots(cora.page, "23-dashboard-phone")
    cora.goto(f"/requests/{ids[1]}")
    shots(cora.page, "24-request-coordinator-phone")


# ---- the node staff's lab workspace: a litter as a table, a correction, a void --------------
def test_litter_table_correction_and_void(people, seeded, shots):
    api = Api(seeded.test_client())
    rid = api.submit("EM:05402", "c")["id"]
    walk(api, rid, "breeding", node="MRC")  # founder F0-1 (male, tm1a)

    sue = people("staff_mrc")
    page = sue.page
    sue.goto(f"/requests/{rid}")
    # the disabled action says why and links to the form that fixes it
    assert page.get_by_role("button", name="Start QC").is_disabled()
    link = page.locator("#why-start_qc a.fix-link")
    assert link.get_attribute("href") == "#animals"

    sue.save(
        "mating",
        "Save mating",
        deleter="B6.Cg-Tg(ACTFLPe)9205Dym/H",
        set_up_on="2026-03-01",
        generation="1",
        sire="F0-1",
    )
    assert page.locator("#mating table.records td strong", has_text="M1").is_visible()

    # a litter of M1 as a table, one row per pup (P2 typed wrong: it carries tm1c)
    sue.save(
        "animals",
        "Save animals",
        mating="M1",
        born_on="2026-04-20",
        rows=[
            {"label": "P1", "sex": "female", "allele": "wt", "transgene": "negative"},
            {"label": "P2", "sex": "male", "allele": "wt", "transgene": "negative"},
            {"label": "P3", "sex": "female", "allele": "tm1c", "transgene": "positive"},
        ],
    )
    sue.expect_flash("Litter of M1: 3 pups recorded")
    rows = page.locator("#animals table.records tbody tr")
    assert rows.count() == 4
    p2 = page.locator("#animals table.records tbody tr", has_text="P2")
    assert "M1" in p2.inner_text()

    # a correction: the new value, and the old one with who and why
    p2.locator("details.row-action summary", has_text="Correct").click()
    form = p2.locator("form.correct-form")
    form.locator("[name='set-allele']").fill("tm1c")
    form.locator("[name='fix-reason']").fill("PCR re-run: P2 carries tm1c")
    with page.expect_navigation():
        form.get_by_role("button", name="Save correction").click()
    sue.expect_flash("Corrected (allele)", "success")
    p2 = page.locator("#animals table.records tbody tr", has_text="P2")
    assert p2.locator("td.allele").inner_text() == "tm1c"
    p2.locator("details.corrections summary").click()
    history = p2.locator("details.corrections").inner_text()
    assert "PCR re-run: P2 carries tm1c" in history and "staff.mrc@emma.example" in history
    assert p2.locator("details.corrections del").inner_text() == "wt"

    # a void: the record stays, struck through, with its reason
    p1 = page.locator("#animals table.records tbody tr", has_text="P1")
    p1.locator("details.row-action summary", has_text="Void").click()
    p1.locator("[name='void-reason']").fill("Ear tag read twice: P1 does not exist")
    with page.expect_navigation():
        p1.get_by_role("button", name="Void record").click()
    sue.expect_flash("Record voided", "success")
    p1 = page.locator("#animals table.records tbody tr", has_text="P1")
    assert "voided" in p1.get_attribute("class")
    assert "Ear tag read twice" in p1.inner_text()
    assert p1.evaluate("r => getComputedStyle(r.cells[0]).textDecorationLine") == "line-through"
    shots(page, "lab-workspace-correction-void")

    # P2 now carries tm1c, deleter-negative. M1 judged unsuccessful (its row's Correct form): Start
    # QC waits for a mating marked successful, and the reason links to M1's row ("Mark successful")
    m1 = page.locator("#mating table.records tbody tr", has_text="M1")
    row_id = m1.get_attribute("id")  # matings-<id>
    m1.locator("details.row-action > summary", has_text=re.compile(r"^\s*Correct\s*$")).click()
    page.locator(f"#set-{row_id}-successful").fill("no")
    page.locator(f"#fix-{row_id}-reason").fill("No carriers genotyped yet")
    with page.expect_navigation():
        m1.locator(f"form[action$='/{row_id.replace('-', '/')}/correct']").get_by_role(
            "button", name="Save correction"
        ).click()
    sue.expect_flash("Corrected (successful)", "success")
    assert page.get_by_role("button", name="Start QC").is_disabled()
    assert "Every mating of step 1 is marked unsuccessful" in page.locator("#why-start_qc").inner_text()
    href = page.locator("#why-start_qc a.fix-link").get_attribute("href")
    assert href.startswith("#matings-") and page.locator(href).inner_text().startswith("M1")
    sue.mark_successful("M1", "P2 carries tm1c, deleter-negative")
    m1 = page.locator("#mating table.records tbody tr", has_text="M1")
    assert m1.locator("td").nth(7).inner_text().startswith("yes") and "Corrected 2×" in m1.inner_text()
    # its litter is a record of its own, corrected in place
    litter = m1.locator(".sub-record")
    litter.locator("details.row-action summary", has_text="Correct litter").click()
    litter.locator("[name='set-pups_weaned']").fill("3")
    litter.locator("[name='fix-reason']").fill("weaned at day 21")
    with page.expect_navigation():
        litter.get_by_role("button", name="Save correction").click()
    sue.expect_flash("Corrected (pups_weaned)", "success")
    litter = page.locator("#mating table.records tbody tr", has_text="M1").locator(".sub-record")
    assert litter.locator(".what").inner_text().endswith("3 / 3") and "Corrected 1×" in litter.inner_text()

    # QC picks the tested animal from the recorded ones, voided ones left out
    sue.action("Start QC")
    options = page.locator("section#qc select[name='qc-animal'] option").all_inner_texts()
    assert any(o.startswith("P2") for o in options) and not any(o.startswith("P1") for o in options)
    assert "lacZ lost" in page.locator("section#qc table.expected").inner_text()


# ---- issue 16: a quote from the strain page, the country picker and the plan's estimate, staff
# confirming an invoice before it is issued (unsaved edits stop it), and an upload ----------------
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_quote_and_country_picker_and_the_plans_estimate(people, shots):
    from playwright.sync_api import expect

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
        page.evaluate(
            "url => { const a = document.createElement('a'); a.href = url; a.download = 'q.pdf'; "
            "document.body.appendChild(a); a.click(); }",
            page.get_by_role("link", name="Download the quote (PDF)").get_attribute("href"),
        )
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
    from playwright.sync_api import expect

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
    from playwright.sync_api import expect

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
