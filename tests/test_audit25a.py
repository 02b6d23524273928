"""Audit 25a: a hostile and careless user of ``score``, ``relatives``, ``candidates``, ``place``, ``relate`` and their
library functions (lineage tables, the id rule). One test per breach found; each failed before its fix and checks
against an independent computation or the one-line refusal promise. The list of cases is in
/work/notes/s25/AUDIT25A.md.
"""

from __future__ import annotations

import dataclasses
import gzip
import subprocess
import sys

import numpy as np
import pytest

import phylo_llm as pl
from tests.helpers import DEMO
from tests.test_hostile import refused

A, B, C = "meta-llama/Llama-1-7B", "meta-llama/Llama-2-7B", "meta-llama/Llama-1-7B-Instruct"


def cli(*argv, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "phylo_llm", *map(str, argv), "-q"], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def demo():
    return pl.load_dna(DEMO / "dna.parquet")


@pytest.fixture(scope="module")
def placing(tmp_path_factory, demo):
    """A 20-leaf reference (DNA and its NJ tree) of the demo models."""
    work = tmp_path_factory.mktemp("place25a")
    reference = demo.subset(demo.ids[:20])
    pl.save_dna(reference, work / "ref.parquet")
    pl.write_tree(pl.build_tree(pl.distance_matrix(reference)), work / "ref.nwk")
    return work


# --- lineage tables ------------------------------------------------------------------------------------------------

def test_a_truncated_compressed_lineage_csv_is_one_line(tmp_path, demo):
    """A relations.csv.gz cut short was an internal error (EOFError) naming no file."""
    path = tmp_path / "relations.csv.gz"
    path.write_bytes(gzip.compress(f"child,parent,relation\n{B},{A},finetune\n".encode() * 50)[:40])
    pl.save_dna(demo.subset(demo.ids[:4]), tmp_path / "four.parquet")
    refused(cli("score", tmp_path / "four.parquet", "--lineage", path, "--permutations", "1"), "relations.csv.gz")


