"""What phylo-llm writes, the tools users pair it with read back: same names, lengths, supports and features.

Trees: every published id, and synthetic ids holding every ASCII punctuation
character, spaces, tabs and non-ASCII letters, written in every tree format
and read by Biopython, ete3 (as the README says: ``ete3.Tree(path, format=1,
quoted_node_names=True)``), DendroPy, scikit-bio and the package's own reader.
Distance matrices: PHYLIP ``neighbor`` (run for real) and scikit-bio. A tool
that is absent, or that has no reader for a format, is skipped with the
reason; the few labels a tool cannot read by its own bugs are listed in
:data:`CANNOT_READ` (and in the README) and checked to fail there, so the list
stays true.
"""

from __future__ import annotations

import re
import shutil
import string
import subprocess
import warnings
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest
from Bio import Phylo
from Bio.Phylo.BaseTree import Clade, Tree

import phylo_llm as pl
from tests.helpers import DEMO, run_cli, unrooted_rf

FORMATS = ("newick", "nhx", "nexus", "phyloxml")
SUFFIX = {"newick": "nwk", "nhx": "nhx", "nexus": "nex", "phyloxml": "xml"}

PUNCTUATION_IDS = [f"org/m{c}x" for c in string.punctuation]
SYNTHETIC_IDS = [
    *PUNCTUATION_IDS,
    "org/with space",
    "org/with\ttab",
    " leading space",
    "trailing space ",
    "two  spaces",
    "Ünïcødé/模型-7B",
    "0.5",
    "nan",
    "1e3",
    "all" + string.punctuation,
    "'starts with a quote",
    "ends with a backslash\\",
    "back\\'slash quote",
]
# A feature value with every character NHX and FigTree comments cannot hold as such.
HOSTILE_VALUE = "(random weights): a=b, c;[d]'e\"f\\g%h\ti {j}"

# Labels other tools cannot read, by their own bugs (the files follow the Newick/NEXUS standards: DendroPy,
# scikit-bio and the package read them). Documented in the README's "File formats" section.
CANNOT_READ = {
    # ete3 3.1.3 takes '' (the standard's quote inside a quoted label) as two labels, and a backslash as an escape.
    ("ete3", "newick"): lambda name: "'" in name or name.endswith("\\"),
    # Biopython's Newick tokenizer takes a backslash as an escape and a label's opening '' as an empty label.
    ("biopython", "newick"): lambda name: name.startswith("'") or "\\'" in name or name.endswith("\\"),
    # Biopython's NEXUS tokenizer collapses white space inside quoted labels.
    ("biopython", "nexus"): lambda name: "\t" in name or "  " in name,
    # Biopython strips PhyloXML property values, where the exact id of a name with white space is kept.
    ("biopython", "phyloxml"): lambda name: name != name.strip(),
}


def cannot_read(reader: str, fmt: str):
    return CANNOT_READ.get((reader, "newick" if fmt == "nhx" else fmt), lambda name: False)


def random_tree(ids, seed: int = 0) -> Tree:
    """A random binary tree over ``ids`` with random lengths, supports and hostile features (built here)."""
    rng = np.random.default_rng(seed)
    nodes = []
    for name in ids:
        leaf = Clade(name=name, branch_length=float(rng.exponential()))
        leaf.features = {"family": HOSTILE_VALUE, "organization": "Mistral AI", "params_b": "7.0"}
        nodes.append(leaf)
    while len(nodes) > 3:
        i, j = sorted(rng.choice(len(nodes), size=2, replace=False), reverse=True)
        a, b = nodes.pop(i), nodes.pop(j)
        inner = Clade(clades=[a, b], branch_length=float(rng.exponential()), confidence=float(rng.uniform()))
        inner.features = {"family": "Llama (3)"}
        nodes.append(inner)
    return Tree(root=Clade(clades=nodes), rooted=False)


def expected_view(tree: Tree) -> dict:
    """split -> (length, support, features) of every non-root node of ``tree``, and the leaf names."""
    return view(tree.root, lambda c: c.clades, lambda c: c.name if not c.clades else None,
                lambda c: c.branch_length, lambda c: c.confidence, lambda c: getattr(c, "features", {}) or {})


