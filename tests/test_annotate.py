"""Annotation: features on leaves and clades, NHX read back by ete3, the per-leaf CSV, the CLI."""

from __future__ import annotations

import warnings
from urllib.parse import unquote

import pandas as pd
import pytest
from ete3 import Tree as EteTree

import phylo_llm as pl
from phylo_llm.io import parse_tree
from phylo_llm.lineage import load_lineage
from phylo_llm.tree import annotate_tree, leaf_table
from tests.helpers import DEMO, run_cli

MODELS = (
    "model,family,organization,architecture,release,params_b\n"
    "org/base,Llama,Meta AI,decoder_only,2024-07,8\n"
    "org/chat,Llama,Meta AI,decoder_only,2024-07,8\n"
    "other/q,Qwen,Alibaba (Qwen),decoder_only,,7\n"
    "other/t5,T5,Google,encoder_decoder,2019-10,0.2\n"
)
EDGES = "child,parent,relation,evidence\norg/chat,org/base,finetune,name\n"


@pytest.fixture
def lineage(tmp_path):
    (tmp_path / "models.csv").write_text(MODELS)
    (tmp_path / "relations.csv").write_text(EDGES)
    return load_lineage(tmp_path)


def test_leaf_and_clade_features(lineage):
    tree = parse_tree("((ORG/BASE:1,org_chat:1):1,other/q:2,(other/t5:1,unknown/x:1):3);")
    annotated, coverage = annotate_tree(tree, lineage)
    assert coverage.missing == ("unknown/x",)
    leaves = {leaf.name: getattr(leaf, "features", {}) for leaf in annotated.get_terminals()}
    assert leaves["org_chat"]["lineage_id"] == "org/chat"
    assert leaves["org_chat"]["parent"] == "org/base" and leaves["org_chat"]["parent_relation"] == "finetune"
    assert leaves["ORG/BASE"]["family"] == "Llama" and leaves["ORG/BASE"]["release"] == "2024-07"
    assert leaves["other/t5"]["architecture"] == "encoder_decoder"
    assert leaves["unknown/x"] == {}
    llama = annotated.common_ancestor("ORG/BASE", "org_chat")
    assert llama.features == {"family": "Llama"}
    # A clade with an unknown leaf is not labelled.
    assert not getattr(annotated.common_ancestor("other/t5", "unknown/x"), "features", None)


def test_nhx_round_trip_through_ete3(tmp_path, lineage):
    tree = parse_tree("((org/base:1,org/chat:1):1,other/q:2,other/t5:3);")
    annotated, _ = annotate_tree(tree, lineage)
    pl.write_tree(annotated, tmp_path / "t.nhx", "nhx")
    ete = EteTree(str(tmp_path / "t.nhx"), format=1, quoted_node_names=True)  # as the README says
    q = ete.search_nodes(name="other/q")[0]
    # NHX-special characters are percent-encoded: ete3 reads the file, unquote gives the exact value.
    assert (q.family, q.organization, q.params_b) == ("Qwen", "Alibaba %28Qwen%29", "7")
    assert unquote(q.organization) == "Alibaba (Qwen)"
    assert ete.get_common_ancestor("org/base", "org/chat").family == "Llama"
    assert ete.search_nodes(name="org/chat")[0].parent == "org/base"
    # And our own reader gets the same features back.
    back = pl.read_tree(tmp_path / "t.nhx")
    assert {c.name: c.features["family"] for c in back.get_terminals()}["other/t5"] == "T5"
    assert {c.name: c.features for c in back.get_terminals()}["other/q"]["organization"] == "Alibaba (Qwen)"


def test_leaf_table(lineage):
    annotated, _ = annotate_tree(parse_tree("(org/base:1,org/chat:1,other/q:1);"), lineage)
    table = leaf_table(annotated)
    assert list(table["model"]) == ["org/base", "org/chat", "other/q"]
    assert table.loc[2, "organization"] == "Alibaba (Qwen)"


def test_cli_tree_root_annotate_on_the_demo(tmp_path):
    out, csv = tmp_path / "demo.nhx", tmp_path / "leaves.csv"
    result = run_cli("tree", DEMO / "dna.parquet", "-o", out, "--root", "midpoint", "--annotate", "--lineage", DEMO, "--csv", csv)
    assert result.returncode == 0, result.stderr
    assert "lineage metadata for 70 of 70 models" in result.stderr
    ete = EteTree(str(out), format=1)
    assert len(ete.children) == 2 and len(ete) == 70
    assert {leaf.family for leaf in ete} == {"Llama", "Qwen", "Mistral", "Gemma", "T5"}
    assert len(pd.read_csv(csv)) == 70


