"""Alleles as scientists write them: the allele part as superscript (`Gene<sup>tm1b(EUCOMM)Wtsi</sup>`),
never broken across lines, the gene linked to its MGI page when the catalogue holds its MGI id.
The `allele` Jinja filter serves pages, HTML emails and PDFs alike."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

MGI_GENE_URL = "https://www.informatics.jax.org/marker/{mgi_id}"
_ALLELE_PART = re.compile(r"(?P<gene>[^\s/<>]*)<(?P<allele>[^<>]*)>")
NOWRAP = "white-space:nowrap"


HTML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&#39;", '"': "&#34;"})


def esc(value) -> str:
    """markupsafe.escape(value)'s text, in one call for a str (`text.translate(HTML_ESCAPES)`): for
    the pieces of a page built in Python with f-strings, where escape() makes a Markup of each (four
    calls more, a few hundred times per request page)."""
    if type(value) is str:
        return value.translate(HTML_ESCAPES)
    return escape(value)  # Markup and other objects with __html__ as they are, the rest as str()


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
    # f-strings of escaped text: Markup.format cost ten times as much, a Markup per part twice
    for m in _ALLELE_PART.finditer(plain):
        out.append(plain[pos : m.start()].translate(HTML_ESCAPES))
        token = m.group("gene")
        if gene and mgi_id and token.endswith(gene):
            head = token[: len(token) - len(gene)]
            url = MGI_GENE_URL.format(mgi_id=mgi_id)
            name = f'{esc(head)}<a class="gene" href="{esc(url)}" title="{esc(mgi_id)} on MGI">{esc(gene)}</a>'
        else:
            name = token.translate(HTML_ESCAPES)
        style = f' style="{NOWRAP}"' if inline else ""
        out.append(
            f'<span class="allele-symbol"{style}>{name}<sup>{m.group("allele").translate(HTML_ESCAPES)}</sup></span>'
        )
        pos = m.end()
    out.append(plain[pos:].translate(HTML_ESCAPES))
    return Markup("".join(out))


def init_app(app) -> None:
    app.add_template_filter(allele_html, "allele")
