"""Problems a newcomer met following README.md from the top on the command line (newcomer24)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import run_cli

import phylo_llm as pl
from phylo_llm.errors import PhyloLLMError
from phylo_llm.ids import require_model


def _parquet_dna(path):
    """A DNA table written by pyarrow itself (not by the package)."""
    table = pa.table({"model": ["a", "b", "c"], "dna": [list(row) for row in np.eye(3)]})
    pq.write_table(table, path)
    return path


def test_a_dna_parquet_given_as_a_tree_is_named_as_such_not_as_bad_utf8(tmp_path):
    """annotate DNA.parquet said 'not UTF-8 text (byte 7)': true, but no help to someone who swapped the files."""
    dna = _parquet_dna(tmp_path / "dna.parquet")
    with pytest.raises(PhyloLLMError) as caught:
        pl.read_tree(dna)
    message = str(caught.value)
    assert message.startswith(f"{dna}: not a tree file") and "parquet" in message and "UTF-8" not in message


@pytest.mark.parametrize("command", ["annotate", "place"])
def test_the_cli_says_in_one_line_that_a_dna_file_is_not_a_tree(tmp_path, command):
    dna = _parquet_dna(tmp_path / "dna.parquet")
    out = tmp_path / "out.nhx"
    if command == "annotate":
        result = run_cli("annotate", dna, "-o", out)
    else:  # the newcomer's swap: DNA as --tree
        result = run_cli("place", dna, "--tree", dna, "--dna", dna, "-o", out)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [f"phylo-llm: error: {dna}: not a tree file: a parquet table (DNA or distances?); "
                     "a tree is Newick, NHX, NEXUS or PhyloXML text"]
    assert not out.exists()


def test_a_typo_in_a_model_id_suggests_the_id_meant():
    """'model X is not in the data' left the newcomer to search 313 ids for the one they misspelt."""
    ids = ["meta-llama/Meta-Llama-3-8B-Instruct", "meta-llama/Meta-Llama-3-8B", "Qwen/Qwen2.5-7B-Instruct"]
    with pytest.raises(PhyloLLMError, match=r"did you mean 'meta-llama/Meta-Llama-3-8B-Instruct'"):
        require_model("meta-llama/Meta-Llama-3-8B-Instruc", ids, "dna.parquet")
    with pytest.raises(PhyloLLMError) as caught:  # nothing alike: no suggestion
        require_model("google/t5-small", ids, "dna.parquet")
    assert "did you mean" not in str(caught.value)


def test_relatives_with_input_and_model_swapped_says_the_order(tmp_path):
    dna = _parquet_dna(tmp_path / "dna.parquet")
    result = run_cli("relatives", dna, "a")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"phylo-llm: error: a: no such file or directory; the model comes first: phylo-llm relatives a {dna}"]


def _demo_cache(tmp_path):
    path = tmp_path / "demo.probes"
    pl.io.save_probes(pl.simulate(seed=0).probes(4), path)
    return path


def test_relate_with_the_cache_first_says_the_order(tmp_path):
    cache = _demo_cache(tmp_path)
    result = run_cli("relate", cache, "google/Gemma-1-7B", "google/Gemma-1-7B-Instruct")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"phylo-llm: error: google/Gemma-1-7B-Instruct: no such file or directory; the models come first: "
        f"phylo-llm relate google/Gemma-1-7B google/Gemma-1-7B-Instruct {cache}"]


def test_relate_train_without_lineage_on_models_the_builtin_base_lacks_says_to_give_one(tmp_path):
    """The simulated ids are in no built-in relation: 'documents 0 pairs' alone did not say --lineage was missing."""
    cache = _demo_cache(tmp_path)
    result = run_cli("relate", "train", cache, "-o", tmp_path / "m.json")
    assert result.returncode == 2 and not (tmp_path / "m.json").exists()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "documents 0 same-weights or derived pairs" in lines[0]
    assert lines[0].endswith("(the built-in lineage was used: give yours with --lineage PATH)")


def test_an_outgroup_is_matched_by_the_id_rule_and_a_typo_gets_a_suggestion(tmp_path):
    """--outgroup google/gemma-1-7b was refused although relatives finds that model under any case."""
    from Bio import Phylo

    tree_path = tmp_path / "t.nwk"
    tree_path.write_text("((a/x:1,a/y:1):1,(Org/Model-C:1,d/z:1):1,e/w:1);")
    assert run_cli("annotate", tree_path, "-o", tmp_path / "t.nhx", "--outgroup", "org/model-c", "-q").returncode == 0
    rooted = Phylo.read(tmp_path / "t.nhx", "newick")  # Biopython reads the NHX as Newick with comments
    sides = sorted(sorted(leaf.name for leaf in side.get_terminals()) for side in rooted.root.clades)
    assert ["Org/Model-C"] in sides  # rooted on the middle of that leaf's branch
    result = run_cli("annotate", tree_path, "-o", tmp_path / "u.nhx", "--outgroup", "Org/Model-X")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.rstrip().endswith("is not a leaf of the tree (did you mean 'Org/Model-C'?)")


def test_root_outgroup_without_an_outgroup_says_which_option_names_it(tmp_path):
    dna_tree = tmp_path / "t.nwk"
    dna_tree.write_text("((a:1,b:1):1,c:1);")
    result = run_cli("annotate", dna_tree, "-o", tmp_path / "t.nhx", "--root", "outgroup")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "phylo-llm: error: --root outgroup: name the outgroup with --outgroup MODEL (repeatable) or --root-by KEY=VALUE"]


def test_extract_given_dna_says_it_needs_answers_or_a_cache(tmp_path):
    """'expected a folder of model folders, a .jsonl file or a responses.json(.gz)' left out the cache that extract
    also takes, and did not say that DNA needs no extraction."""
    dna = _parquet_dna(tmp_path / "dna.parquet")
    result = run_cli("extract", dna, "-o", tmp_path / "x.parquet")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"phylo-llm: error: {dna}: expected a folder of model folders, a .jsonl of "
                                    "{model, prompt, response} rows, a responses.json(.gz) or a probe cache")
    assert "DNA needs no extraction" in result.stderr and not (tmp_path / "x.parquet").exists()


def _cache_settings(path):
    """The settings of a probe cache read from its header by hand (README's format: magic line, 8-byte length, JSON)."""
    import json
    import struct

    raw = path.read_bytes()
    start = raw.index(b"\n") + 1
    (length,) = struct.unpack("<Q", raw[start:start + 8])
    return json.loads(raw[start + 8:start + 8 + length])["settings"]


def test_answers_as_jsonl_can_name_their_probe_set_and_are_then_comparable_with_a_published_folder(tmp_path):
    """A newcomer's own answers to the rand prompts, as JSONL (the README's form), were probe set 'custom' and so
    refused beside rand.probes ('extract both the same way', which they had done): now a row may carry "dataset",
    as responses.json does, and the refusal says so when the prompts are the same."""
    import json

    from helpers import toy_models, write_folder

    models = toy_models()
    write_folder(tmp_path / "ref", {m: a for m, a in models.items() if m != "org/delta"})  # dataset "toy"
    run_cli("extract", tmp_path / "ref", "-o", tmp_path / "ref.parquet", "--cache", tmp_path / "ref.probes", "-q")
    rows = [{"model": "me/new", "prompt": p, "response": r} for p, r in models["org/delta"].items()]
    for name, extra in (("plain", {}), ("named", {"dataset": "toy"})):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps({**row, **extra}) + "\n" for row in rows))
        result = run_cli("extract", tmp_path / f"{name}.jsonl", "-o", tmp_path / f"{name}.parquet",
                         "--cache", tmp_path / f"{name}.probes", "-q")
        assert result.returncode == 0, result.stderr
    assert _cache_settings(tmp_path / "named.probes")["probe_set"] == "toy"
    assert _cache_settings(tmp_path / "plain.probes")["probe_set"] == "custom"
    assert run_cli("tree", tmp_path / "ref.probes", "-o", tmp_path / "ref.nwk", "-q").returncode == 0
    place = ("place", "--tree", tmp_path / "ref.nwk", "--dna", tmp_path / "ref.probes", "-q")
    refused = run_cli(place[0], tmp_path / "plain.probes", *place[1:])
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert 'add "dataset": "toy" to each JSONL row and extract again' in refused.stderr
    placed = run_cli(place[0], tmp_path / "named.probes", *place[1:])
    assert placed.returncode == 0, placed.stderr
    assert "me/new" in placed.stdout


