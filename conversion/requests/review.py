"""The coordinator's review queue (views.review): the oldest submitted requests to approve or
reject, the oldest approved ones to assign to a node, and open requests whose strain was retracted.

Five statements whatever the size: the signed-in user, both lists' rows in one statement (only the
columns shown), their totals and the nodes' loads from the tallies, the nodes with their deleters,
the retracted strains' open requests. Each row's HTML, with its plain forms, is built here from
escaped parts: the template loop cost ~30 expressions per row through Jinja (two thirds of the
page's CPU). Rows that need the same recombinases and whose stock is at the same node share one
ranking of the nodes and one list of <option>s."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from sqlalchemy import Select, select, union_all
from sqlalchemy.orm import joinedload

from workflows import lifecycle

from ..catalogue.models import Access, Node, Strain
from ..extensions import db, in_sql_text
from ..urls import id_url
from .models import ConversionRequest, RequestTally
from .operations import AssignmentContext, rank_nodes
from .present import date_tag, node_options

SHOWN = 50  # per list, the oldest first; the rest wait on the next visit

TO_REVIEW = """
      <tr>
        <td data-label="Request"><span><a class="id" href="{show}"><strong>{reference}</strong></a><br><small><span class="id">{emma_id}</span> · {gene}</small></span></td>
        <td data-label="Conversion"><span><span class="allele">{source_class} → {product}</span><br><small>{steps}</small></span></td>
        <td data-label="Requester"><span>{organisation}<br><small>{country} · {sector}</small></span></td>
        <td data-label="Submitted">{submitted}</td>
        <td data-label="Decision" class="decide">
          <form method="post" action="{fire}" class="inline">
            <input type="hidden" name="a-approve-csrf_token" value="{csrf}">
            <input type="hidden" name="trigger" value="approve">
            <input type="hidden" name="next" value="{back}">
            <button type="submit" aria-label="Approve {reference}">Approve</button>
          </form>
          <details class="reject">
            <summary>Reject…</summary>
            <form method="post" action="{fire}">
              <input type="hidden" name="a-reject-csrf_token" value="{csrf}">
              <input type="hidden" name="trigger" value="reject">
              <input type="hidden" name="next" value="{back}">
              <label for="reject-{id}">Reason (the requester sees it)</label>
              <textarea id="reject-{id}" name="a-reject-comment" rows="2" required></textarea>
              <button type="submit" class="danger">Reject <span class="id">{reference}</span></button>
            </form>
          </details>
        </td>
      </tr>"""

TO_ASSIGN = """
      <tr>
        <td data-label="Request"><span><a class="id" href="{show}"><strong>{reference}</strong></a><br><small class="allele">{product}</small></span></td>
        <td data-label="Needs">{needs}</td>
        <td data-label="Stock held by">{holder}</td>
        <td data-label="Assign to">
          <form method="post" action="{fire}" class="inline assign">
            <input type="hidden" name="a-assign-csrf_token" value="{csrf}">
            <input type="hidden" name="trigger" value="assign">
            <input type="hidden" name="next" value="{back}">
            <label class="visually-hidden" for="assign-{id}">Node for {reference}</label>
            <select id="assign-{id}" name="a-assign-node">
              {options}
            </select>
            <button type="submit">Assign</button>
          </form>
        </td>
      </tr>"""


@dataclass
class Retracted:
    id: int
    reference: str
    emma_id: str
    status: str
    url: str


@dataclass
class Queue:
    review_total: int
    review_shown: int
    review_rows: Markup
    assign_total: int
    assign_shown: int
    assign_rows: Markup
    retracted: list[Retracted]


def _constant(name: str, value):
    """A value written into the SQL text, not a parameter: these statements have none, so PostgreSQL
    plans them for their values even once prepared. With parameters (even only the LIMIT) it
    switched the retracted strains' requests to a generic plan that walked every request in id
    order: 0.5 -> 21 ms a view at 50,000 requests (docs/benchmarks.md)."""
    return in_sql_text(value, name)


def _rows_statement() -> Select:
    """The SHOWN oldest submitted and approved requests, each list from the (status, id) index."""
    holder = Node.__table__.alias("holder")

    def oldest(status: str) -> Select:
        return (
            select(
                ConversionRequest.status,
                ConversionRequest.id,
                ConversionRequest.reference,
                ConversionRequest.source_class,
                ConversionRequest.product_symbol,
                ConversionRequest.plan["steps"].label("steps"),  # the recombinases, in step order
                ConversionRequest.use_tat_cre,
                ConversionRequest.billing_organisation,
                ConversionRequest.billing_country,
                ConversionRequest.billing_sector,
                ConversionRequest.created_at,
                Strain.emma_id,
                Strain.gene,
                Strain.holder_node_id,
                holder.c.code,
            )
            .join(Strain, Strain.id == ConversionRequest.strain_id)
            .join(holder, holder.c.id == Strain.holder_node_id)
            .where(ConversionRequest.status == _constant(f"status_{status}", status))
            .order_by(ConversionRequest.id)
            .limit(_constant("shown", SHOWN))
        )

    both = union_all(oldest("submitted").subquery().select(), oldest("approved").subquery().select())
    return both  # type: ignore[return-value]


_ROWS = _rows_statement()
_TALLIES = select(RequestTally.node_id, RequestTally.key, RequestTally.n).where(
    RequestTally.key.in_(_constant("open", list(lifecycle.OPEN_STATES))), RequestTally.n != _constant("zero", 0)
)
_NODES = select(Node).options(joinedload(Node.deleters)).order_by(Node.code)
# one statement (the retracted strains are few, usually none: a nested loop from them, the
# request's (strain_id, id) index for each), with its values in the text
_RETRACTED = (
    select(ConversionRequest.id, ConversionRequest.reference, Strain.emma_id, ConversionRequest.status)
    .join(Strain, Strain.id == ConversionRequest.strain_id)
    .where(
        Strain.access == _constant("retracted", Access.retracted),
        ConversionRequest.status.in_(_constant("open", list(lifecycle.OPEN_STATES))),
    )
    .order_by(ConversionRequest.id)
    .limit(_constant("most", 200))
)


def _steps(steps: list[str] | None, tat_cre: bool) -> str:
    text = " then ".join(str(escape(recombinase)) for recombinase in steps or ())
    return text + (" · TAT-Cre" if tat_cre else "")


def queue() -> Queue:
    """What the review page shows (coordinators see every request)."""
    from ..catalogue.present import allele_html

    rows = db.session.execute(_ROWS).all()
    loads: dict[int, int] = {}
    totals = {"submitted": 0, "approved": 0}
    for node_id, key, n in db.session.execute(_TALLIES):
        if key in totals:
            totals[key] += n
        elif node_id:
            loads[node_id] = loads.get(node_id, 0) + n
    context = AssignmentContext(list(db.session.scalars(_NODES).unique()), loads)
    retracted_rows = db.session.execute(_RETRACTED).all()

    show, fire = id_url("requests.show"), id_url("requests.fire")
    common = {"csrf": escape(generate_csrf()), "back": escape(url_for("requests.review"))}
    review, assign = [], []
    options: dict[tuple, Markup] = {}  # (recombinases needed, stock holder) -> the <option>s
    symbols: dict[str, Markup] = {}  # products repeat: each one's HTML once

    def allele(symbol: str) -> Markup:
        if symbol not in symbols:
            symbols[symbol] = allele_html(symbol)
        return symbols[symbol]

    for (
        status,
        rid,
        reference,
        source_class,
        product,
        steps,
        tat_cre,
        organisation,
        country,
        sector,
        created,
        emma_id,
        gene,
        holder_id,
        holder_code,
    ) in rows:
        row = {**common, "id": rid, "reference": escape(reference), "show": show(rid), "fire": fire(rid)}
        if status == "submitted":
            row.update(
                emma_id=escape(emma_id),
                gene=escape(gene),
                source_class=escape(source_class),
                product=allele(product),
                steps=_steps(steps, tat_cre),
                organisation=escape(organisation),
                country=escape(country),
                sector=escape(sector.value),
                submitted=date_tag(created),
            )
            review.append(TO_REVIEW.format_map(row))
        else:
            needed = tuple(sorted(set(steps or ())))
            key = (needed, holder_id)
            if key not in options:
                ranked = rank_nodes(set(needed), holder_id, context)
                best = ranked[0].node.code if ranked and ranked[0].ok else None
                options[key] = node_options(ranked, best)
            row.update(
                product=allele(product),
                needs=f"{escape(' and '.join(needed))} deleter{'s' if len(needed) > 1 else ''}",
                holder=escape(holder_code),
                options=options[key],
            )
            assign.append(TO_ASSIGN.format_map(row))
    return Queue(
        review_total=totals["submitted"],
        review_shown=len(review),
        review_rows=Markup("".join(review)),
        assign_total=totals["approved"],
        assign_shown=len(assign),
        assign_rows=Markup("".join(assign)),
        retracted=[Retracted(rid, ref, emma_id, st, show(rid)) for rid, ref, emma_id, st in retracted_rows],
    )
