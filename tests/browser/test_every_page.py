"""Every page, for each role, in a real browser at 1280 px and at 390 px (a phone):

- axe-core (axe-playwright-python) finds no serious or critical accessibility violation (1280 px;
  on the phone, tables that scroll are made keyboard-reachable by static/app.js);
- no identifier (request reference, EMMA id, allele symbol, date) breaks across lines at 1280 px;
- nothing scrolls sideways at 390 px;
- no console error and no Content-Security-Policy violation;
- a screenshot of each page at both widths under test-artifacts/screenshots/pages/."""

from __future__ import annotations

import re

import pytest
from test_journeys import CHROMIUM, DESKTOP, PHONE, SHOTS, User, browser  # noqa: F401  (fixture)

PAGES = SHOTS / "pages"

# Identifiers found in the text of a page, wherever they are (not only where a class says so).
ID_PATTERNS = (
    r"[A-Z]+-\d{4}-\d{4}\b|AC-\d{4}-\d{5}|EM:\d{5}|\d{1,2} [A-Z][a-z]{2} \d{4}|\d{4}-\d{2}-\d{2}|[\w().-]+<[^<>\s]+>"
)

WRAPPED_JS = """(patterns) => {
  const re = new RegExp(patterns, 'g');
  const out = [];
  const tall = (rect, el) => rect.height > parseFloat(getComputedStyle(el).fontSize) * 2.1;
  const visible = (el) => el && el.checkVisibility({visibilityProperty: true});  // not in a closed <details>
  const walker = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!visible(el) || el.closest('option, textarea, script, .visually-hidden')) continue;
    for (const m of node.data.matchAll(re)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      if (tall(range.getBoundingClientRect(), el)) out.push(m[0]);
    }
  }
  for (const el of document.querySelectorAll('main .id, main .allele, main .date, main time')) {
    if (!visible(el)) continue;
    const range = document.createRange();
    range.selectNodeContents(el);
    if (tall(range.getBoundingClientRect(), el)) out.push(el.textContent.trim());
  }
  return [...new Set(out)];
}"""

