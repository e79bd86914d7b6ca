"""What the QC of each plan step should show, and flags on results against it."""

from __future__ import annotations

from ..requests.models import ConversionRequest


def expected_qc(req: ConversionRequest) -> dict[int, dict[str, str]]:
    """{step number: {assay: expected result}} from the plan (plans stored before expectations
    were kept are planned again from the strain's allele)."""
    steps = req.steps
    if steps and all("qc_expected" in s for s in steps):
        return {i: dict(s["qc_expected"]) for i, s in enumerate(steps, 1)}
    from ..alleles import plan_conversion

    try:
        plan = plan_conversion(req.strain.allele_symbol, req.target, req.plan.get("assumed_cassette"))
    except (ValueError, TypeError):
        plan = None
    if plan is None or not plan.feasible or len(plan.steps) != len(steps):
        return {i: dict.fromkeys(s.get("qc_assays", []), "as planned") for i, s in enumerate(steps, 1)}
    return {s.number: dict(s.qc_expected) for s in plan.steps}


def qc_flags(results: list[dict], expected: dict[int, dict[str, str]]) -> dict[int, str]:
    """{qc record id: why it stands out}: a failed assay (the product does not show what it
    should), an assay the plan does not use for that step, an animal that was never recorded."""
    flags = {}
    for q in results:
        planned = expected.get(q["step"], {})
        why = []
        if q["result"] == "fail":
            want = planned.get(q["assay"])
            why.append(f"against expectation ({want})" if want else "failed")
        if planned and q["assay"] not in planned:
            why.append(f"not an assay of step {q['step']}'s plan")
        if q.get("animal") and not q.get("animal_recorded"):
            why.append(f"animal {q['animal']} was never recorded")
        if why:
            flags[q["id"]] = "; ".join(why)
    return flags
