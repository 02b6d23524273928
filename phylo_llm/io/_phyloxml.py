"""PhyloXML: written and read without recursion; features as ``property`` elements.

Each clade's ``features`` become ``<property ref="phylo_llm:KEY" datatype=...
applies_to="clade">`` elements (the schema's place for custom data; Archaeopteryx
shows them, Biopython reads them as ``clade.properties``), read back into
``features``. A clade ``<name>`` is an ``xs:token`` in the PhyloXML schema, so
readers collapse its white space (Biopython does): a name that collapsing would
change (tabs, runs of spaces, leading or trailing blanks) is also written
exactly as ``<property ref="phylo_llm:id">``, from which this reader takes it.

Biopython's PhyloXML reader and writer recurse once per tree level; these do
not, so trees of any depth are fine. Documents with a DOCTYPE are refused (no
entity tricks).
"""

from __future__ import annotations

import io
import math
import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from Bio.Phylo.BaseTree import Clade, Tree

from ..errors import PhyloLLMError
from ..tree._features import features_of, set_features
from ._newick import format_length

NAMESPACE = "http://www.phyloxml.org"
PREFIX = "phylo_llm"
_REF_NAME = re.compile(r"[A-Za-z0-9_]+")
_DATATYPES = {bool: "xsd:boolean", int: "xsd:integer", float: "xsd:double"}
# Characters XML 1.0 cannot hold at all, and the ones a parser would normalise (CR) unless escaped.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def collapse(text: str) -> str:
    """``text`` as an ``xs:token``: white space runs made one space, ends stripped.

    Examples
    --------
    >>> collapse(" a \\t b ")
    'a b'
    """
    return " ".join(text.split())


def dumps(tree: Tree) -> str:
    """The PhyloXML document of one tree.

    Examples
    --------
    >>> from Bio.Phylo.BaseTree import Clade, Tree
    >>> leaf = Clade(name="a  b", branch_length=0.5)
    >>> leaf.features = {"family": "T5"}
    >>> text = dumps(Tree(Clade(clades=[leaf, Clade(name="c", branch_length=1.0)]), rooted=True))
    >>> [tree] = parse(text)
    >>> [(c.name, c.branch_length, getattr(c, "features", None)) for c in tree.get_terminals()]
    [('a  b', 0.5, {'family': 'T5'}), ('c', 1.0, None)]
    """
    out = io.StringIO()
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(
        f'<phyloxml xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="{NAMESPACE}" '
        f'xsi:schemaLocation="{NAMESPACE} http://www.phyloxml.org/1.10/phyloxml.xsd">\n'
    )
    out.write(f'  <phylogeny rooted="{"true" if tree.rooted else "false"}">\n')
    if tree.name:
        out.write(f"    <name>{_text(str(tree.name))}</name>\n")
    stack: list[tuple[Clade, int]] = [(tree.root, 2)]
    while stack:
        clade, depth = stack.pop()
        if clade is None:  # the closing tag of a clade whose children are done
            out.write("  " * depth + "</clade>\n")
            continue
        pad = "  " * (depth + 1)
        out.write("  " * depth + "<clade>\n")
        _write_clade_data(out, clade, pad)
        stack.append((None, depth))  # type: ignore[arg-type]
        stack.extend((child, depth + 1) for child in reversed(clade.clades))
    out.write("  </phylogeny>\n</phyloxml>\n")
    return out.getvalue()


def _write_clade_data(out, clade: Clade, pad: str) -> None:
    # Schema order: name, branch_length, confidence, ..., property, clade.
    name = None if clade.name is None else str(clade.name)
    if name:
        out.write(f"{pad}<name>{_text(name)}</name>\n")
    if clade.branch_length is not None:
        out.write(f"{pad}<branch_length>{format_length(clade.branch_length)}</branch_length>\n")
    if clade.confidence is not None and clade.clades:
        out.write(f'{pad}<confidence type="support">{format_length(clade.confidence)}</confidence>\n')
    properties = features_of(clade)
    if name and collapse(name) != name:
        properties = {"id": name, **properties}
    for key, value in properties.items():
        if not _REF_NAME.fullmatch(str(key)):
            raise PhyloLLMError(f"feature {key!r} cannot be a PhyloXML property (letters, digits and _ only); write NHX or NEXUS")
        datatype = _DATATYPES.get(type(value), "xsd:string")
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        out.write(
            f'{pad}<property ref="{PREFIX}:{key}" datatype="{datatype}" applies_to="clade">{_text(shown)}</property>\n'
        )


