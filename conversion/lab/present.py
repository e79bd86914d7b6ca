"""What the QC of each plan step should show, and flags on results against it."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from markupsafe import Markup, escape

from ..catalogue.present import HTML_ESCAPES, esc
from ..requests.models import ConversionRequest
from ..requests.present import _time_tag, date_tag, datetime_tag, state_label


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


def _text(value) -> Markup | str:
    """`{{ value }}` in a page: escaped, dates as <time> tags (text and numbers, most cells, first)."""
    kind = type(value)
    if kind is str:
        return value.translate(HTML_ESCAPES)
    if kind is int:
        return str(value)
    if isinstance(value, (date, datetime)):
        return _time_tag(value)
    return esc(value)


def _raw(value) -> Markup | str:
    """A field's value in a form: empty when unset, flags as yes/no."""
    if value is None:
        return ""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return _text(value)


def _show(value) -> Markup | str:
    """A value in a correction's history: a dash when unset."""
    return "—" if value is None or value == "" else _raw(value)


_VOIDED = ' class="voided"'


@lru_cache(maxsize=256)
def _field_label(name: str) -> Markup:
    """A correctable field's label in a record's "Correct" form."""
    return escape(name.replace("_", " "))


class RecordRows:
    """Each lab record's history (void note, corrections) and its "Correct" and "Void" forms, built
    in Python with the page's one CSRF token: a Jinja macro per record rendered a WTForm's CSRF
    field twice per record and cost a fifth of the request page's CPU. The forms post to
    lab.views.correct and lab.views.void, which validate them as CorrectForm and VoidForm."""

    def __init__(self, req, *, editable: bool, forms: dict, fields: dict[str, list[str]], posted) -> None:
        from flask_wtf.csrf import generate_csrf

        from ..urls import MAX_ID, url_around

        token = esc(generate_csrf())
        self.fix_csrf_token = Markup(f'<input id="fix-csrf_token" name="fix-csrf_token" type="hidden" value="{token}">')
        self.void_csrf_token = Markup(
            f'<input id="void-csrf_token" name="void-csrf_token" type="hidden" value="{token}">'
        )
        self.editable = editable
        self.forms = forms
        self.fields = fields
        self.posted = posted  # the posted form (a correction shown again with its values)
        # "/requests/<id>" once: url_for per record and action cost more than the rest of a row
        # (and once per script root rather than per page: urls.url_around)
        head, tail = url_around("lab.correct", "request_id", MAX_ID, kind="k", record_id=0)
        self.base = f"{head}{int(req.id)}{tail.rsplit('/k/0/correct', 1)[0]}"

    def history(self, rec: dict) -> Markup:
        out = []
        if rec.get("voided"):
            void = rec.get("void") or {}
            by = f" by {esc(void['by'])}" if void.get("by") else ""
            out.append(
                f'<p class="void-note">Voided <span class="date">{date_tag(void.get("at"))}</span>{by}: '
                f"{esc(void.get('reason'))}</p>"
            )
        corrections = rec.get("corrections")
        if corrections:
            items = []
            for c in corrections:
                changes = "; ".join(
                    f"{esc(f)} <del>{_show(pair[0])}</del> → <ins>{_show(pair[1])}</ins>"
                    for f, pair in c["changes"].items()
                )
                items.append(
                    f'<li><span class="date">{datetime_tag(c.get("at"))}</span> · {esc(c.get("by"))} · '
                    f"<em>{esc(c.get('reason'))}</em>:\n      {changes}</li>"
                )
            out.append(
                f'\n  <details class="corrections"><summary>Corrected {len(corrections)}×</summary>\n'
                f"    <ul>{''.join(items)}</ul>\n  </details>"
            )
        return Markup("".join(out))

    def actions(self, kind: str, rec: dict, noun: str = "") -> Markup:
        if not self.editable or rec.get("voided"):
            return Markup("")
        rid = rec["id"]
        fix = self.forms.get(f"fix-{kind}-{rid}")
        vf = self.forms.get(f"void-{kind}-{rid}")
        noun = f" {esc(noun)}" if noun else ""
        version = _raw(rec.get("version"))
        key = f"{esc(kind)}-{rid}"
        rows = []
        for f in self.fields[kind]:
            was = _raw(rec.get(f))
            posted = f"set-{f}"
            now = esc(self.posted[posted]) if fix and posted in self.posted else was
            rows.append(
                f'\n      <div class="field"><label for="set-{key}-{f}">{_field_label(f)}</label>\n'
                f'        <input type="hidden" name="was-{f}" value="{was}">\n'
                f'        <input id="set-{key}-{f}" name="set-{f}" value="{now}"></div>'
            )
        reason = esc(fix.reason.data or "") if fix else ""
        url = f"{self.base}/{esc(kind)}/{rid}"
        return Markup(
            f'\n  <details class="row-action"{" open" if fix else ""}><summary>Correct{noun}</summary>\n'
            f'    <form method="post" action="{url}/correct" class="form-grid correct-form">\n'
            f"      {self.fix_csrf_token}\n"
            f'      <input type="hidden" name="fix-version" value="{version}">{"".join(rows)}\n'
            f'      <div class="field wide"><label for="fix-{key}-reason">Why (required, kept with the old value)'
            f"</label>\n"
            f'        <input id="fix-{key}-reason" name="fix-reason" required maxlength="2000" value="{reason}">'
            f"</div>\n"
            f'      <div class="field submit"><button type="submit">Save correction</button></div>\n'
            f"    </form>\n"
            f"  </details>\n"
            f'  <details class="row-action"{" open" if vf else ""}><summary>Void{noun}</summary>\n'
            f'    <form method="post" action="{url}/void" class="void-form">\n'
            f"      {self.void_csrf_token}\n"
            f'      <input type="hidden" name="void-version" value="{version}">\n'
            f'      <label for="void-{key}-reason">Why void it (required)</label>\n'
            f'      <input id="void-{key}-reason" name="void-reason" required maxlength="2000">\n'
            f'      <button type="submit" class="danger">Void record</button>\n'
            f"    </form>\n"
            f"  </details>\n  "
        )

    # ---- the records' tables: each row built here, not in a Jinja loop of a dozen expressions
    # per row (the workspace template was a sixth of the request page's CPU) ----
    def _litters(self, litters: list[dict]) -> str:
        if not litters:
            return "—"
        out = []
        for lt in litters:
            genotyped = lt.get("genotyped_on")
            genotyped = f' · genotyped <span class="date">{date_tag(genotyped)}</span>' if genotyped else ""
            out.append(
                f'<div class="sub-record{" voided" if lt.get("voided") else ""}" id="litters-{_text(lt.get("id"))}">'
                f'<span class="what"><span class="date">{date_tag(lt.get("born_on")) or "?"}</span>: '
                f"{_show(lt.get('pups_born'))} / {_show(lt.get('pups_weaned'))}{genotyped}</span>\n"
                f"          {self.history(lt)}{self.actions('litters', lt, 'litter')}</div>"
            )
        return "".join(out)

    def mating_rows(self, matings: list[dict], req) -> Markup:
        out = []
        for m in matings:
            mid, number, successful = _text(m.get("id")), _text(m.get("number")), m.get("successful")
            mark = ""
            if self.editable and not m.get("voided") and successful is not True and m.get("step") == req.current_step:
                mark = (
                    f'\n          <details class="row-action mark-successful"><summary>Mark successful</summary>\n'
                    f'            <form method="post" action="{esc(self.base)}/matings/{mid}/correct">\n'
                    f"              {self.fix_csrf_token}\n"
                    f'              <input type="hidden" name="fix-version" value="{_text(m.get("version"))}">\n'
                    f'              <input type="hidden" name="was-successful" value="{_raw(successful)}">\n'
                    f'              <input type="hidden" name="set-successful" value="yes">\n'
                    f'              <label for="success-{mid}-reason">Why (required: e.g. the pups that carry '
                    f"{_text(req.step_product_label)})</label>\n"
                    f'              <input id="success-{mid}-reason" name="fix-reason" required maxlength="2000">\n'
                    f'              <button type="submit">Mark {number} successful</button>\n'
                    f"            </form>\n"
                    f"          </details>\n          "
                )
            deleter = "TAT-Cre" if m.get("method") == "tat_cre" else m.get("deleter")
            out.append(
                f'\n      <tr id="matings-{mid}"{_VOIDED if m.get("voided") else ""}><td><strong>{number}'
                f"</strong></td><td>{_text(m.get('step'))}</td><td>{_text(m.get('generation'))}</td>\n"
                f'        <td class="strain">{_text(deleter)}</td><td><span class="date">{date_tag(m.get("set_up_on"))}'
                f"</span></td>\n"
                f"        <td>{_text(m.get('dam') or 'deleter stock')} × {_text(m.get('sire') or 'deleter stock')}</td>\n"
                f"        <td>{self._litters(m.get('litters') or [])}</td>\n"
                f"        <td>{_show(successful)}\n          {mark}</td>\n"
                f"        <td>{self.history(m)}{self.actions('matings', m)}</td></tr>\n    "
            )
        return Markup("".join(out))

    def animal_rows(self, animals: list[dict]) -> Markup:
        out = []
        for a in animals:
            fate = str(a.get("fate")).replace("_", " ")
            out.append(
                f'\n      <tr id="animals-{_text(a.get("id"))}"{_VOIDED if a.get("voided") else ""}><td><strong>'
                f'{_text(a.get("label"))}</strong></td><td>{_text(a.get("step"))}</td><td><span class="date">'
                f"{date_tag(a.get('born_on')) or '—'}</span></td>\n"
                f'        <td>{_text(a.get("sex"))}</td><td class="allele">{_text(a.get("allele"))}</td>'
                f"<td>{_text(a.get('deleter_transgene') or '—')}</td>\n"
                f"        <td>{_text(a.get('mating') or state_label(a.get('stage')))}</td><td>{esc(fate)}</td>\n"
                f"        <td>{self.history(a)}{self.actions('animals', a)}</td></tr>\n    "
            )
        return Markup("".join(out))

    def qc_rows(self, results: list[dict], expected: dict, flags: dict) -> Markup:
        out = []
        for q in results:
            flag, voided, result = flags.get(q.get("id")), q.get("voided"), _text(q.get("result"))
            css = "voided" if voided else "flagged" if flag else ""
            note = f'<p class="flag">⚠ {_text(flag)}</p>' if flag and not voided else ""
            want = expected.get(q.get("step"), {}).get(q.get("assay"), "—")
            out.append(
                f'\n      <tr id="qc-{_text(q.get("id"))}" class="{css}"><td>{_text(q.get("step"))}</td>'
                f"<td>{_text(q.get('assay'))}</td>\n"
                f"        <td>{_text(want)}</td>\n"
                f'        <td><span class="badge result-{result}">{result}</span>{note}</td>\n'
                f"        <td>{_text(q.get('animal') or '—')}</td><td>{_text(q.get('note') or '')}</td>"
                f"<td>{self.history(q)}{self.actions('qc', q)}</td></tr>\n    "
            )
        return Markup("".join(out))

    def _thaws(self, thaws: list[dict]) -> str:
        if not thaws:
            return "not yet"
        out = []
        for t in thaws:
            result = _text(t.get("result"))
            note = f" <small>{_text(t.get('note'))}</small>" if t.get("note") else ""
            out.append(
                f'<div class="sub-record{" voided" if t.get("voided") else ""}" id="thaws-{_text(t.get("id"))}">'
                f'<span class="what"><span class="date">{date_tag(t.get("thawed_on"))}</span> '
                f'<span class="badge result-{result}">{result}</span>{note}</span>\n'
                f"          {self.history(t)}{self.actions('thaws', t, 'thaw')}</div>"
            )
        return "".join(out)

    def cryo_rows(self, sessions: list[dict]) -> Markup:
        out = []
        for c in sessions:
            cid = _text(c.get("id"))
            out.append(
                f'\n      <tr id="cryo-{cid}"{_VOIDED if c.get("voided") else ""}><td>{cid}</td>'
                f"<td>{_text(c.get('material'))}</td><td>{_text(c.get('count'))}</td><td>{_text(c.get('location'))}</td>\n"
                f'        <td><span class="date">{date_tag(c.get("frozen_on")) or "—"}</span></td>'
                f"<td>{_text(c.get('donors') or '—')}</td>\n"
                f"        <td>{self._thaws(c.get('thaws') or [])}</td>\n"
                f"        <td>{self.history(c)}{self.actions('cryo', c)}</td></tr>\n    "
            )
        return Markup("".join(out))

    def shipment_rows(self, shipments: list[dict]) -> Markup:
        out = []
        for s in shipments:
            material = str(s.get("material")).replace("_", " ")
            out.append(
                f'\n      <tr id="shipments-{_text(s.get("id"))}"{_VOIDED if s.get("voided") else ""}>'
                f'<td><span class="date">{date_tag(s.get("shipped_on"))}</span></td><td>{esc(material)}</td>'
                f'<td class="num">{_text(s.get("quantity"))}</td>\n'
                f"        <td>{_text(s.get('courier'))}</td><td>{_text(s.get('tracking'))}</td>"
                f"<td>{self.history(s)}{self.actions('shipments', s)}</td></tr>\n    "
            )
        return Markup("".join(out))


