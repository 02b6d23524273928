"""NEXUS: a TAXA block, a TRANSLATE table and one tree with FigTree-style feature comments; read without Biopython.

Written as FigTree, BEAST and MrBayes write it: taxa are listed once and the
tree refers to them by number (``TRANSLATE``), which keeps big trees small and
lets Biopython's NEXUS reader take any label; each clade's ``features`` go in
a ``[&key="value",...]`` comment (FigTree shows them; DendroPy reads them as
annotations). Labels holding NEXUS punctuation or white space are quoted (an
unquoted ``_`` is a space in NEXUS too).

Reading scans the file for its TREES block (quotes and nested comments
respected), applies ``TRANSLATE`` and hands each tree statement to the
package's Newick reader: no recursion, and the same strict checks.
"""

from __future__ import annotations

import re

from Bio.Phylo.BaseTree import Tree

from ..errors import PhyloLLMError
from ..tree import iter_leaves
from ._newick import newick_label, parse_one, read_comment, to_newick

# NEXUS punctuation ()[]{}/\,;:=*'"`+-<> and white space need quotes; "_" would be read as a space.
_NEXUS_PLAIN = re.compile(r"[A-Za-z0-9.!#$%&?@^|~]+")
_SPACE = re.compile(r"\s*")
_QUOTED = re.compile(r"'((?:[^']|'')*)'")
# A word of a NEXUS command: a quoted token, or a run of anything but white space and , ; [ '.
_WORD = re.compile(r"\s*(?:'((?:[^']|'')*)'|([^\s,;\['\]]+)|(,))")


def nexus_label(name: str) -> str:
    """A taxon label as a NEXUS token.

    Examples
    --------
    >>> nexus_label("Qwen/Qwen2.5-7B"), nexus_label("gpt2")
    ("'Qwen/Qwen2.5-7B'", 'gpt2')
    """
    return newick_label(name, _NEXUS_PLAIN)


def dumps(tree: Tree) -> str:
    """A NEXUS file: TAXA block, TRANSLATE table, one tree (``[&R]``/``[&U]`` by ``tree.rooted``), features as comments.

    Examples
    --------
    >>> from Bio.Phylo.BaseTree import Clade, Tree
    >>> tree = Tree(Clade(clades=[Clade(name="a_b", branch_length=1.0), Clade(name="c", branch_length=2.0)]))
    >>> print(dumps(tree))  # doctest: +NORMALIZE_WHITESPACE
    #NEXUS
    BEGIN TAXA;
      DIMENSIONS NTAX=2;
      TAXLABELS 'a_b' c;
    END;
    BEGIN TREES;
      TRANSLATE
        1 'a_b',
        2 c
      ;
      TREE tree1 = [&R] (1:1.0,2:2.0);
    END;
    """
    names = [str(leaf.name) for leaf in iter_leaves(tree)]
    tokens = {name: str(i + 1) for i, name in enumerate(names)}
    labels = [nexus_label(name) for name in names]
    translate = ",\n".join(f"    {i + 1} {label}" for i, label in enumerate(labels))
    flag = "[&R]" if tree.rooted else "[&U]"
    return (
        "#NEXUS\nBEGIN TAXA;\n"
        f"  DIMENSIONS NTAX={len(names)};\n  TAXLABELS {' '.join(labels)};\nEND;\n"
        f"BEGIN TREES;\n  TRANSLATE\n{translate}\n  ;\n"
        f"  TREE tree1 = {flag} {to_newick(tree, features=True, comments='figtree', labels=tokens, quote=nexus_label)}\nEND;\n"
    )