def _text(value: str) -> str:
    """Element text: XML-escaped; CR and tab as character references (kept exactly by parsers)."""
    bad = _XML_FORBIDDEN.search(value)
    if bad:
        raise PhyloLLMError(f"text {value[:40]!r} holds the control character {bad.group()!r}, which XML cannot hold")
    return escape(value, {"\r": "&#13;", "\t": "&#9;"})


def parse(text: str, source: str = "<string>") -> list[Tree]:
    """Every tree of a PhyloXML document (names, lengths, confidences, properties as features).

    Examples
    --------
    >>> [tree] = parse('<phyloxml xmlns="http://www.phyloxml.org"><phylogeny rooted="true">'
    ...                '<clade><clade><name>a</name><branch_length>1.5</branch_length></clade>'
    ...                '<clade branch_length="2"><name>b</name></clade></clade></phylogeny></phyloxml>')
    >>> [(c.name, c.branch_length) for c in tree.get_terminals()], tree.rooted
    ([('a', 1.5), ('b', 2.0)], True)
    """
    text = text.removeprefix("\ufeff")
    if re.search(r"<!DOCTYPE|<!ENTITY", text, re.IGNORECASE):
        raise PhyloLLMError(f"{source}: PhyloXML with a DOCTYPE or ENTITY declaration is refused")
    trees: list[Tree] = []
    stack: list[Clade] = []
    tree: Tree | None = None
    has_root = False
    path: list[str] = []
    try:
        for event, element in ET.iterparse(io.BytesIO(text.encode("utf-8")), events=("start", "end")):
            tag = element.tag.rsplit("}", 1)[-1]
            if event == "start":
                path.append(tag)
                if tag == "phylogeny":
                    tree = Tree(rooted=element.get("rooted", "false").strip().lower() in ("true", "1"))
                    has_root = False
                elif tag == "clade":
                    clade = Clade()
                    if element.get("branch_length") is not None:
                        clade.branch_length = _number(element.get("branch_length"), "branch length", stack, source)
                    if stack:
                        stack[-1].clades.append(clade)
                    elif tree is not None and not has_root:
                        tree.root, has_root = clade, True
                    else:
                        raise PhyloLLMError(f"{source}: a <clade> outside a <phylogeny>, or a second root clade")
                    stack.append(clade)
                continue
            path.pop()
            parent = path[-1] if path else None
            if tag == "clade":
                _finish(stack.pop())
            elif tag == "phylogeny" and tree is not None:
                if not has_root:
                    raise PhyloLLMError(f"{source}: a <phylogeny> without clades")
                trees.append(tree)
                tree = None
            elif parent == "clade" and stack:
                _clade_element(stack[-1], tag, element, stack, source)
            if tag in ("clade", "phylogeny"):
                element.clear()  # keep memory flat on big documents
    except ET.ParseError as exc:
        raise PhyloLLMError(f"{source}: not well-formed XML ({exc})") from None
    return trees


def _clade_element(clade: Clade, tag: str, element, stack, source: str) -> None:
    value = element.text or ""
    if tag == "name":
        clade.name = collapse(value) or None
    elif tag == "branch_length":
        clade.branch_length = _number(value, "branch length", stack, source)
    elif tag == "confidence" and clade.confidence is None:
        clade.confidence = _number(value, "confidence", stack, source)
    elif tag == "property":
        ref = element.get("ref", "")
        key = ref[len(PREFIX) + 1 :] if ref.startswith(PREFIX + ":") else ref
        if key:
            features = features_of(clade)
            features[key] = value
            set_features(clade, features)


def _finish(clade: Clade) -> None:
    """Take the exact id from its property (the ``<name>`` was collapsed)."""
    features = features_of(clade)
    if "id" in features and collapse(features["id"]) == (clade.name or ""):
        clade.name = features.pop("id")
        set_features(clade, features)


def _number(text: str, what: str, stack, source: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        where = f"leaf {stack[-1].name!r}" if stack and stack[-1].name else "a clade"
        raise PhyloLLMError(f"{source}: {what} {text.strip()[:30]!r} of {where} is not a finite number")
    return value