def view(root, children, name, length, support, features) -> dict:
    """The same summary, for any tool's tree, through accessor functions; iterative (no recursion)."""
    leaves_below: dict[int, frozenset] = {}
    out: dict = {}
    order, stack = [], [root]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(children(node))
    for node in reversed(order):
        kids = list(children(node))
        leaves_below[id(node)] = frozenset([name(node)]) if not kids else frozenset().union(*(leaves_below[id(k)] for k in kids))
        if node is not root:
            value = support(node) if kids else None
            out[leaves_below[id(node)]] = (length(node), None if value is None else float(value), dict(features(node)))
    return out


def compare(got: dict, want: dict, *, lengths=True, supports=True, features=None) -> None:
    """Same splits (hence same names), same lengths and supports exactly; features through ``features(value)``."""
    assert set(got) == set(want), sorted(map(sorted, set(got) ^ set(want)))[:3]
    for split, (length, support, feats) in want.items():
        g_length, g_support, g_feats = got[split]
        if lengths:
            assert g_length == length, (sorted(split)[:3], g_length, length)
        if supports and support is not None:
            assert g_support == support, (sorted(split)[:3], g_support, support)
        if features is not None:
            assert {k: features(v) for k, v in g_feats.items() if k in feats} == {k: str(v) for k, v in feats.items()}


# Readers: each returns the view of the tree in ``path`` as that tool reads it.


def read_ours(path, fmt):
    return expected_view(pl.read_tree(path))


def read_biopython(path, fmt):
    tree = Phylo.read(path, "newick" if fmt == "nhx" else fmt)

    def features(clade):  # PhyloXML properties (Biopython's reader); comments elsewhere are text
        return {p.ref.split(":", 1)[1]: p.value for p in getattr(clade, "properties", []) if p.ref != "phylo_llm:id"}

    def name(clade):
        # PhyloXML names are xs:token (Biopython collapses their white space, as the schema says):
        # the exact id of a name that collapsing changes is in the property phylo_llm:id.
        exact = [p.value for p in getattr(clade, "properties", []) if p.ref == "phylo_llm:id"]
        if exact:
            assert " ".join(exact[0].split()) == clade.name
            return exact[0]
        return clade.name if not clade.clades else None

    return view(tree.root, lambda c: c.clades, name, lambda c: c.branch_length, lambda c: c.confidence, features)


def read_dendropy(path, fmt):
    dendropy = pytest.importorskip("dendropy")
    if fmt == "phyloxml":
        pytest.skip("DendroPy has no PhyloXML reader")
    # DendroPy matches taxon labels regardless of case unless told: the published data holds
    # qwen/qwen3-14b (an API endpoint) beside Qwen/Qwen3-14B (the weights). The README says so.
    tree = dendropy.Tree.get(path=str(path), schema="newick" if fmt == "nhx" else fmt, case_sensitive_taxon_labels=True)
    return view(tree.seed_node, lambda n: n.child_nodes(), lambda n: n.taxon.label if n.taxon else None,
                lambda n: n.edge.length, lambda n: n.label, lambda n: {a.name: a.value for a in n.annotations})


def read_skbio(path, fmt):
    skbio = pytest.importorskip("skbio")
    if fmt not in ("newick", "nhx"):
        pytest.skip(f"scikit-bio has no {fmt} tree reader")
    tree = skbio.TreeNode.read(str(path), format="newick")
    return view(tree, lambda n: n.children, lambda n: n.name, lambda n: n.length, lambda n: n.name, lambda n: {})


def read_ete3(path, fmt):
    ete3 = pytest.importorskip("ete3")
    if fmt not in ("newick", "nhx"):
        pytest.skip(f"ete3 has no {fmt} reader in the README's instructions")
    tree = ete3.Tree(str(path), format=1, quoted_node_names=True)  # as the README documents
    standard = {"name", "dist", "support"}
    return view(tree, lambda n: n.children, lambda n: n.name, lambda n: n.dist, lambda n: n.name,
                lambda n: {k: getattr(n, k) for k in n.features - standard})


READERS = {"ours": read_ours, "biopython": read_biopython, "dendropy": read_dendropy, "scikit-bio": read_skbio, "ete3": read_ete3}