def parse(text: str, source: str = "<string>") -> list[Tree]:
    """Every tree of the TREES blocks of a NEXUS file (``TRANSLATE`` applied; features from comments).

    Examples
    --------
    >>> [tree] = parse(dumps(parse("#NEXUS\\nbegin trees; tree t = [&U] ('a_b':1,c:2,d:3);\\nend;")[0]))
    >>> [leaf.name for leaf in tree.get_terminals()], tree.rooted
    (['a_b', 'c', 'd'], False)
    """
    text = text.removeprefix("\ufeff")
    if not text.lstrip().upper().startswith("#NEXUS"):
        raise PhyloLLMError(f"{source}: not a NEXUS file (no #NEXUS header)")
    trees: list[Tree] = []
    in_trees = False
    translate: dict[str, str] = {}
    for start, end in _commands(text, source):
        command = text[start:end]
        keyword = command.split(None, 1)[0].upper() if command.strip() else ""
        if keyword == "BEGIN":
            in_trees = command.split()[1].upper() == "TREES" if len(command.split()) > 1 else False
            translate = {}
        elif keyword in ("END", "ENDBLOCK"):
            in_trees = False
        elif in_trees and keyword == "TRANSLATE":
            translate = _translate(command, start, source)
        elif in_trees and keyword in ("TREE", "UTREE"):
            trees.append(_tree(text, start, end, keyword, translate, source))
    return trees


def _commands(text: str, source: str):
    """(start, end) of every ``;``-terminated command after the header; quotes and comments skipped over."""
    special = re.compile(r"[;'\[]")
    pos = text.upper().index("#NEXUS") + len("#NEXUS")
    start = pos
    while True:
        found = special.search(text, pos)
        if found is None:
            return
        char = found.group()
        if char == ";":
            yield start, found.start()
            pos = start = found.end()
        elif char == "'":
            pos = _end_of_quote(text, found.start(), source)
        else:
            pos = read_comment(text, found.start(), source)[1]


def _end_of_quote(text: str, pos: int, source: str) -> int:
    match = _QUOTED.match(text, pos)
    if match is None:
        raise PhyloLLMError(f"{source}: unclosed quote at character {pos + 1}")
    return match.end()


def _translate(command: str, offset: int, source: str) -> dict[str, str]:
    words: list[str | None] = []
    pos = command.upper().index("TRANSLATE") + len("TRANSLATE")
    while True:
        while True:  # skip comments
            space = _SPACE.match(command, pos)  # always matches (maybe nothing)
            stripped = space.end() if space else pos
            if stripped < len(command) and command[stripped] == "[":
                pos = read_comment(command, stripped, source)[1]
            else:
                break
        match = _WORD.match(command, pos)
        if match is None:
            if command[pos:].strip():
                raise PhyloLLMError(f"{source}: unreadable TRANSLATE entry {command[pos:].strip()[:30]!r}")
            break
        pos = match.end()
        quoted, word, comma = match.groups()
        words.append(None if comma else (quoted.replace("''", "'") if quoted is not None else word))
    table: dict[str, str] = {}
    entry: list[str] = []
    for word in [*words, None]:
        if word is not None:
            entry.append(word)
            continue
        if len(entry) != 2:
            raise PhyloLLMError(f"{source}: TRANSLATE entry {' '.join(entry)!r} is not 'token label'")
        if entry[0] in table:
            raise PhyloLLMError(f"{source}: TRANSLATE token {entry[0]!r} given twice")
        table[entry[0]] = entry[1]
        entry = []
    return table


def _tree(text: str, start: int, end: int, keyword: str, translate: dict, source: str) -> Tree:
    equals = text.find("=", start, end)
    if equals < 0:
        raise PhyloLLMError(f"{source}: TREE statement without '=' ({text[start:end].strip()[:40]!r})")
    statement = text[: end] + ";"  # the Newick reader stops at this ';'
    pos = equals + 1
    rooted = None if keyword == "TREE" else False
    while True:
        while pos < end and text[pos].isspace():
            pos += 1
        if pos < end and text[pos] == "[":
            body, pos = read_comment(text, pos, source)
            if body.strip().upper() in ("&R", "&U"):
                rooted = body.strip().upper() == "&R"
        else:
            break
    tree, _ = parse_one(statement, pos, source, rooted=rooted, translate=translate)
    return tree
