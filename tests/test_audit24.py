"""Audit 24: hostile input to the core commands (tree, distances, import, place, annotate, score, extract, figures,
simulate) and the library under them. One test per breach found; each checks against an independent reader or a
textbook property, never against the code's own earlier output. The list of cases is in AUDIT24.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import phylo_llm as pl
from tests.test_hostile import refused


def cli(*argv, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "phylo_llm", *map(str, argv), "-q"], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def dendropy_leaves(path: Path) -> list[str]:
    dendropy = pytest.importorskip("dendropy")
    tree = dendropy.Tree.get(path=str(path), schema="newick", case_sensitive_taxon_labels=True)
    return sorted(leaf.taxon.label if leaf.taxon else "" for leaf in tree.leaf_node_iter())


def write_phylip(path: Path, ids, values) -> None:
    with open(path, "w") as handle:
        handle.write(f"{len(ids)}\n")
        for name, row in zip(ids, values):
            handle.write(name + " " + " ".join(repr(float(v)) for v in row) + "\n")


# Class 2: silent wrong results ------------------------------------------------------------------------------------


@pytest.mark.parametrize("blank", ["", " ", "\t"])
def test_an_empty_or_blank_id_in_npz_or_a_distance_table_is_refused_not_an_unnamed_leaf(tmp_path, blank):
    """An npz (and a square distance CSV) with an empty id gave a tree with an unnamed leaf (DendroPy reads a leaf
    without a taxon), and a blank id a leaf named by white space; the DNA CSV reader already refused both."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "e.npz", ids=np.array([blank, "a", "b", "c"]), dna=rng.normal(size=(4, 3)))
    refused(cli("tree", tmp_path / "e.npz", "-o", tmp_path / "e.nwk"), "no model id")
    (tmp_path / "d.csv").write_text(f",{blank},a,b\n{blank},0,1,2\na,1,0,3\nb,2,3,0\n")
    refused(cli("tree", tmp_path / "d.csv", "-o", tmp_path / "d.nwk"), "no model id")
    assert not (tmp_path / "e.nwk").exists() and not (tmp_path / "d.nwk").exists()
    with pytest.raises(pl.PhyloLLMError, match="no model id"):
        pl.DNA([blank, "a", "b"], rng.normal(size=(3, 2)))


def test_a_carriage_return_in_an_id_is_refused_not_read_back_as_a_line_break(tmp_path):
    """A tree leaf 'a\\rb' was written raw inside quotes: DendroPy, scikit-bio and our own reader read 'a\\nb'."""
    rng = np.random.default_rng(1)
    ids = ["org/a\rb", "z1", "z2", "z3"]
    tree = pl.build_tree(pl.distance_matrix(pl.DNA(ids, rng.normal(size=(4, 3)))))
    for suffix in ("nwk", "nhx", "nex"):
        path = tmp_path / f"t.{suffix}"
        try:
            pl.write_tree(tree, path)
        except pl.PhyloLLMError as exc:
            assert str(path) in str(exc) and "carriage return" in str(exc)
            assert not path.exists()
            continue
        if suffix != "nex":
            assert dendropy_leaves(path) == sorted(ids)
    # A line feed is held (every reader gives it back), so it is written.
    lf = ["org/a\nb", "z1", "z2", "z3"]
    pl.write_tree(pl.build_tree(pl.distance_matrix(pl.DNA(lf, rng.normal(size=(4, 3))))), tmp_path / "lf.nwk")
    assert dendropy_leaves(tmp_path / "lf.nwk") == sorted(lf)


@pytest.mark.parametrize("method", ["nj", "upgma", "wpgma"])
def test_distances_whose_sums_overflow_are_refused_not_a_tree_with_leaves_twice(tmp_path, method):
    """Distances of 1e308: UPGMA/WPGMA wrote ((a,b),(a,b)) (c lost, a and b twice), NJ infinite lengths or an
    internal error. Distances of 1e300 still build, with the leaf set DendroPy reads equal to the ids."""
    ids = ["a", "b", "c", "d"]
    off = 1.0 - np.eye(4)
    write_phylip(tmp_path / "huge.phy", ids, off * 1e308)
    refused(cli("tree", tmp_path / "huge.phy", "-o", tmp_path / "t.nwk", "--method", method), "too large", "huge.phy")
    assert not (tmp_path / "t.nwk").exists()
    write_phylip(tmp_path / "big.phy", ids, off * 1e300)
    result = cli("tree", tmp_path / "big.phy", "-o", tmp_path / "t.nwk", "--method", method)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert dendropy_leaves(tmp_path / "t.nwk") == ids


