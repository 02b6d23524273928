"""Tree files: Newick (deep trees, quoting, exact lengths), NEXUS, PhyloXML."""

from __future__ import annotations

import io

import numpy as np
import pytest
from Bio import Phylo
from Bio.Phylo.BaseTree import Clade, Tree

import phylo_llm as pl
from phylo_llm.io import to_newick


def walk(tree):
    """(name, branch length) of every node in preorder, without recursion."""
    out, stack = [], [tree.root]
    while stack:
        clade = stack.pop()
        out.append((clade.name, clade.branch_length))
        stack.extend(reversed(clade.clades))
    return out


def caterpillar(n: int) -> Tree:
    node = Clade(clades=[Clade(name="leaf-0", branch_length=0.5), Clade(name="leaf-1", branch_length=1 / 3)])
    for i in range(2, n):
        node.branch_length = 1.0 / i
        node = Clade(clades=[node, Clade(name=f"leaf-{i}", branch_length=float(i))])
    return Tree(root=node, rooted=True)


def test_deep_caterpillar_round_trip(tmp_path):
    tree = caterpillar(20_000)
    with pytest.raises(RecursionError):
        Phylo.write(tree, io.StringIO(), "newick")  # why we write Newick ourselves
    pl.write_tree(tree, tmp_path / "deep.nwk")
    back = Phylo.read(tmp_path / "deep.nwk", "newick")
    assert walk(back) == walk(tree)


def test_labels_that_need_quotes_survive(tmp_path):
    names = ["org/model:v1", "model with space", "it's", "a,b", "plain/Model-7B"]
    tree = Tree(root=Clade(clades=[Clade(name=n, branch_length=1.0) for n in names]))
    pl.write_tree(tree, tmp_path / "q.nwk")
    back = Phylo.read(tmp_path / "q.nwk", "newick")
    assert [c.name for c in back.get_terminals()] == names


def test_lengths_are_written_exactly():
    lengths = [0.1, 1 / 3, 1e-300, 123456789.123456789, 0.0]
    tree = Tree(root=Clade(clades=[Clade(name=f"m{i}", branch_length=v) for i, v in enumerate(lengths)]))
    back = Phylo.read(io.StringIO(to_newick(tree)), "newick")
    assert [c.branch_length for c in back.get_terminals()] == lengths


@pytest.mark.parametrize("fmt", ["nexus", "phyloxml"])
def test_other_formats_read_back_with_biopython(tmp_path, fmt):
    rng = np.random.default_rng(0)
    ids = [f"org/m{i}" for i in range(12)]
    tree = pl.build_tree(pl.distance_matrix(pl.DNA(ids, rng.normal(size=(12, 5)))))
    pl.write_tree(tree, tmp_path / "t", fmt)
    back = Phylo.read(tmp_path / "t", fmt)
    assert sorted(c.name for c in back.get_terminals()) == sorted(ids)
    assert sum(c.branch_length or 0 for c in back.find_clades()) == pytest.approx(tree.total_branch_length())
    assert pl.read_tree(tmp_path / "t").count_terminals() == 12


@pytest.mark.parametrize("text,message", [("hello world", "not a tree file"), ("((a,b),(c;", "unbalanced parentheses")])
def test_bad_tree_files(tmp_path, text, message):
    (tmp_path / "bad.nwk").write_text(text)
    with pytest.raises(pl.PhyloLLMError, match=message):
        pl.read_tree(tmp_path / "bad.nwk")