def test_a_relation_model_refusing_unnamed_jsonl_answers_to_its_prompts_says_what_to_add(tmp_path):
    import json

    from helpers import toy_models, write_folder

    models = toy_models()
    write_folder(tmp_path / "ref", models)  # dataset "toy"
    run_cli("extract", tmp_path / "ref", "-o", tmp_path / "ref.parquet", "--cache", tmp_path / "ref.probes", "-q")
    rows = [{"model": m, "prompt": p, "response": r} for m, answers in models.items() for p, r in answers.items()]
    (tmp_path / "plain.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    run_cli("extract", tmp_path / "plain.jsonl", "-o", tmp_path / "p.parquet", "--cache", tmp_path / "plain.probes", "-q")
    model = pl.relate.load_relation_model("default")
    model.settings = {k: [str(v)] for k, v in _cache_settings(tmp_path / "ref.probes").items() if k != "prompt_keys"}
    with pytest.raises(PhyloLLMError, match='add "dataset": "toy" to each JSONL row'):
        model.check_settings(pl.io.load_probes(tmp_path / "plain.probes"))


def test_root_by_finding_no_leaf_names_the_tree_and_the_lineage_searched(tmp_path):
    """The demo tree rooted by --root-by family=Gemma without --lineage data/demo: the built-in base was searched."""
    tree_path = tmp_path / "t.nwk"
    tree_path.write_text("((a/x:1,a/y:1):1,b/z:1,c/w:1);")
    result = run_cli("annotate", tree_path, "-o", tmp_path / "t.nhx", "--root-by", "family=Gemma")
    assert result.returncode == 2 and not (tmp_path / "t.nhx").exists()
    assert result.stderr.strip().splitlines() == [
        f"phylo-llm: error: {tree_path}: no leaf of the tree has family=Gemma in the lineage "
        "(the built-in lineage: give yours with --lineage PATH)"]