def check_round_trip(ids, reader, fmt, tmp_path):
    tree = random_tree([i for i in ids if not cannot_read(reader, fmt)(i)])
    path = tmp_path / f"tree.{SUFFIX[fmt]}"
    pl.write_tree(tree, path, fmt)
    want = expected_view(tree)
    got = READERS[reader](path, fmt)
    if reader == "biopython" and fmt == "nexus":
        # Biopython's NEXUS reader gives names as NEXUS tokens (quoted when they hold punctuation:
        # Bio.Nexus.Nexus.safename, its documented form), so that is what it must give.
        from Bio.Nexus.Nexus import safename

        want = {frozenset(map(safename, split)): value for split, value in want.items()}
    decode = {"ours": str, "biopython": str, "dendropy": unquote, "ete3": unquote}.get(reader)
    with_features = fmt != "newick" and (reader == "ours" or (reader, fmt) in {("ete3", "nhx"), ("dendropy", "nexus"), ("biopython", "phyloxml")})
    compare(got, want, features=decode if with_features else None)


NO_READER = {("dendropy", "phyloxml"), ("scikit-bio", "nexus"), ("scikit-bio", "phyloxml"), ("ete3", "nexus"), ("ete3", "phyloxml")}


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_synthetic_ids_round_trip(tmp_path, reader, fmt):
    if (reader, fmt) in NO_READER:
        READERS[reader](tmp_path / "none", fmt)  # skips with the reason
    check_round_trip(SYNTHETIC_IDS, reader, fmt, tmp_path)


@pytest.fixture(scope="module")
def published_ids(shared) -> list[str]:
    ids: set[str] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ("squad_cqa_hs_wg_arc_mmlu", "rand"):
            ids |= set(pl.load_dna(shared / "llm-dna-web" / "dna-out" / name, allow_mixed=True).ids)
    assert len(ids) > 1700 and any("_" in i for i in ids)
    return sorted(ids)


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_published_ids_round_trip(tmp_path, published_ids, reader, fmt):
    if (reader, fmt) in NO_READER:
        READERS[reader](tmp_path / "none", fmt)
    assert not any(map(cannot_read(reader, fmt), published_ids))  # no published id is out of any tool's reach
    check_round_trip(published_ids, reader, fmt, tmp_path)


@pytest.mark.parametrize("reader", ["dendropy", "scikit-bio", "ours"])
def test_labels_other_tools_misread_follow_the_standard(tmp_path, reader):
    hard = [i for i in SYNTHETIC_IDS if any(limited(i) for limited in CANNOT_READ.values())]
    assert all(i in SYNTHETIC_IDS for i in hard)
    assert len(hard) >= 4
    for fmt in ("newick", "nhx"):
        check_round_trip(hard + ["a", "b", "c"], reader, fmt, tmp_path)


def test_the_listed_limits_of_ete3_and_biopython_are_real(tmp_path):
    ete3 = pytest.importorskip("ete3")
    for (reader, fmt), limited in CANNOT_READ.items():
        for name in filter(limited, SYNTHETIC_IDS):
            path = tmp_path / f"one.{SUFFIX[fmt]}"
            # Quoted labels after it, as in any real file (the tools' escapes run on to the next quote).
            leaves = [Clade(name=name, branch_length=1.0), Clade(name="b_1", branch_length=1.0), Clade(name="c_2")]
            pl.write_tree(Tree(Clade(clades=leaves)), path, fmt)
            try:
                if reader == "ete3":
                    names = [leaf.name for leaf in ete3.Tree(str(path), format=1, quoted_node_names=True)]
                else:
                    names = [leaf.name for leaf in Phylo.read(path, fmt).get_terminals()]
            except Exception:
                continue
            if fmt == "nexus":
                from Bio.Nexus.Nexus import safename

                name = safename(name)
            if fmt == "phyloxml":
                names = [p.value for leaf in Phylo.read(path, fmt).get_terminals() for p in leaf.properties]
            assert name not in names, f"{reader} now reads {name!r} in {fmt}: update CANNOT_READ and the README"


# Files from Biopython's own tests (Tests/Nexus/ByteOrderMarkFile.nwk and attr_rich_val.nwk), read as DendroPy reads them.
BOM_FILE = "\ufeff(中,(国,话));\n"
RICH_FILE = (
    '[&R] (A:0.11[&country="USA"],(B:0.23[&country="USA"],(C:0.16[&country="Canada"],'
    'D:0.14[&country="Canada"])E:98:0.46[&country="Canada"])F:99:0.38[&country="USA"]);\n'
)