SIDEWAYS_JS = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return null;
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.right > width + 1 && r.width > 0) {
      let clipped = false;
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(p).overflowX)) { clipped = true; break; }
      }
      if (!clipped) wide.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' ' + Math.round(r.right));
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, wide: wide.slice(0, 8)};
}"""


@pytest.fixture
def world(seeded):
    """Requests in the states the pages show (each on its own strain), an invoice, a cancelled one."""
    from flows import Api, walk
    from invoice_helpers import invoice

    api = Api(seeded.test_client())
    ids = {
        "submitted": api.submit("EM:05402", "c")["id"],
        "approved": api.submit("EM:05519", "c")["id"],
        "assigned": api.submit("EM:05894", "b")["id"],
        "breeding": api.submit("EM:05608", "d")["id"],
        "completed": api.submit("EM:06377", "b")["id"],
        "cancelled": api.submit("EM:09876", "b")["id"],
    }
    walk(api, ids["approved"], "approved", node="MRC")
    walk(api, ids["assigned"], "assigned", node="MRC")
    walk(api, ids["breeding"], "breeding", node="MRC")
    walk(api, ids["completed"], "completed", node="MRC")
    api.go("coordinator", ids["cancelled"], "cancel", reason="no_longer_required")
    ids["invoice"] = invoice(api, ids["completed"], who="staff_mrc")["id"]
    return ids


def pages_for(role: str, ids: dict) -> list[str]:
    common = ["/", "/strains", "/strains?q=zzzz-nothing", "/strains/EM:05402", "/workflow"]
    if role == "anonymous":
        return common + ["/login", "/register", "/reset-password"]
    mine = ["/account", "/settings/notifications", "/invoices", f"/invoices/{ids['invoice']}"]
    req = [f"/requests/{ids[s]}" for s in ("breeding", "completed")]
    if role == "requester":
        return (
            common
            + mine
            + req
            + [
                "/requests",
                "/strains/EM:05402/request",
                f"/requests/{ids['submitted']}",
                f"/requests/{ids['cancelled']}",
            ]
        )
    office = ["/dashboard", "/prices", "/requests", f"/invoices/request/{ids['completed']}"]
    if role == "staff_mrc":
        return common + mine + req + office + [f"/requests/{ids['assigned']}"]
    return (
        common
        + mine
        + req
        + office
        + [
            "/review",
            f"/requests/{ids['submitted']}",
            f"/requests/{ids['approved']}",
            "/admin/users",
            "/admin/accounts",
            "/admin/security-events",
            "/requests?status=breeding",
        ]
    )


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"


def _axe_problems(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:4]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("role", ["anonymous", "requester", "staff_mrc", "coordinator"])
def test_every_page_is_accessible_whole_and_fits_a_phone(browser, live_server, seeded, world, role):  # noqa: F811
    backend = seeded.config.get("BACKEND", "db")
    if backend != "sqlite":
        pytest.skip("what a page looks like does not depend on the database: checked on SQLite")
    PAGES.mkdir(parents=True, exist_ok=True)
    if role == "anonymous":
        context = browser.new_context(viewport=DESKTOP, locale="en-GB")
        page = context.new_page()
    else:
        user = User(browser, live_server, role, DESKTOP)
        context, page = user.context, user.page
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"script error: {e}"))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    problems: list[str] = []
    try:
        for path in pages_for(role, world):
            errors.clear()
            page.set_viewport_size(DESKTOP)
            response = page.goto(live_server + path)
            if response.status != 200:
                problems.append(f"{path}: HTTP {response.status}")
                continue
            page.wait_for_load_state("load")
            page.screenshot(path=str(PAGES / f"{backend}-{role}-{_slug(path)}-1280.png"), full_page=True)
            problems += [f"{path} @1280: {p}" for p in _axe_problems(page)]
            bar = page.evaluate("() => document.querySelector('.topbar').getBoundingClientRect().height")
            if bar > 64:
                problems.append(f"{path} @1280: the top bar takes more than one line ({bar:.0f} px)")
            wrapped = page.evaluate(WRAPPED_JS, ID_PATTERNS)
            if wrapped:
                problems.append(f"{path} @1280: identifiers break across lines: {wrapped}")
            page.set_viewport_size(PHONE)
            page.wait_for_timeout(50)
            page.screenshot(path=str(PAGES / f"{backend}-{role}-{_slug(path)}-390.png"), full_page=True)
            sideways = page.evaluate(SIDEWAYS_JS)
            if sideways:
                problems.append(f"{path} @390: scrolls sideways: {sideways}")
            problems += [f"{path}: {e}" for e in errors]
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def _luminance(rgb: str) -> float:
    channels = [int(v) / 255 for v in re.findall(r"\d+", rgb)[:3]]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_focus_rings_contrast_and_the_assign_choice_shows_whole(browser, live_server, seeded, world):  # noqa: F811
    if seeded.config.get("BACKEND") != "sqlite":
        pytest.skip("checked on SQLite")
    cora = User(browser, live_server, "coordinator", DESKTOP)
    page = cora.page
    cora.goto(f"/requests/{world['approved']}")
    for _ in range(6):  # skip link, brand, then the top-bar links
        page.keyboard.press("Tab")
        ring = page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e);
            let bg = 'rgb(255, 255, 255)';
            for (let p = e.parentElement; p; p = p.parentElement) {
              const c = getComputedStyle(p).backgroundColor;
              if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') { bg = c; break; } }
            return {tag: e.tagName, style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor, bg}; }""")
        assert ring["style"] != "none" and ring["width"] >= 2, ring
        assert _contrast(ring["color"], ring["bg"]) >= 3, ring
    fits = page.evaluate("""() => { const sel = document.querySelector('#action-assign select');
        const s = getComputedStyle(sel), ctx = document.createElement('canvas').getContext('2d');
        ctx.font = s.font;
        const text = sel.options[sel.selectedIndex].text;
        return {text, need: ctx.measureText(text).width + 36, have: sel.clientWidth}; }""")
    assert "suggested" in fits["text"] and fits["need"] <= fits["have"], fits
    page.set_viewport_size(PHONE)
    fits = page.evaluate("""() => { const sel = document.querySelector('#action-assign select');
        const ctx = document.createElement('canvas').getContext('2d'); ctx.font = getComputedStyle(sel).font;
        const text = sel.options[sel.selectedIndex].text;
        return {text, need: ctx.measureText(text).width + 36, have: sel.clientWidth}; }""")
    assert fits["need"] <= fits["have"], fits


def test_favicon_and_no_inline_style_blocked_on_the_workflow_diagram(browser, live_server, seeded):  # noqa: F811
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if m.type == "error" else None)
    page.goto(live_server + "/workflow")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(live_server + icon).status == 200
    box = page.locator("figure.diagram svg").bounding_box()
    assert box["width"] <= PHONE["width"] and box["height"] > box["width"]  # drawn top to bottom
    assert page.locator("figure.diagram svg text", has_text="Assigned to a node").count() == 1
    assert page.locator("figure.diagram svg text", has_text="on_hold").count() == 0
    context.close()
    assert not violations, violations


def test_bulk_panel_appears_when_something_is_selected(browser, live_server, seeded, world):  # noqa: F811
    if seeded.config.get("BACKEND") != "sqlite":
        pytest.skip("checked on SQLite")
    sue = User(browser, live_server, "staff_mrc", DESKTOP)
    page = sue.page
    sue.goto("/requests")
    assert page.locator("#bulk-body").is_hidden()
    assert page.locator("#bulk-legend").inner_text() == "Select requests to act on several at once"
    page.locator("input[name=ids]").first.check()
    assert page.locator("#bulk-body").is_visible()
    assert page.locator("#bulk-legend").inner_text() == "With the 1 selected request"
    page.locator("input[name=ids]").first.uncheck()
    assert page.locator("#bulk-body").is_hidden()
    sue.close()
