"""Confidential and retracted strains never leak to anyone but coordinators: not in searches, strain
pages, the feasibility panel, request creation (nor as an "already archived" derivative), CSV
exports or emails; and a hidden strain answers exactly like one that does not exist."""

from __future__ import annotations

import pytest
from conftest import sign_in
from flows import BILLING_DE, Api

HIDDEN = {"EM:13377": "Pcdh15", "EM:13378": "Spata22", "EM:20002": "Zfp999<tm1b", "EM:20003": "Zfp999<tm1c"}
NOBODY = "EM:99999"
VIEWERS = ("anonymous", "requester", "staff_ics", "staff_mrc")


@pytest.fixture
def catalogue(seeded):
    """Seed data plus a public tm1a whose tm1b derivative is confidential and tm1c retracted."""
    from conversion.catalogue.importer import import_csv

    rows = [
        "emma_id,strain_name,allele_symbol,holder_node,material,access",
        "EM:20001,C57BL/6N-Zfp999<tm1a(EUCOMM)Wtsi>/H,Zfp999<tm1a(EUCOMM)Wtsi>,MRC,frozen_sperm,public",
        "EM:20002,C57BL/6N-Zfp999<tm1b(EUCOMM)Wtsi>/H,Zfp999<tm1b(EUCOMM)Wtsi>,MRC,frozen_sperm,confidential",
        "EM:20003,C57BL/6N-Zfp999<tm1c(EUCOMM)Wtsi>/H,Zfp999<tm1c(EUCOMM)Wtsi>,MRC,frozen_sperm,retracted",
    ]
    assert import_csv(("\n".join(rows) + "\n").encode()) == 3
    return seeded


def _client(app, who):
    client = app.test_client()
    if who != "anonymous":
        assert sign_in(client, who).status_code == 302
    return client


def _bearer(app, who):
    from conftest import api_token

    return {} if who == "anonymous" else {"Authorization": f"Bearer {api_token(app.test_client(), who)}"}


def _leaks(text: str, q: str = "") -> list[str]:
    """Hidden EMMA IDs or genes in `text` (the query itself, echoed in the search box, aside)."""
    if q:
        text = text.replace(f'value="{q}"', "").replace(f"“{q}”", "")
    return [emma for emma in HIDDEN if emma in text] + [g for g in ("Pcdh15", "Spata22") if g in text]


@pytest.mark.parametrize("who", VIEWERS)
def test_searches_and_lists_never_show_hidden_strains(catalogue, who):
    client, headers = _client(catalogue, who), _bearer(catalogue, who)
    for q in ("", "Pcdh15", "Spata22", "Zfp999", "EM:133", "EM:2000", "tm1b", "confidential"):
        for path in (f"/?q={q}", f"/strains?q={q}"):
            res = client.get(path)
            assert res.status_code == 200 and not _leaks(res.get_data(as_text=True), q), (who, path)
        res = client.get(f"/api/v1/strains?q={q}&limit=200", headers=headers)
        assert res.status_code == 200 and not _leaks(res.get_data(as_text=True)), (who, q)
    listed = client.get("/api/v1/strains?q=Zfp999", headers=headers).get_json()["items"]
    assert [s["emma_id"] for s in listed] == ["EM:20001"]


@pytest.mark.parametrize("who", VIEWERS)
def test_a_hidden_strain_answers_like_a_missing_one(catalogue, who):
    client, headers = _client(catalogue, who), _bearer(catalogue, who)

    def answers(emma):
        out = []
        for path, hdrs in (
            (f"/strains/{emma}", {}),
            (f"/api/v1/strains/{emma}", headers),
            (f"/strains/{emma}/request", {}),
        ):
            res = client.get(path, headers=hdrs)
            out.append((res.status_code, res.get_data(as_text=True).replace(emma, "ID")))
        return out

    missing = answers(NOBODY)
    assert missing[0][0] == 404 and missing[1][0] == 404
    for emma in HIDDEN:
        got = answers(emma)
        assert [code for code, _ in got] == [code for code, _ in missing], (who, emma)
        assert got[1][1] == missing[1][1]  # the API error too, word for word


def test_requesting_a_hidden_strain_is_refused_like_a_missing_one(catalogue):
    api = Api(catalogue.test_client())
    body = {"target": "b", "deliverable": "frozen_sperm", "billing": BILLING_DE}
    missing = api.post("requester", "/requests", {**body, "strain": NOBODY})
    assert missing.status_code == 422
    for emma in HIDDEN:
        res = api.post("requester", "/requests", {**body, "strain": emma})
        assert res.status_code == 422
        assert res.get_json()["error"].replace(emma, "ID") == missing.get_json()["error"].replace(NOBODY, "ID")
    assert api.get("coordinator", "/requests").get_json()["items"] == []


def test_hidden_derivatives_are_not_named_and_do_not_block_a_request(catalogue):
    """The public tm1a can be converted to tm1b and tm1c: the hidden ones are not 'already archived'."""
    from conversion.extensions import db
    from conversion.notifications.models import OutboxMessage

    api = Api(catalogue.test_client())
    for target in ("b", "c"):
        req = api.submit("EM:20001", target)
        assert not _leaks(str(req))
    rita = _client(catalogue, "requester")
    for path in ("/strains/EM:20001", "/strains/EM:20001/request?target=b"):
        page = rita.get(path)
        assert page.status_code == 200 and not _leaks(page.get_data(as_text=True)), path
    from webflows import BILLING, token

    confirm = rita.post(
        "/strains/EM:20001/request",
        data={
            "target": "b",
            "deliverable": "frozen_sperm",
            **BILLING,
            "action": "review",
            "csrf_token": token(rita, "/strains/EM:20001/request"),
        },
    )
    assert confirm.status_code == 200 and not _leaks(confirm.get_data(as_text=True))
    # a public derivative, by contrast, is named (the seed's EM:07243 is tm1b of EM:05519)
    public = api.post(
        "requester",
        "/requests",
        {"strain": "EM:05519", "target": "b", "deliverable": "frozen_sperm", "billing": BILLING_DE},
    )
    assert public.status_code == 422 and "EM:07243" in public.get_json()["error"]
    # the emails written for these requests
    bodies = [m.subject + m.body_text + m.body_html for m in db.session.query(OutboxMessage)]
    assert bodies and not any(_leaks(b) for b in bodies)


@pytest.mark.parametrize("who", ["requester", "staff_mrc", "staff_ics"])
def test_csv_exports_do_not_show_hidden_strains(catalogue, who):
    api = Api(catalogue.test_client())
    api.submit("EM:20001", "b")
    client = _client(catalogue, who)
    for path in ("/requests.csv", "/invoices.csv"):
        res = client.get(path)
        assert res.status_code == 200 and not _leaks(res.get_data(as_text=True)), path


def test_coordinators_do_see_hidden_strains(catalogue):
    client, headers = _client(catalogue, "coordinator"), _bearer(catalogue, "coordinator")
    assert "EM:13377" in client.get("/strains?q=Pcdh15").get_data(as_text=True)
    assert client.get("/strains/EM:13378").status_code == 200
    found = client.get("/api/v1/strains?q=Zfp999", headers=headers).get_json()["items"]
    assert {"EM:20001", "EM:20002", "EM:20003"} <= {s["emma_id"] for s in found}
