"""Newick and NHX: one strict, iterative reader and writer (NEXUS tree statements use them too).

Labels are written so that every reader agrees on them: a label is quoted
(single quotes, an inner quote doubled, as the Newick standard says) unless it
is made only of ASCII letters, digits and ``.-/+``; an unquoted ``_`` would be
read as a space by standard readers (DendroPy, scikit-bio), so labels holding
one are quoted. The reader follows the standard except that an unquoted ``_``
stays an ``_`` (as Biopython and ete3 read it: files written by other tools and
by older versions of this package keep their ids).

Per-clade ``features`` (see :mod:`phylo_llm.tree._features`) are written as NHX
comments ``[&&NHX:key=value:...]`` or, in NEXUS, as FigTree/BEAST comments
``[&key="value",...]``; characters that those comments cannot hold are
percent-encoded (:func:`encode_feature`) and decoded when read back.

The reader is strict where Biopython's is lenient: every character must belong
to a token, so ``a:nan`` or ``a:1.5x`` is an error naming the leaf, not a leaf
renamed ``nan``; branch lengths must be finite numbers. It reads a byte-order
mark, comments before the tree (``[&R]`` and ``[&U]`` set ``rooted``), FigTree
and NHX comments anywhere in a node, and ``label:support:length``. It keeps no
recursion, so trees of any depth are read and written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from urllib.parse import unquote

from Bio.Phylo.BaseTree import Clade, Tree
from Bio.Phylo.Newick import Clade as NewickClade
from Bio.Phylo.Newick import Tree as NewickTree

from ..errors import PhyloLLMError
from ..tree._features import features_of, set_features

# Labels left unquoted: letters, digits and a few characters no Newick or NEXUS-tree reader treats specially.
_PLAIN_LABEL = re.compile(r"[A-Za-z0-9.\-/+]+")
# Characters NHX and FigTree comments cannot hold (ete3 splits on , ( ) : = and takes ' " as quotes
# anywhere; Biopython ends a comment at ] and escapes with \), percent-encoded; % itself too.
_FEATURE_UNSAFE = re.compile(r"[%\[\](){}:;,=&'\"\\\x00-\x1f\x7f]")

# One token of Newick text, after optional white space. Comments are scanned separately (they nest).
# A label may also be double-quoted, as ete3 writes them (no escapes inside).
_TOKEN = re.compile(r"""\s*(?:([(),:;\[])|'((?:[^']|'')*)'|"([^"]*)"|([^\s()\[\]':;,]+))""")
_UNCLOSED_QUOTE = re.compile(r"\s*'")
_SPACE = re.compile(r"\s*")


def format_length(value: float) -> str:
    """Shortest text that reads back to exactly the same float.

    Examples
    --------
    >>> format_length(0.1)
    '0.1'
    """
    return repr(float(value))


def needs_quotes(name: str, plain: re.Pattern = _PLAIN_LABEL) -> bool:
    """True unless ``name`` is made only of characters every reader takes unquoted (and is not a number).

    A label that reads as a number is quoted too: an unquoted number on an
    internal node is a support value.

    Examples
    --------
    >>> needs_quotes("Qwen/Qwen2.5-7B"), needs_quotes("EleutherAI/llemma_34b"), needs_quotes("0.5")
    (False, True, True)
    """
    if not plain.fullmatch(name):
        return True
    try:
        float(name)
    except ValueError:
        return False
    return True


def newick_label(name: str, plain: re.Pattern = _PLAIN_LABEL) -> str:
    """A label as Newick (and NEXUS) text: single-quoted, inner quotes doubled, when :func:`needs_quotes`.

    Examples
    --------
    >>> newick_label("it's mine"), newick_label("EleutherAI/llemma_34b"), newick_label("Qwen/Qwen2.5-7B")
    ("'it''s mine'", "'EleutherAI/llemma_34b'", 'Qwen/Qwen2.5-7B')
    """
    if not needs_quotes(name, plain):
        return name
    if "\r" in name:  # no escape exists, and every text reader (ours too) reads it as a line break: another id
        raise PhyloLLMError(f"label {name!r} holds a carriage return, which Newick and NEXUS readers take for a line break")
    return "'" + name.replace("'", "''") + "'"


def encode_feature(value) -> str:
    """A feature key or value as NHX/FigTree comment text: unsafe characters percent-encoded (UTF-8).

    ``urllib.parse.unquote`` (or :func:`decode_feature`) gives the text back.

    Examples
    --------
    >>> encode_feature("(random weights)")
    '%28random weights%29'
    >>> decode_feature(encode_feature("a:b=c, 50%"))
    'a:b=c, 50%'
    """
    return _FEATURE_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), str(value))


def decode_feature(text: str) -> str:
    """The text :func:`encode_feature` encoded (percent escapes decoded)."""
    return unquote(text) if "%" in text else text


def to_newick(
    tree: Tree | Clade, features: bool = False, *, comments: str = "nhx", labels: dict | None = None, quote: Callable[[str], str] = newick_label
) -> str:
    """Newick text of a tree, one line ending in ``;``.

    Leaf labels are the clade names; an internal node carries its name, or
    else its ``confidence`` (branch support); branch lengths are written when
    set, with full float precision. With ``features``, each clade's
    ``features`` dict is written as a comment: ``comments="nhx"``
    (``[&&NHX:k=v:...]`` after the length) or ``"figtree"`` (``[&k="v",...]``
    before it, as FigTree and BEAST write them). ``labels`` maps leaf names to
    the tokens to write (a NEXUS translation table); ``quote`` writes the
    other labels (default :func:`newick_label`).

    Examples
    --------
    >>> from Bio.Phylo.BaseTree import Clade, Tree
    >>> tree = Tree(Clade(clades=[Clade(name="a", branch_length=1.0), Clade(name="b_c", branch_length=0.5)]))
    >>> to_newick(tree)
    "(a:1.0,'b_c':0.5);"
    """
    root = tree.root if isinstance(tree, Tree) else tree
    out: list[str] = []
    # Each stack entry: (clade, index of the next child to emit).
    stack: list[tuple[Clade, int]] = [(root, 0)]
    while stack:
        clade, child = stack.pop()
        if clade.clades and child == 0:
            out.append("(")
        if child < len(clade.clades):
            if child > 0:
                out.append(",")
            stack.append((clade, child + 1))
            stack.append((clade.clades[child], 0))
            continue
        if clade.clades:
            out.append(")")
        out.append(_node_suffix(clade, features and comments, labels, quote))
    out.append(";")
    return "".join(out)


def _node_suffix(clade: Clade, comments, labels: dict | None, quote) -> str:
    text = ""
    if clade.name:
        name = str(clade.name)
        text = labels[name] if labels is not None and not clade.clades else quote(name)
    elif clade.clades and clade.confidence is not None:
        text = _format_support(clade.confidence)
    features = features_of(clade) if comments else {}
    if features and comments == "figtree":
        text += "[&" + ",".join(f'{encode_feature(k)}="{encode_feature(v)}"' for k, v in features.items()) + "]"
    if clade.branch_length is not None:
        text += ":" + format_length(clade.branch_length)
    if features and comments == "nhx":
        text += "[&&NHX:" + ":".join(f"{encode_feature(k)}={encode_feature(v)}" for k, v in features.items()) + "]"
    return text


def _format_support(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else format_length(value)


def dumps(tree: Tree, features: bool = False) -> str:
    """The file's text: one Newick line (``features``: NHX comments)."""
    return to_newick(tree, features=features) + "\n"


