"""Alleles as scientists write them: the allele part as superscript (`Gene<sup>tm1b(EUCOMM)Wtsi</sup>`),
never broken across lines, the gene linked to its MGI page when the catalogue holds its MGI id.
The `allele` Jinja filter serves pages, HTML emails and PDFs alike."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

MGI_GENE_URL = "https://www.informatics.jax.org/marker/{mgi_id}"
_ALLELE_PART = re.compile(r"(?P<gene>[^\s/<>]*)<(?P<allele>[^<>]*)>")
NOWRAP = "white-space:nowrap"


def allele_html(text, gene: str | None = None, mgi_id: str | None = None, inline: bool = False) -> Markup:
    """HTML for a symbol or a strain name carrying one (`<...>`, `<sup>` or `‹...›` spelling):
    every `Gene<allele>` becomes `<span class="allele-symbol">Gene<sup>allele</sup></span>` (no line
    break inside: white-space nowrap from app.css and the PDFs' document.css; `inline` puts it in a
    style attribute for emails, which have no style sheet). With `gene` and `mgi_id`, that gene links
    to its MGI page. Everything else is escaped."""
    from ..alleles import plain_form

    if text is None:
        return Markup("")
    plain = plain_form(str(text))
    out, pos = [], 0
    for m in _ALLELE_PART.finditer(plain):
        out.append(escape(plain[pos : m.start()]))
        token = m.group("gene")
        if gene and mgi_id and token.endswith(gene):
            head = token[: len(token) - len(gene)]
            url = MGI_GENE_URL.format(mgi_id=mgi_id)
            name = Markup(
                f'{escape(head)}<a class="gene" href="{escape(url)}" title="{escape(mgi_id)} on MGI">{escape(gene)}</a>'
            )
        else:
            name = escape(token)
        style = f' style="{NOWRAP}"' if inline else ""
        # f-strings of escaped parts: Markup.format costs ten times as much, on every symbol of a page
        out.append(Markup(f'<span class="allele-symbol"{style}>{name}<sup>{escape(m.group("allele"))}</sup></span>'))
        pos = m.end()
    out.append(escape(plain[pos:]))
    return Markup("").join(out)


def init_app(app) -> None:
    app.add_template_filter(allele_html, "allele")