def _options(values, chosen) -> str:
    return "".join(
        f'<option value="{esc(v)}"{" selected" if chosen == v else ""}>{esc(v) or "—"}</option>' for v in values
    )


def litter_rows(count: int, table: list[dict], source: str, product: str) -> Markup:
    """The rows of the litter table (one animal each; `table` holds the rows posted back with an
    error), built here: a Jinja loop of three option loops per row was a third of the workspace.
    Empty rows (every GET) depend on the count and the step's alleles only: built once."""
    if not table:
        return _empty_litter_rows(count, source, product)
    return _litter_rows(count, table, source, product)


@lru_cache(maxsize=512)
def _empty_litter_rows(count: int, source: str, product: str) -> Markup:
    return _litter_rows(count, [], source, product)


def _litter_rows(count: int, table: list[dict], source: str, product: str) -> Markup:
    alleles, seen = [""], set()
    for v in (source, product, "wt"):  # Jinja's `unique`: the first of each, ignoring case
        key = v.lower() if isinstance(v, str) else v
        if key not in seen:
            seen.add(key)
            alleles.append(v)
    out = []
    for n in range(max(count, len(table))):
        r = table[n] if n < len(table) else {}
        i = n + 1
        out.append(
            f"\n          <tr><td>{i}</td>\n"
            f'            <td><input name="animals-{n}-label" aria-label="Label of row {i}" maxlength="60" '
            f'value="{esc(r.get("label") or "")}"></td>\n'
            f'            <td><select name="animals-{n}-sex" aria-label="Sex of row {i}">'
            f"{_options(('', 'female', 'male', 'unknown'), r.get('sex'))}</select></td>\n"
            f'            <td><select name="animals-{n}-allele" aria-label="Target locus of row {i}">'
            f"{_options(alleles, r.get('allele'))}</select></td>\n"
            f'            <td><select name="animals-{n}-transgene" aria-label="Deleter transgene of row {i}">'
            f"{_options(('', 'negative', 'positive'), r.get('deleter_transgene'))}</select></td></tr>"
        )
    return Markup("".join(out))
