"""POST /api/v1/feasibility, exactly as in the contract (public, no sign-in)."""

import subprocess
import sys
from pathlib import Path

import pytest
from test_alleles_engine import EXAMPLES


def test_engine_imports_no_flask():
    code = (
        "import sys; import importlib.util as u; "
        "spec = u.spec_from_file_location('engine', 'conversion/alleles/__init__.py'); "
        "m = u.module_from_spec(spec); sys.modules['engine'] = m; spec.loader.exec_module(m); "
        "assert 'flask' not in sys.modules and 'sqlalchemy' not in sys.modules, 'engine imports flask'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parent.parent)


@pytest.mark.parametrize("symbol, target, feasible, steps, expected", EXAMPLES)
def test_every_example_through_the_api(client, symbol, target, feasible, steps, expected):
    res = client.post("/api/v1/feasibility", json={"allele": symbol, "target": target})
    assert res.status_code == 200
    body = res.get_json()
    assert body["feasible"] is feasible and body["steps"] == steps
    if feasible:
        assert body["product_symbol"] == expected and body["reason"] is None
    else:
        assert body["product_symbol"] is None and expected in body["reason"]


def test_contract_example(client):
    body = client.post("/api/v1/feasibility", json={"allele": "Cdk5rap2<tm1a(EUCOMM)Wtsi>", "target": "b"}).get_json()
    assert {k: body[k] for k in ("feasible", "source_class", "product_symbol", "steps", "reason")} == {
        "feasible": True,
        "source_class": "tm1a",
        "product_symbol": "Cdk5rap2<tm1b(EUCOMM)Wtsi>",
        "steps": ["Cre"],
        "reason": None,
    }


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"allele": "not a symbol", "target": "b"}, "Cannot parse"),
        ({"allele": "Cdk5rap2<tm1a(EUCOMM)Wtsi>", "target": "q"}, "Unknown target"),
        ({"allele": "Cdk5rap2<tm1a(EUCOMM)Wtsi>"}, "target"),
        ({"allele": 12, "target": "b"}, "allele"),
    ],
)
def test_bad_input_is_422(client, body, fragment):
    res = client.post("/api/v1/feasibility", json=body)
    assert res.status_code == 422
    assert fragment in res.get_json()["error"]