def test_a_compressed_lineage_csv_that_expands_beyond_memory_is_refused_while_reading(tmp_path, monkeypatch):
    """pandas expanded a relations.csv.gz whole, whatever the memory (a 100 kB file of 5 million rows took 1.5 GB and
    9 minutes); now it is read through the bounded reader of DNA tables and refused once it no longer fits."""
    from phylo_llm import _memory

    row = b"org/a,org/b,finetuned\n"  # each row also wrong: before the fix it was read whole, then refused by row
    path = tmp_path / "relations.csv.gz"
    path.write_bytes(gzip.compress(b"child,parent,relation\n" + row * ((40 << 20) // len(row))))
    assert path.stat().st_size < 1 << 20
    monkeypatch.setattr(_memory, "available_memory", lambda: 24 << 20)  # as if 24 MiB were left
    with pytest.raises(pl.PhyloLLMError, match="relations.csv.gz.*memory"):
        pl.load_lineage(path)


@pytest.mark.parametrize("table,line", [
    ("models.csv", "model,family\n{A},Llama\n   ,Llama\n"),
    ("relations.csv", "child,parent,relation\n{B},{A},finetune\n\t ,{A},finetune\n"),
])
def test_a_blank_id_in_a_lineage_table_is_refused(tmp_path, table, line):
    """An id of white space only names no model (DNA, distances and trees refuse it): it was a lineage model."""
    (tmp_path / table).write_text(line.format(A=A, B=B))
    with pytest.raises(pl.PhyloLLMError, match=rf"{table}.*line 3"):
        pl.load_lineage(tmp_path)


def test_a_pair_documented_under_two_relation_types_counts_once_among_all_pairs(tmp_path, demo):
    """A child-parent pair written as finetune and as merge counted twice in the "any" parent retrieval (n and MRR
    weighted double while "pairs" said once). Checked against ranks computed here by brute force."""
    lineage = (DEMO / "lineage.csv").read_text() + f"{C},{A},merge,hand,high\n"  # the demo says finetune
    (tmp_path / "relations.csv").write_text(lineage)
    report = pl.score.score(demo, tmp_path, permutations=0)
    documented = pl.load_lineage(tmp_path).relations
    index = {m: i for i, m in enumerate(demo.ids)}
    pairs = {(index[c], index[p]) for c, p in zip(documented.child, documented.parent) if c in index and p in index}
    values = np.linalg.norm(demo.vectors[:, None, :] - demo.vectors[None, :, :], axis=2)
    ranks = []
    for i, j in sorted(pairs):
        others = np.delete(values[i], i)
        ranks.append(1 + np.sum(others < values[i, j]) + 0.5 * (np.sum(others == values[i, j]) - 1))
    every = report["relations"]["any"]
    assert every["pairs"] == len(pairs)
    assert every["retrieval_dna"]["n"] == len(pairs)
    assert every["retrieval_dna"]["mrr"] == pytest.approx(np.mean(1 / np.array(ranks)), rel=1e-12)


def test_relatives_names_both_types_of_a_pair_documented_twice(tmp_path, demo):
    """The "documented" column showed only the last type of a pair written as finetune and as merge."""
    (tmp_path / "relations.csv").write_text((DEMO / "lineage.csv").read_text() + f"{C},{A},merge,hand,high\n")
    table = pl.score.relatives(C, pl.distance_matrix(demo), tmp_path, k=len(demo.ids) - 1)
    assert table.set_index("model").loc[A, "documented"] == "parent (finetune, merge)"


def test_a_dna_table_in_a_lineage_folder_is_refused_not_read_as_lineage_facts(tmp_path, demo):
    """Every CSV of a --lineage folder was read: a DNA table saved there (it has a model column) became a models
    table, its metadata columns (family, organization) updating the lineage's facts without a word."""
    (tmp_path / "models.csv").write_text(f"model,family\n{A},Llama\n")
    renamed = demo.metadata.assign(family="NotLlama")
    pl.save_dna(dataclasses.replace(demo, metadata=renamed), tmp_path / "x-dna.csv")
    with pytest.raises(pl.PhyloLLMError, match=r"x-dna\.csv: a DNA table"):
        pl.load_lineage(tmp_path)


def test_an_edge_your_lineage_repeats_from_the_builtin_one_stacks_as_one_edge(tmp_path):
    """README: "add --lineage builtin to stack yours on top of ours". A user file repeating one built-in edge (its
    ids in another case) was refused as a duplicate edge; it is now one edge. Within one file a repeat is still
    refused."""
    builtin = pl.load_lineage()
    child, parent, relation = builtin.relations[["child", "parent", "relation"]].iloc[0]
    mine = tmp_path / "mine.csv"
    mine.write_text(f"child,parent,relation\n{child.upper()},{parent.lower()},{relation}\n{A},{B},finetune\n")
    stacked = pl.load_lineage("builtin", mine)
    assert len(stacked.relations) == len(builtin.relations) + 1
    assert [r for r in zip(stacked.relations.child, stacked.relations.parent) if r == (child, parent)] == [(child, parent)]
    mine.write_text(mine.read_text() + f"{A.lower()},{B},finetune\n")
    with pytest.raises(pl.PhyloLLMError, match=r"mine\.csv, line 4: duplicate edge.*first at .*mine\.csv, line 3"):
        pl.load_lineage("builtin", mine)


# --- place ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", ["META-LLAMA/llama-1-7b", f" {A} ", "meta-llama_Llama-1-7B"])
def test_place_refuses_a_model_the_tree_holds_up_to_case_space_or_folder_form(placing, demo, tmp_path, variant):
    """The exact id was refused as 'already in the tree', but the same model written in another case, with white
    space or in folder form was placed beside itself as a second leaf."""
    two = demo.subset([A, demo.ids[21]])
    pl.save_dna(dataclasses.replace(two, ids=(variant, two.ids[1])), tmp_path / "new.parquet")
    out = tmp_path / "out"
    out.mkdir()
    refused(cli("place", tmp_path / "new.parquet", "--tree", placing / "ref.nwk", "--dna", placing / "ref.parquet",
                "-o", out / "t.nwk", "--csv", out / "p.csv"), "new.parquet", "already in the tree", repr(A))
    assert list(out.iterdir()) == []


def test_place_dna_of_another_dimension_is_one_line(placing, demo, tmp_path):
    """New DNA of 5 dimensions beside a 128-dimension reference (its settings columns not telling) was an internal
    error from matmul."""
    new = demo.subset(demo.ids[20:23])
    pl.save_dna(dataclasses.replace(new, vectors=new.vectors[:, :5].copy()), tmp_path / "new.parquet")
    out = tmp_path / "out"
    out.mkdir()
    refused(cli("place", tmp_path / "new.parquet", "--tree", placing / "ref.nwk", "--dna", placing / "ref.parquet",
                "-o", out / "t.nwk"), "new.parquet", "dimension 5", "128")
    assert list(out.iterdir()) == []


# --- simulate ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("first,second", [(["--families", "1"], ["--models", "3"]), (["--models", "3"], ["--families", "1"])])
def test_simulate_refuses_a_folder_holding_the_other_kind_of_simulation(tmp_path, first, second):
    """A hub simulation (dna/) written into a folder of a demo simulation (dna.parquet), or the other way round,
    replaced lineage.csv and true_tree.nwk but left the old DNA, which reading the folder then takes: the old DNA
    scored against the new lineage. Now refused, the folder as it was."""
    from tests.test_hostile import snapshot

    folder = tmp_path / "sim"
    assert cli("simulate", "-o", folder, "--dim", "4", *first).returncode == 0
    before = snapshot(folder)
    refused(cli("simulate", "-o", folder, "--dim", "4", "--seed", "1", *second), "another simulation")
    assert snapshot(folder) == before


# --- trees whose path lengths overflow -----------------------------------------------------------------------------

def test_a_tree_whose_branch_lengths_sum_past_the_largest_float_is_refused_when_read(tmp_path, demo):
    """Every branch length finite, their sums not: score printed three numpy warnings before its error, annotate
    wrote a midpoint root computed from infinities, place crashed (KeyError). Now refused as the tree is read."""
    four = demo.ids[:4]
    path = tmp_path / "big.nwk"
    path.write_text("(('{}':1e308,'{}':1e308):1e308,('{}':1e308,'{}':1):1);".format(*four))
    assert sum([1e308, 1e308, 1e308, 1e308]) == float("inf")  # the reference: IEEE 754 overflow
    pl.save_dna(demo.subset(four), tmp_path / "ref.parquet")
    pl.save_dna(demo.subset(demo.ids[20:22]), tmp_path / "new.parquet")
    out = tmp_path / "out"
    out.mkdir()
    for argv in (["score", path, "--lineage", DEMO, "--permutations", "1"],
                 ["annotate", path, "-o", out / "a.nhx", "--lineage", DEMO],
                 ["place", tmp_path / "new.parquet", "--tree", path, "--dna", tmp_path / "ref.parquet", "-o", out / "p.nwk"]):
        refused(cli(*argv), "big.nwk", "branch lengths sum past the largest")
    assert list(out.iterdir()) == []


def test_place_on_lengths_near_the_largest_float_is_one_line_not_a_crash(tmp_path, demo):
    """Lengths summing below the largest float but whose least-squares sums overflow: the kernel chose no edge and
    insert_placements crashed (KeyError)."""
    four = demo.ids[:4]
    path = tmp_path / "big.nwk"
    path.write_text("(('{}':4e307,'{}':4e307):4e307,('{}':4e307,'{}':1):1);".format(*four))
    pl.save_dna(demo.subset(four), tmp_path / "ref.parquet")
    pl.save_dna(demo.subset(demo.ids[20:22]), tmp_path / "new.parquet")
    refused(cli("place", tmp_path / "new.parquet", "--tree", path, "--dna", tmp_path / "ref.parquet", "-q"),
            "no edge of the tree fits new model")


# --- options that would be ignored ---------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [["import", "{dna}", "-o", "{out}/x.parquet", "--variant", "dna_dim1024"],
                                  ["score", "{dna}", "--encoder", "bge", "--permutations", "1"],
                                  ["relatives", A, "{dna}", "--variant", "preagg_dim64", "--csv", "{out}/r.csv"]])
def test_variant_and_encoder_are_refused_for_an_input_that_is_not_a_published_folder(tmp_path, argv):
    """--variant dna_dim1024 on a DNA file was ignored: the file's 128-dimension DNA imported (scored, ranked) as if it
    were the variant asked for."""
    out = tmp_path / "out"
    out.mkdir()
    argv = [a.format(dna=DEMO / "dna.parquet", out=out) for a in argv]
    refused(cli(*argv, "--lineage", DEMO) if argv[0] != "import" else cli(*argv), "dna.parquet", "published probe-set folder")
    assert list(out.iterdir()) == []
