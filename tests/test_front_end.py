"""What people see on the pages: role home pages, the plan panel, messages in people's words,
the catalogue's filters, one date format, empty charts that say so (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from flows import Api, walk
from webflows import Web, flashes

from workflows.lifecycle import STATE_LABELS


@pytest.fixture
def api(seeded):
    return Api(seeded.test_client())


def _stages(html: str) -> list[tuple[str, str]]:
    """(title, mark) of each stage of the plan panel."""
    items = re.findall(r'<li class="step step-(\w+)"[^>]*>\s*<strong>([^<]+)</strong>', html)
    return [(title.strip(), mark) for mark, title in items]


def test_plan_panel_shows_every_stage_and_marks_the_current_one(seeded, api):
    rita = Web(seeded, "requester")
    rid = api.submit("EM:05402", "d")["id"]  # two steps: Flp then Cre
    stages = _stages(rita.text(f"/requests/{rid}"))
    assert [t for t, _ in stages] == [
        "Review by EMMA",
        "Assignment to a node",
        "Paperwork",
        "Rederivation",
        "Step 1: Flp deleter cross",
        "Step 1: quality control",
        "Step 2: Cre deleter cross",
        "Step 2: quality control",
        "Cryopreservation",
        "Shipping",
        "Delivery",
    ]
    assert stages[0] == ("Review by EMMA", "current") and all(m == "todo" for _, m in stages[1:])
    walk(api, rid, "rederivation", node="MRC")
    stages = dict(_stages(rita.text(f"/requests/{rid}")))
    assert stages["Paperwork"] == "done" and stages["Rederivation"] == "current"
    assert stages["Step 1: Flp deleter cross"] == "todo"
    walk(api, rid, "cryopreservation", node="MRC")
    stages = dict(_stages(rita.text(f"/requests/{rid}")))
    assert stages["Step 2: quality control"] == "done" and stages["Cryopreservation"] == "current"
    api.go("staff_mrc", rid, "hold", comment="Tank maintenance")
    stages = dict(_stages(rita.text(f"/requests/{rid}")))
    assert stages["Cryopreservation"] == "held"


def test_plan_panel_marks_where_a_cancelled_request_stopped(seeded, api):
    rid = api.submit("EM:05519", "c")["id"]
    walk(api, rid, "assigned", node="MRC")
    api.go("coordinator", rid, "cancel", reason="charges_too_high")
    stages = dict(_stages(Web(seeded, "requester").text(f"/requests/{rid}")))
    assert stages["Review by EMMA"] == "done" and stages["Assignment to a node"] == "stopped"
    assert stages["Delivery"] == "todo"


def test_home_pages_start_with_what_waits_for_each_role(seeded, api):
    waiting = api.submit("EM:05402", "c")["id"]
    approved = api.submit("EM:05519", "c")["id"]
    walk(api, approved, "approved")
    assigned = api.submit("EM:05894", "b")["id"]
    walk(api, assigned, "assigned", node="MRC")

    cora = Web(seeded, "coordinator").text("/")
    tiles = {
        label: int(n)
        for n, label in re.findall(r'<span class="tile-n">(\d+)</span><span class="tile-l">([^<]+)</span>', cora)
    }
    assert tiles["to review"] == 1 and tiles["to assign to a node"] == 1 and tiles["overdue"] == 0
    main = cora[cora.index("<main") :]
    assert main.index("to review") < main.index("Users and roles")  # what waits before administration

    sue = Web(seeded, "staff_mrc").text("/")
    assert "MRC Harwell" in sue and re.search(r'tile-n">1</span><span class="tile-l">to accept or decline', sue)
    assert "Nothing is overdue." in sue

    rita = Web(seeded, "requester").text("/")
    for rid, waits in (
        (waiting, "Waiting for EMMA&#39;s review"),
        (assigned, "Waiting for the node to accept the request"),
    ):
        ref = api.get("requester", f"/requests/{rid}").get_json()["reference"]
        block = rita[rita.index(ref) :]
        assert waits in block[:600], (ref, waits)


def test_confirmation_names_the_node_and_actions_come_primary_first(seeded, api):
    rid = api.submit("EM:05402", "c")["id"]
    walk(api, rid, "approved")
    cora = Web(seeded, "coordinator")
    res = cora.fire(rid, "assign", node="MRC")
    page = cora.text(res.headers["Location"])
    ref = api.get("coordinator", f"/requests/{rid}").get_json()["reference"]
    assert f"{ref}: Assigned to MRC." in flashes(page)
    html = Web(seeded, "staff_mrc").text(f"/requests/{rid}")
    assert html.index('id="action-accept"') < html.index('id="action-decline"')  # accept first, decline after


def test_refusals_speak_with_the_field_label_next_to_the_field(seeded, api):
    rid = api.submit("EM:05402", "c")["id"]
    walk(api, rid, "accepted", node="MRC")
    sue = Web(seeded, "staff_mrc")
    future = (date.today() + timedelta(days=3)).isoformat()
    res = sue.record(rid, "paperwork", mta_signed_on=future)
    html = res.get_data(as_text=True)
    assert res.status_code == 422
    assert "mta_signed_on" not in " ".join(flashes(html))
    assert "MTA signed on cannot be in the future." in flashes(html)
    field = re.search(r'<div class="field has-error">.*?</div>', html, re.S).group(0)
    assert "MTA signed on" in field and "cannot be in the future" in field
    other = api.submit("EM:05519", "c")["id"]
    res = Web(seeded, "coordinator").fire(other, "reject", comment="")
    html = res.get_data(as_text=True)
    assert res.status_code in (400, 422)
    assert flashes(html) == ["A comment is required to “Reject” a request: say why."]
    form = html[html.index('id="action-reject"') :]
    assert form.index('class="field-error"') < form.index("</form>")  # next to the comment box


def test_catalogue_counts_filters_and_says_what_next(seeded):
    client = seeded.test_client()
    page = client.get("/strains").get_data(as_text=True)
    total = int(re.search(r'class="summary"[^>]*>(\d+) strains', page).group(1))
    assert total == page.count('data-label="EMMA ID"') > 10
    held = client.get("/strains?node=HMGU").get_data(as_text=True)
    assert "Held by</label>" in held and 0 < held.count('data-label="EMMA ID"') < total
    assert all(code == "HMGU" for code in re.findall(r'data-label="Held by">(\w+)<', held))
    b = client.get("/strains?class=b").get_data(as_text=True)
    alleles = re.findall(
        r'<span class="allele"><span class="allele-symbol">[^<]*(?:<a [^>]*>[^<]*</a>)?<sup>([^<]+)</sup>', b
    )
    assert alleles and all("tm1b(" in a for a in alleles)
    embryos = client.get("/strains?material=frozen_embryos").get_data(as_text=True)
    assert set(re.findall(r'data-label="Material">([^<]+)<', embryos)) == {"frozen embryos"}
    none = client.get("/strains?q=Cdk5rap2&class=em").get_data(as_text=True)
    assert "Nothing matches" in none and "Search again without the filters" in none
    assert 'href="/strains?q=Cdk5rap2"' in none


def test_dates_have_one_format_on_pages_and_iso_in_csv(seeded, api):
    api.submit("EM:05402", "c")
    cora = Web(seeded, "coordinator")
    page = cora.text("/requests")
    today = date.today()
    shown = f"{today.day} {today:%b %Y}"
    assert f'<time class="date" datetime="{today.isoformat()}">{shown}</time>' in page
    rows = list(csv.DictReader(io.StringIO(cora.get("/requests.csv").get_data(as_text=True))))
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", rows[0]["Submitted"])
    assert rows[0]["Status"] == STATE_LABELS["submitted"]


def test_empty_dashboard_charts_say_not_enough_data(seeded):
    page = Web(seeded, "coordinator").text("/dashboard")
    assert page.count("Not enough data yet") == 2 and "throughput.svg" not in page


def test_top_bar_groups_the_coordinators_links(seeded):
    page = Web(seeded, "coordinator").text("/")
    nav = page[page.index('<nav aria-label="Main">') : page.index("</nav>")]
    menus = re.findall(r"<summary[^>]*>([^<]+)</summary>", nav)
    assert menus[:2] == ["Admin", "Billing"] and menus[-1] == "Cora Coordinator"
    assert nav.count('<details class="menu') == 3
    assert re.search(r'<form method="post" action="/logout">.*csrf_token', nav, re.S)  # sign out is a POST
    assert 'rel="icon"' in page