def test_a_tree_with_an_infinite_length_is_never_written(tmp_path):
    from Bio.Phylo.BaseTree import Clade, Tree

    tree = Tree(Clade(clades=[Clade(name="a", branch_length=1.0), Clade(name="b", branch_length=float("inf")),
                              Clade(name="c", branch_length=float("nan"))]))
    for fmt in ("newick", "nhx", "nexus", "phyloxml"):
        with pytest.raises(pl.PhyloLLMError, match="leaf 'b' is not a finite number"):
            pl.write_tree(tree, tmp_path / "t.out", fmt)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("scale", [1e160, 1e300, 1e-160, 1e-300])
def test_mad_root_does_not_depend_on_the_unit_of_length(scale):
    """MAD is a ratio of path lengths (Tria et al. 2017): scaling every length scales nothing but the lengths.
    At 1e160 the squares overflowed and MAD silently chose another root; at 1e-160 it refused."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 3))
    ids = [f"m{i}" for i in range(8)]

    def rooted(factor):
        tree, value = pl.tree.mad_root(pl.build_tree(pl.distance_matrix(pl.DNA(ids, x * factor))))
        sides = sorted((sorted(leaf.name for leaf in pl.tree.iter_leaves(c)), c.branch_length / factor)
                       for c in tree.root.clades)
        return [s for s, _ in sides], [length for _, length in sides], value

    sides, lengths, value = rooted(1.0)
    got_sides, got_lengths, got_value = rooted(scale)
    assert got_sides == sides
    np.testing.assert_allclose(got_lengths, lengths, rtol=1e-9)
    assert got_value == pytest.approx(value, rel=1e-9)


# Class 3: memory ----------------------------------------------------------------------------------------------------


def test_a_compressed_tree_that_expands_beyond_memory_is_refused_while_reading(tmp_path, monkeypatch):
    """A .nwk.gz of 40 KB holding 40 MiB of text: read whole (then parsed) whatever the memory; now refused once the
    text no longer fits, having allocated little (measured with tracemalloc)."""
    import gzip
    import tracemalloc

    from phylo_llm import _memory

    path = tmp_path / "bomb.nwk.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b"(a,b,c);" + b" " * (40 << 20))
    assert path.stat().st_size < 1 << 20
    monkeypatch.setattr(_memory, "available_memory", lambda: 24 << 20)  # as if 24 MiB were left
    tracemalloc.start()
    try:
        with pytest.raises(pl.PhyloLLMError, match="bomb.nwk.gz.*memory"):
            pl.read_tree(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 80 << 20, peak


@pytest.mark.parametrize("suffix", ["csv", "tsv", "csv.gz"])
def test_ids_pandas_takes_for_missing_values_survive_a_text_dna_file(tmp_path, suffix):
    """'NA', 'null', 'None', 'nan', 'N/A' are names: written to CSV they were read back as no id at all."""
    ids = ["NA", "null", "None", "nan", "N/A", "org/m"]
    vectors = np.random.default_rng(4).normal(size=(6, 3))
    pl.save_dna(pl.DNA(ids, vectors), tmp_path / f"d.{suffix}")
    back = pl.load_dna(tmp_path / f"d.{suffix}")
    assert list(back.ids) == ids
    np.testing.assert_array_equal(back.vectors, vectors)
    (tmp_path / "blank.csv").write_text("model,dna_0\n,1.0\nb,2.0\n")  # an empty id is still no id
    with pytest.raises(pl.PhyloLLMError, match="row 1 has no model id"):
        pl.load_dna(tmp_path / "blank.csv")


def test_strict_phylip_read_back_keeps_the_model_ids(tmp_path):
    """`distances -o d.phy --phylip strict` then any command reading d.phy: the ids come back from the names map the
    writer put beside it (they silently became m1..mN); values as scikit-bio reads the matrix; a map naming other
    rows is refused; a TSV of other columns beside it is not a names map and is left alone."""
    from skbio import DistanceMatrix as SkbioDistanceMatrix

    from tests.helpers import run_cli

    ids = ["org/a model", "Org/b\u00e9", "c;(x)", "d\tt"]
    rng = np.random.default_rng(0)
    points = rng.normal(size=(4, 3))
    values = np.sqrt(((points[:, None] - points[None]) ** 2).sum(-1))
    pd_frame = pd.DataFrame(values, columns=ids)
    pd_frame.insert(0, "", ids)
    source = tmp_path / "d.csv"
    pd_frame.to_csv(source, index=False, float_format="%.17g")
    result = run_cli("distances", source, "-o", tmp_path / "d.phy", "--phylip", "strict", "-q")
    assert result.returncode == 0, result.stderr
    back = pl.load_distances(tmp_path / "d.phy")
    assert list(back.ids) == ids
    reference = SkbioDistanceMatrix.read(str(tmp_path / "d.phy"), format="phylip_dm")
    np.testing.assert_allclose(back.values, reference.data, rtol=1e-12)
    np.testing.assert_allclose(back.values, values, rtol=1e-12)
    tree = tmp_path / "t.nwk"
    assert run_cli("tree", tmp_path / "d.phy", "-o", tree, "-q").returncode == 0
    assert sorted(leaf.name for leaf in pl.read_tree(tree).get_terminals()) == sorted(ids)
    names = tmp_path / "d.names.tsv"
    names.write_text(names.read_text().replace("m4\t", "m9\t"))
    refused(run_cli("tree", tmp_path / "d.phy", "-o", tmp_path / "t2.nwk"), f"{names}: the names map")
    names.write_text("a\tb\nm1\tx\n")
    assert pl.load_distances(tmp_path / "d.phy").ids[0] == "m1"


@pytest.mark.parametrize("suffix", ["csv.gz", "tsv.xz"])
def test_a_compressed_dna_table_that_expands_beyond_memory_is_refused_while_reading(tmp_path, monkeypatch, suffix):
    """A compressed DNA table of well under 1 MB holding 40 MiB of rows went to pandas whole, whatever the memory;
    now its text is expanded within memory first and refused once it no longer fits (tracemalloc peak bounded)."""
    import gzip
    import lzma
    import tracemalloc

    from phylo_llm import _memory

    separator = b"," if suffix.startswith("csv") else b"\t"
    row = separator.join([b"org/m", b"0.5", b"0.25"]) + b"\n"
    body = separator.join([b"model", b"dim_0", b"dim_1"]) + b"\n" + row * ((40 << 20) // len(row))
    path = tmp_path / f"bomb.{suffix}"
    path.write_bytes(gzip.compress(body) if suffix.endswith("gz") else lzma.compress(body))
    assert path.stat().st_size < 1 << 20
    monkeypatch.setattr(_memory, "available_memory", lambda: 24 << 20)  # as if 24 MiB were left
    tracemalloc.start()
    try:
        with pytest.raises(pl.PhyloLLMError, match=f"bomb.{suffix}.*memory"):
            pl.load_dna(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 80 << 20, peak


@pytest.mark.parametrize("suffix", ["csv", "tsv", "csv.gz"])
def test_ids_with_line_breaks_survive_text_dna_and_distance_tables(tmp_path, suffix):
    """An id holding a lone carriage return was written unquoted by pandas, then read back as two rows ('a', 'b') with
    a misleading NaN refusal; with a line feed, CR LF, quotes and separators as well, the ids now come back as
    written, through our readers and through pandas and Python's csv module (independent readers)."""
    import csv
    import gzip

    from phylo_llm.distance import DistanceMatrix

    ids = ["a\rb", "c\nd", "e\r\nf", 'g"h', "i,j\tk", "plain"]
    vectors = np.random.default_rng(5).normal(size=(len(ids), 3))
    pl.save_dna(pl.DNA(ids, vectors), tmp_path / f"d.{suffix}")
    back = pl.load_dna(tmp_path / f"d.{suffix}")
    assert list(back.ids) == ids
    np.testing.assert_allclose(back.vectors, vectors, rtol=1e-15)
    separator = "\t" if suffix.startswith("tsv") else ","
    theirs = pd.read_csv(tmp_path / f"d.{suffix}", sep=separator, dtype={"model": str}, keep_default_na=False)
    assert theirs["model"].tolist() == ids
    opener = gzip.open if suffix.endswith(".gz") else open
    with opener(tmp_path / f"d.{suffix}", "rt", newline="", encoding="utf-8") as handle:
        assert [row[0] for row in csv.reader(handle, delimiter=separator)][1:] == ids
    dist = DistanceMatrix(tuple(ids), np.sqrt(((vectors[:, None] - vectors[None]) ** 2).sum(-1)))
    pl.save_distances(dist, tmp_path / f"m.{suffix}")
    again = pl.load_distances(tmp_path / f"m.{suffix}")
    assert list(again.ids) == ids
    np.testing.assert_allclose(again.values, dist.values, rtol=1e-15)