def parse(text: str, source: str = "<string>") -> list[Tree]:
    """Every tree in Newick/NHX text, strictly (see the module notes); errors name ``source`` and the culprit.

    Examples
    --------
    >>> [tree] = parse("[&R] ('a_b':1,(c:2,d:3)0.9:1[&&NHX:family=T5]);")
    >>> tree.rooted, [leaf.name for leaf in tree.get_terminals()]
    (True, ['a_b', 'c', 'd'])
    >>> inner = tree.root.clades[1]
    >>> inner.confidence, inner.features
    (0.9, {'family': 'T5'})
    """
    text = text.removeprefix("\ufeff")
    trees = []
    pos = 0
    while True:
        rooted, pos = _leading_comments(text, pos, source)
        if pos >= len(text):
            break
        tree, pos = parse_one(text, pos, source, rooted=rooted)
        trees.append(tree)
    return trees


def _leading_comments(text: str, pos: int, source: str) -> tuple[bool | None, int]:
    """Skip white space and comments before a tree; ``[&R]``/``[&U]`` say whether it is rooted."""
    rooted = None
    while True:
        blank = _SPACE.match(text, pos)  # a regex, not a loop per character: files may end in MBs of blanks
        pos = blank.end() if blank else pos
        if pos >= len(text) or text[pos] != "[":
            return rooted, pos
        body, pos = read_comment(text, pos, source)
        flag = body.strip().upper()
        if flag in ("&R", "&U"):
            rooted = flag == "&R"