def test_cli_annotate_with_attribute_rooting(tmp_path):
    assert run_cli("tree", DEMO / "dna.parquet", "-o", tmp_path / "t.nwk").returncode == 0
    result = run_cli("annotate", tmp_path / "t.nwk", "-o", tmp_path / "a.nhx", "--lineage", DEMO, "--root-by", "architecture=encoder_decoder")
    assert result.returncode == 0, result.stderr
    ete = EteTree(str(tmp_path / "a.nhx"), format=1)
    sides = [{leaf.architecture for leaf in side} for side in ete.children]
    assert {"encoder_decoder"} in sides


def annotate_bad_inputs(tmp_path):
    good_tree = tmp_path / "t.nwk"
    good_tree.write_text("((a:1,b:1):1,c:1,d:2);")
    (tmp_path / "lin").mkdir()
    (tmp_path / "lin" / "models.csv").write_text("model,family,organization,architecture\na,X,o,decoder_only\n")
    notree = tmp_path / "notree.nwk"
    notree.write_text("this is not a tree\n")
    nocols = tmp_path / "nocols"
    nocols.mkdir()
    (nocols / "relations.csv").write_text("child,relation\na,finetune\n")
    badrel = tmp_path / "badrel"
    badrel.mkdir()
    (badrel / "relations.csv").write_text("child,parent,relation\na,b,cousin\n")
    return [
        ("not newick", [notree, "--lineage", tmp_path / "lin"], ["notree.nwk", "not a tree file"]),
        ("missing columns", [good_tree, "--lineage", nocols], ["relations.csv", "missing column(s) parent"]),
        ("unknown relation", [good_tree, "--lineage", badrel], ["relations.csv, line 2", "unknown relation type 'cousin'"]),
        ("outgroup unknown", [good_tree, "--lineage", tmp_path / "lin", "--outgroup", "zz"], ["'zz' is not a leaf"]),
        ("attribute unknown", [good_tree, "--lineage", tmp_path / "lin", "--root-by", "family=Nope"], ["family=Nope"]),
        ("attribute malformed", [good_tree, "--lineage", tmp_path / "lin", "--root-by", "family"], ["KEY=VALUE"]),
    ]


def test_annotate_bad_inputs(tmp_path):
    failures = []
    for name, args, expected in annotate_bad_inputs(tmp_path):
        out = tmp_path / "out.nhx"
        result = run_cli("annotate", args[0], "-o", out, *args[1:])
        message = result.stderr.strip()
        if result.returncode != 2 or "\n" in message or out.exists() or not all(e in message for e in expected):
            failures.append(f"{name}: exit {result.returncode}: {message[:300]}")
    assert not failures, "\n".join(failures)


def test_annotated_rooted_tree_of_the_paper_set(shared):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pl.PhyloLLMWarning)
        dna = pl.load_dna(shared / "llm-dna-web/dna-out/squad_cqa_hs_wg_arc_mmlu")
    from phylo_llm.tree import mad_root

    tree, _ = mad_root(pl.build_tree(pl.distance_matrix(dna)))
    annotated, coverage = annotate_tree(tree, load_lineage())
    assert len(coverage.matched) == 313 and annotated.rooted
    families = [leaf.features.get("family") for leaf in annotated.get_terminals()]
    assert len(families) == 313 and all(families)
    labelled = [c for c in annotated.get_nonterminals() if getattr(c, "features", {}).get("family")]
    assert labelled  # some clades are single-family
    for clade in labelled:
        assert {leaf.features["family"] for leaf in clade.get_terminals()} == {clade.features["family"]}


def test_annotation_corrects_the_published_hub_metadata(shared):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pl.PhyloLLMWarning)
        rand = pl.load_dna(shared / "llm-dna-web/dna-out/rand", allow_mixed=True)
    vlm, quantized = "QuantTrio/Qwen3-VL-30B-A3B-Instruct-AWQ", "ELVISIO/Qwen3-30B-A3B-Instruct-2507-AWQ"
    # What the published summaries say: a VLM labelled encoder_decoder, a packed parameter count.
    assert rand.metadata.loc[vlm, "architecture_type"] == "encoder_decoder"
    assert rand.metadata.loc[quantized, "parameter_count"] < 5e9
    tree = pl.build_tree(pl.distance_matrix(rand.subset([vlm, quantized, "Qwen/Qwen3-8B", "google/gemma-2-2b-it"])))
    annotated, _ = annotate_tree(tree, load_lineage())
    leaves = {leaf.name: leaf.features for leaf in annotated.get_terminals()}
    assert leaves[vlm]["architecture"] == "decoder_only"
    assert float(leaves[quantized]["params_b"]) > 30