@pytest.mark.parametrize("text", [BOM_FILE, RICH_FILE], ids=["byte-order-mark", "rooting-comment-and-figtree-attributes"])
def test_biopython_test_files_read_as_dendropy_reads_them(tmp_path, text):
    dendropy = pytest.importorskip("dendropy")
    path = tmp_path / "t.nwk"
    path.write_text(text, encoding="utf-8")
    reference = dendropy.Tree.get(data=text.removeprefix("\ufeff"), schema="newick")
    want = view(reference.seed_node, lambda n: n.child_nodes(), lambda n: n.taxon.label if n.taxon else None,
                lambda n: n.edge.length, lambda n: None, lambda n: {a.name: a.value for a in n.annotations})
    tree = pl.read_tree(path)
    compare(expected_view(tree), want, supports=False, features=str)
    assert tree.rooted == bool(reference.is_rooted)  # DendroPy: None when the file does not say


LENGTHS = ["nan", "inf", "-inf", "1.5x", "", "NaN"]


@pytest.mark.parametrize("bad", LENGTHS)
@pytest.mark.parametrize("fmt", ["newick", "nexus", "phyloxml"])
def test_branch_lengths_that_are_not_finite_numbers_are_refused_naming_the_leaf(tmp_path, fmt, bad):
    path = tmp_path / f"t.{SUFFIX[fmt]}"
    pl.write_tree(Tree(Clade(clades=[Clade(name="org/a", branch_length=1.0), Clade(name="org/b_1", branch_length=1.0),
                                     Clade(name="org/c", branch_length=1.0)])), path, fmt)
    text = path.read_text()
    if fmt == "phyloxml":
        text = re.sub(r"(org/b_1</name>\s*<branch_length>)1.0<", lambda m: f"{m.group(1)}{bad}<", text)
    elif fmt == "nexus":
        text = text.replace("2:1.0", f"2:{bad}")
    else:
        text = text.replace("'org/b_1':1.0", f"'org/b_1':{bad}")
    path.write_text(text)
    with pytest.raises(pl.PhyloLLMError, match=r"(branch length .* of leaf 'org/b_1' is not a finite number|missing branch length of leaf 'org/b_1')"):
        pl.read_tree(path)
    result = run_cli("annotate", path, "-o", tmp_path / "out.nhx", "--lineage", DEMO, "-q")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1 and "org/b_1" in result.stderr
    assert not (tmp_path / "out.nhx").exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_duplicate_leaf_names_are_refused(tmp_path, fmt):
    path = tmp_path / f"t.{SUFFIX[fmt]}"
    leaves = [Clade(name=n, branch_length=1.0) for n in ("org/a", "org/b", "org/a")]
    if fmt == "nexus":  # TRANSLATE lists taxa once: a file naming one taxon twice has two tokens for it
        path.write_text("#NEXUS\nBEGIN TREES;\n TRANSLATE 1 'org/a', 2 'org/b', 3 'org/a';\n TREE t = (1:1,2:1,3:1);\nEND;\n")
    else:
        pl.write_tree(Tree(Clade(clades=leaves)), path, fmt)
    with pytest.raises(pl.PhyloLLMError, match=r"duplicate model id 'org/a' \(leaves 1 and 3\)"):
        pl.read_tree(path)


@pytest.mark.parametrize("fmt", FORMATS)
def test_deep_trees_in_every_format(tmp_path, fmt):
    node = Clade(clades=[Clade(name="leaf-0", branch_length=0.5), Clade(name="leaf-1", branch_length=1 / 3)])
    for i in range(2, 5000):
        node.branch_length = 1.0 / i
        node = Clade(clades=[node, Clade(name=f"leaf_{i}", branch_length=float(i))])
    tree = Tree(root=node, rooted=True)
    path = tmp_path / f"deep.{SUFFIX[fmt]}"
    pl.write_tree(tree, path, fmt)
    compare(expected_view(pl.read_tree(path)), expected_view(tree))


# Distance matrices.