def read_comment(text: str, pos: int, source: str) -> tuple[str, int]:
    """The body of the comment opening at ``text[pos] == "["`` (comments nest), and the position after it."""
    depth, start = 0, pos
    brackets = re.compile(r"[\[\]]")
    while True:
        found = brackets.search(text, pos)
        if found is None:
            raise PhyloLLMError(f"{source}: unclosed comment '[' at character {start + 1}")
        depth += 1 if found.group() == "[" else -1
        pos = found.end()
        if depth == 0:
            return text[start + 1 : pos - 1], pos


def parse_one(text: str, pos: int, source: str, rooted: bool | None = None, translate: dict | None = None) -> tuple[Tree, int]:
    """One tree starting at ``pos`` (ending with ``;`` or the text), and the position after it.

    ``translate`` maps leaf tokens to names (NEXUS); a token it lacks is the name itself.
    """
    root = NewickClade()
    node: NewickClade = root
    parents: list[NewickClade] = []
    state = _NodeState(translate)
    while True:
        match = _TOKEN.match(text, pos)
        if match is None:
            rest = text[pos:].strip()
            if not rest:
                if parents:
                    raise PhyloLLMError(f"{source}: unbalanced parentheses: {len(parents)} '(' not closed")
                state.finish(node, source, translate)
                break
            if _UNCLOSED_QUOTE.match(text, pos):
                raise PhyloLLMError(f"{source}: unclosed quote at character {pos + 1 + text[pos:].index(chr(39))}")
            raise PhyloLLMError(f"{source}: unexpected {rest[:20]!r} at character {len(text) - len(text[pos:].lstrip()) + 1}")
        pos = match.end()
        punct, quoted, double, word = match.groups()
        if double is not None:
            quoted = double.replace("'", "''")  # one form for both quotes: '' stands for '
        elif quoted is None and word is not None and word.startswith('"'):
            raise PhyloLLMError(f"{source}: unclosed double quote at character {match.start(4) + 1}")
        if punct == "[":
            body, pos = read_comment(text, match.end() - 1, source)
            state.comment(body, node, source)
        elif punct == "(":
            if state.started or node.clades:
                raise PhyloLLMError(f"{source}: unexpected '(' after {state.describe(node)} at character {pos}")
            child = NewickClade()
            node.clades.append(child)
            parents.append(node)
            node = child
        elif punct == ",":
            if not parents:
                raise PhyloLLMError(f"{source}: ',' outside parentheses at character {pos}")
            state.finish(node, source, translate)
            state = _NodeState(translate)
            node = NewickClade()
            parents[-1].clades.append(node)
        elif punct == ")":
            if not parents:
                raise PhyloLLMError(f"{source}: unbalanced parentheses: ')' at character {pos} closes nothing")
            state.finish(node, source, translate)
            state = _NodeState(translate)
            node = parents.pop()
        elif punct == ";":
            if parents:
                raise PhyloLLMError(f"{source}: unbalanced parentheses: {len(parents)} '(' not closed")
            state.finish(node, source, translate)
            break
        elif punct == ":":
            state.colon(node, source, pos)
        else:
            state.token(node, quoted, word, source, pos)
    tree = NewickTree(root=root, rooted=bool(rooted))
    return tree, pos


