"""MGI allele symbols: `Gene<tm1a(EUCOMM)Wtsi>`, `Gene<em1(IMPC)J>`, `Tg(CAG-Flpo)1Afst`."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

# Class suffixes after the serial number: IKMC letters, Cre/Flp derivatives of a plain allele.
CLASSES = ("a", "b", "c", "d", "e", "e.1", "", ".1", ".2")
KINDS = ("tm", "em", "Tg")

_GENE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-()_:]*")
# MGI lab codes start with a capital letter ("Wtsi", "J", "Hmgu"); "wtsi" is a typing mistake.
_LAB = re.compile(r"[A-Z][A-Za-z0-9]*")
_PROJECT = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .,+/:_\-]*")
# The HTML superscript form and typographic angle brackets, folded to MGI's plain `<...>`.
_SUP_OPEN = re.compile(r"<\s*sup\s*>", re.I)
_SUP_CLOSE = re.compile(r"<\s*/\s*sup\s*>", re.I)
_ANGLES = str.maketrans({"‹": "<", "›": ">", "〈": "<", "〉": ">", "＜": "<", "＞": ">"})
_ALLELE = re.compile(
    r"(?P<kind>[A-Za-z]*)(?P<serial>\d*)(?P<cls>[a-z]?(?:\.\d+)?)"
    r"(?:\((?P<project>[^()]*)\))?(?P<lab>.*)"
)
_TRANSGENE = re.compile(r"Tg\((?P<construct>.+)\)(?P<serial>\d+)(?P<lab>[A-Z][A-Za-z0-9]*)")


class SymbolError(ValueError):
    """An allele symbol that cannot be parsed; the message says what is wrong."""


@dataclass(frozen=True)
class AlleleSymbol:
    """A parsed symbol. For a transgene (kind "Tg") `gene` holds the construct, e.g. "CAG-Flpo"."""

    gene: str
    kind: str
    serial: int
    cls: str
    project: str | None
    lab: str

    @property
    def allele_class(self) -> str:
        """The short genotype label: "tm1a", "tm1e.1", "tm1.1", "em1" ("Tg" for a transgene)."""
        return "Tg" if self.kind == "Tg" else f"{self.kind}{self.serial}{self.cls}"

    def with_class(self, cls: str) -> AlleleSymbol:
        """The same allele with only the class changed (serial, project and lab kept)."""
        if cls not in CLASSES or self.kind == "Tg":
            raise SymbolError(f"cannot give {self} the class {cls!r}")
        return dataclasses.replace(self, cls=cls)

    def __str__(self) -> str:
        if self.kind == "Tg":
            return f"Tg({self.gene}){self.serial}{self.lab}"
        project = f"({self.project})" if self.project else ""
        return f"{self.gene}<{self.allele_class}{project}{self.lab}>"


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


# What plain_form would change: another bracket, a <sup> tag, spacing at an edge, around a bracket,
# repeated or other than a space. Most text on a page is plain already and is returned as it is.
_NOT_PLAIN = re.compile(r"[‹›〈〉＜＞]|<\s*/?\s*sup|\s[\s<>]|[<>]\s|^\s|\s$|[^\S ]", re.I)


def plain_form(text: str) -> str:
    """`<sup>`, `‹ ›` and spacing folded to MGI's plain form: `Gene<sup> tm1a(EUCOMM)Wtsi </sup>`
    -> `Gene<tm1a(EUCOMM)Wtsi>` (no validation; strain names go through this too)."""
    if not _NOT_PLAIN.search(text):
        return text
    text = _SUP_CLOSE.sub(">", _SUP_OPEN.sub("<", text.translate(_ANGLES)))
    text = re.sub(r"\s*([<>])\s*", r"\1", text.strip())
    return re.sub(r"\s+", " ", text)


def parse_symbol(symbol: str) -> AlleleSymbol:
    """Parse an MGI symbol (`<...>`, HTML `<sup>...</sup>` or `‹...›` form, spacing ignored around
    the brackets); raise SymbolError saying why not."""
    if not isinstance(symbol, str) or not symbol.strip():
        raise SymbolError("empty allele symbol")
    text = plain_form(symbol)
    if re.search(r"[&\"']", text) or text.count("<") > 1 or text.count(">") > 1:
        raise SymbolError(
            "markup inside the symbol (only one <...> or <sup>...</sup> allele part is allowed, "
            "e.g. Gene<tm1a(EUCOMM)Wtsi>)"
        )
    if text.startswith("Tg(") and "<" not in text:
        m = _TRANSGENE.fullmatch(text)
        if not m or not _balanced(m.group("construct")):
            raise SymbolError("malformed transgene symbol (expected e.g. Tg(CAG-Flpo)1Afst)")
        return AlleleSymbol(m.group("construct"), "Tg", int(m.group("serial")), "", None, m.group("lab"))
    if "<" not in text:
        if ">" in text:
            raise SymbolError("markup inside the symbol: '>' without '<'")
        raise SymbolError("missing '<...>' allele part (expected e.g. Gene<tm1a(EUCOMM)Wtsi>)")
    if not text.endswith(">"):
        raise SymbolError("the allele part must end with '>'")
    gene, _, allele = text[:-1].partition("<")
    if not gene:
        raise SymbolError("empty gene symbol")
    if not _GENE.fullmatch(gene) or not _balanced(gene):
        raise SymbolError(f"gene symbol {gene!r} has characters or brackets MGI symbols do not use")
    if not allele:
        raise SymbolError("empty allele part '<>'")
    m = _ALLELE.fullmatch(allele)
    if not m or m.group("kind") not in ("tm", "em"):
        head = re.match(r"[A-Za-z]*\d*", allele).group(0) or allele  # type: ignore[union-attr]
        raise SymbolError(f"unknown allele type {head!r} (expected tm or em, e.g. tm1a or em1)")
    kind, serial, cls, project, lab = m.group("kind", "serial", "cls", "project", "lab")
    if not serial or int(serial) == 0:
        raise SymbolError(f"missing serial number after {kind!r} (e.g. {kind}1)")
    if cls not in CLASSES:
        raise SymbolError(f"unknown allele class {kind + serial + cls!r} (known: a, b, c, d, e, e.1, .1, .2 or none)")
    if kind == "em" and cls[:1].isalpha():
        raise SymbolError("CRISPR em alleles have no class letter")
    if project is not None and not project.strip():
        raise SymbolError("empty project in '()'")
    if project is not None and not _PROJECT.fullmatch(project):
        raise SymbolError(f"project {project!r} has characters MGI symbols do not use")
    if not lab:
        raise SymbolError(f"missing lab code after {allele!r} (e.g. Wtsi)")
    if not _LAB.fullmatch(lab):
        if re.fullmatch(r"[a-z][A-Za-z0-9]*", lab):
            raise SymbolError(
                f"lab code {lab!r} must start with a capital letter "
                f"(MGI lab codes are written e.g. {lab[0].upper() + lab[1:]!r})"
            )
        raise SymbolError(f"lab code {lab!r} must be letters and digits")
    return AlleleSymbol(gene, kind, int(serial), cls, project, lab)


def canonical_symbol(symbol: str) -> str:
    """The one spelling an allele is stored and compared in: `Gene<tm1a(EUCOMM)Wtsi>` for
    `Gene<sup>tm1a(EUCOMM)Wtsi</sup>`, `Gene‹tm1a(EUCOMM)Wtsi›` or `Gene < tm1a(EUCOMM)Wtsi >`.
    Raises SymbolError for a symbol that cannot be parsed."""
    return str(parse_symbol(symbol))


def same_allele(a: str, b: str) -> bool:
    """Whether two spellings name the same allele (False when either cannot be parsed)."""
    try:
        return canonical_symbol(a) == canonical_symbol(b)
    except SymbolError:
        return False


def allele_label(value: AlleleSymbol | str, serial: int = 1) -> str:
    """The animal genotype label ("tm1b", "tm1.1", "em1") of a symbol, a label or a class suffix."""
    if isinstance(value, AlleleSymbol):
        return value.allele_class
    text = value.strip()
    if "<" in text or text.startswith("Tg("):
        return parse_symbol(text).allele_class
    m = re.fullmatch(r"(tm|em)(\d+)(.*)", text)
    if m and m.group(3) in CLASSES:
        return text
    if text in CLASSES:
        return f"tm{serial}{text}"
    if text == "em":
        return f"em{serial}"
    raise ValueError(
        f"Unknown allele class {value!r}: use e.g. tm1a, tm1b, tm1c, tm1d, tm1e.1, tm1.1, em1 or a symbol."
    )