def test_strict_phylip_is_read_by_phylip_neighbor(tmp_path):
    neighbor = shutil.which("neighbor") or shutil.which("phylip")
    if neighbor is None:
        pytest.skip("PHYLIP is not installed (Debian: apt-get install phylip)")
    command = [neighbor] if neighbor.endswith("neighbor") else [neighbor, "neighbor"]
    result = run_cli("distances", DEMO / "dna.parquet", "-o", tmp_path / "demo.phy", "--phylip", "strict", "-q")
    assert result.returncode == 0, result.stderr
    names = pd.read_csv(tmp_path / "demo.names.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert list(names.columns) == ["phylip_name", "model"] and len(names) == 70
    (tmp_path / "infile").write_bytes((tmp_path / "demo.phy").read_bytes())
    run = subprocess.run(command, input="Y\n", capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0 and (tmp_path / "outtree").exists(), run.stdout[-500:]
    rename = dict(zip(names["phylip_name"], names["model"]))
    theirs = Phylo.read(tmp_path / "outtree", "newick")
    for leaf in theirs.get_terminals():
        leaf.name = rename[leaf.name]
    assert sorted(c.name for c in theirs.get_terminals()) == sorted(names["model"])
    # PHYLIP's own neighbour joining builds the same tree as ours from the file.
    # (Our reader takes the ids back from the names map beside the file.)
    ours = pl.build_tree(pl.load_distances(tmp_path / "demo.phy"))
    assert unrooted_rf(pl.io.to_newick(ours), pl.io.to_newick(theirs)) == 0


def test_relaxed_phylip_and_tables_are_read_by_scikit_bio(tmp_path):
    skbio = pytest.importorskip("skbio")
    rng = np.random.default_rng(1)
    ids = ["EleutherAI/llemma_34b", "org/a-1.5", "Ünïcødé/模型", "x"]
    points = rng.normal(size=(4, 3))
    values = np.sqrt(((points[:, None] - points[None]) ** 2).sum(-1))
    dm = pl.DistanceMatrix(tuple(ids), values)
    for name, options in (("d.phy", {"format": "phylip_dm"}), ("d.tsv", {"format": "lsmat"}), ("d.csv", {"format": "lsmat", "delimiter": ","})):
        pl.io.save_distances(dm, tmp_path / name)
        theirs = skbio.DistanceMatrix.read(str(tmp_path / name), **options)
        assert list(theirs.ids) == ids
        np.testing.assert_array_equal(theirs.data, values)
        # ... and our reader takes it back exactly.
        back = pl.io.load_distances(tmp_path / name)
        assert back.ids == tuple(ids)
        np.testing.assert_array_equal(back.values, values)


@pytest.mark.parametrize("corner", ["model", ""])
@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_square_tables_with_either_corner_are_distances(tmp_path, corner, suffix):
    sep = "," if suffix == ".csv" else "\t"
    ids = ["NA", "01", "org/b_1"]  # read exactly: no missing value, no number
    rows = [sep.join([corner, "org/b_1", "NA", "01"])]
    matrix = {"NA": [2, 0, 1], "01": [3, 1, 0], "org/b_1": [0, 2, 3]}  # columns org/b_1, NA, 01 (another order)
    rows += [sep.join([i, *map(str, matrix[i])]) for i in ids]
    path = tmp_path / f"d{suffix}"
    path.write_text("\n".join(rows) + "\n")
    dm = pl.io.load_input(path)
    assert isinstance(dm, pl.DistanceMatrix) and dm.ids == tuple(ids)
    np.testing.assert_array_equal(dm.values, [[0, 1, 2], [1, 0, 3], [2, 3, 0]])


def test_trees_ete3_writes_are_read(tmp_path):
    ete3 = pytest.importorskip("ete3")
    names = ["org/with space", "it's", "EleutherAI/llemma_34b", "a,b:c"]
    tree = ete3.Tree()
    for i, name in enumerate(names):
        tree.add_child(name=name, dist=0.5 + i)
    path = tmp_path / "ete.nwk"
    path.write_text(tree.write(format=1, quoted_node_names=True))  # double-quoted labels
    back = pl.read_tree(path)
    assert [(c.name, c.branch_length) for c in back.get_terminals()] == [(n, 0.5 + i) for i, n in enumerate(names)]


def test_strict_phylip_needs_a_file_and_never_replaces_an_input(tmp_path):
    dm = pl.DistanceMatrix(("a", "b"), np.array([[0.0, 1.0], [1.0, 0.0]]))
    from phylo_llm.io._distances import write_phylip

    with pytest.raises(pl.PhyloLLMError, match="names map"):
        write_phylip(dm, "-", "strict")
    dna = tmp_path / "x.names.tsv"
    dna.write_text("model\t0\t1\na\t1\t2\nb\t2\t3\nc\t3\t5\n")  # DNA, named as the names map would be
    before = dna.read_bytes()
    result = run_cli("distances", dna, "-o", tmp_path / "x.phy", "--phylip", "strict")
    assert result.returncode == 2 and "also an input" in result.stderr
    assert dna.read_bytes() == before and not (tmp_path / "x.phy").exists()