class _NodeState:
    """What has been read of the current node: its label, lengths and comments."""

    __slots__ = ("comments", "features", "label", "lengths", "quoted", "translate", "want_length")

    def __init__(self, translate: dict | None = None):
        self.translate = translate or {}
        self.label: str | None = None
        self.quoted = False
        self.lengths: list[str] = []
        self.want_length = False
        self.features: dict = {}
        self.comments: list[str] = []

    @property
    def started(self) -> bool:
        return self.label is not None or bool(self.lengths) or self.want_length

    def describe(self, node) -> str:
        if self.label is not None and not node.clades:
            return f"leaf {self.translate.get(self.label, self.label)!r}"
        if self.label is not None:
            return f"the clade labelled {self.label!r}"
        return describe_clade(node)

    def token(self, node, quoted, word, source, pos):
        if self.want_length:
            if quoted is not None:
                raise PhyloLLMError(f"{source}: branch length of {self.describe(node)} is a quoted text '{quoted}'")
            self.lengths.append(word)
            self.want_length = False
            return
        if self.label is not None or self.lengths:
            found = quoted.replace("''", "'") if quoted is not None else word
            raise PhyloLLMError(f"{source}: unexpected {found!r} after {self.describe(node)} at character {pos}")
        self.quoted = quoted is not None
        self.label = quoted.replace("''", "'") if quoted is not None else word

    def colon(self, node, source, pos):
        if self.want_length:
            raise PhyloLLMError(f"{source}: missing branch length of {self.describe(node)} at character {pos}")
        self.want_length = True

    def comment(self, body, node, source):
        if body.startswith("&&NHX"):
            self.features.update(_nhx_features(body, source))
        elif body.startswith("&") and "=" in body:
            self.features.update(figtree_features(body[1:]))
        else:
            self.comments.append(body)

    def finish(self, node, source, translate):
        if self.want_length:
            raise PhyloLLMError(f"{source}: missing branch length of {self.describe(node)}")
        if self.label is not None:
            if node.clades:
                support = None if self.quoted else _finite(self.label)
                if support is None:
                    node.name = self.label
                else:
                    node.confidence = support
            else:
                node.name = translate.get(self.label, self.label) if translate else self.label
        if self.lengths:
            values = []
            for text in self.lengths:
                value = _finite(text)
                if value is None:
                    raise PhyloLLMError(f"{source}: branch length {text!r} of {describe_clade(node)} is not a finite number")
                values.append(value)
            node.branch_length = values[-1]
            if len(values) > 1 and node.clades and node.confidence is None:
                node.confidence = values[-2]  # label:support:length
        if self.features:
            set_features(node, self.features)
        if self.comments:
            node.comment = " ".join(self.comments)


def _finite(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def describe_clade(node) -> str:
    """How an error names a node: the leaf, or the first leaf below an internal node."""
    if node.clades:
        first = node
        while first.clades:
            first = first.clades[0]
        return f"the clade above {first.name!r}" if first.name else "an internal node"
    return f"leaf {node.name!r}" if node.name else "an unnamed leaf"


def _nhx_features(body: str, source: str) -> dict:
    features = {}
    for field in body[len("&&NHX") :].split(":"):
        if not field:
            continue
        key, sep, value = field.partition("=")
        if not sep:
            raise PhyloLLMError(f"{source}: NHX field {field[:40]!r} is not key=value")
        features[decode_feature(key)] = decode_feature(value)
    return features


_FIGTREE_FIELD = re.compile(r'\s*([^=,\s]+)\s*=\s*("[^"]*"|\{[^}]*\}|[^,]*)\s*(?:,|$)')


def figtree_features(body: str) -> dict:
    """``key=value`` pairs of a FigTree/BEAST comment body (after the ``&``): quotes dropped, sets kept as text.

    Examples
    --------
    >>> figtree_features('country="USA",rate=0.5,hpd={0.1,0.2}')
    {'country': 'USA', 'rate': '0.5', 'hpd': '{0.1,0.2}'}
    """
    features = {}
    for match in _FIGTREE_FIELD.finditer(body):
        key, value = match.groups()
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1]
        features[decode_feature(key.lstrip("!"))] = decode_feature(value.strip())
    return features
