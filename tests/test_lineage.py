"""Lineage tables: validation, id matching, queries, the shipped knowledge base."""

from __future__ import annotations

import pytest

import phylo_llm as pl
from phylo_llm.lineage import RELATION_TYPES, load_lineage

MODELS = "model,family,organization,architecture\nQwen/Qwen2.5-7B,Qwen,Alibaba,decoder_only\nQwen/Qwen2.5-7B-Instruct,Qwen,Alibaba,decoder_only\nTheBloke/Q-GPTQ,Qwen,TheBloke,decoder_only\n"
EDGES = "child,parent,relation,evidence,confidence\nQwen/Qwen2.5-7B-Instruct,Qwen/Qwen2.5-7B,finetune,name,high\nTheBloke/Q-GPTQ,Qwen/Qwen2.5-7B-Instruct,same_weights,name,high\n"


def folder(tmp_path, models=MODELS, edges=EDGES):
    (tmp_path / "models.csv").write_text(models)
    (tmp_path / "relations.csv").write_text(edges)
    return tmp_path


def test_matching_is_case_insensitive_and_accepts_the_folder_form(tmp_path):
    lineage = load_lineage(folder(tmp_path))
    assert lineage.resolve("qwen/qwen2.5-7b") == "Qwen/Qwen2.5-7B"
    assert lineage.resolve("Qwen_Qwen2.5-7B-Instruct") == "Qwen/Qwen2.5-7B-Instruct"
    assert lineage.resolve("Qwen/Qwen3-8B") is None
    coverage = lineage.coverage(["QWEN/QWEN2.5-7B", "x/unknown"])
    assert coverage.matched == {"QWEN/QWEN2.5-7B": "Qwen/Qwen2.5-7B"} and coverage.missing == ("x/unknown",)
    assert "1 of 2 models" in coverage.summary() and "x/unknown" in coverage.summary()


def test_ancestors_and_selection(tmp_path):
    lineage = load_lineage(folder(tmp_path))
    assert lineage.ancestors("thebloke/q-gptq") == ["Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-7B"]
    assert lineage.select(["TheBloke/Q-GPTQ", "Qwen/Qwen2.5-7B"], "organization", "thebloke") == ["TheBloke/Q-GPTQ"]


def test_user_tables_stack_on_each_other(tmp_path):
    (tmp_path / "base").mkdir()
    base = folder(tmp_path / "base")
    extra = tmp_path / "extra.csv"
    extra.write_text("model,family,organization,architecture\nqwen/qwen2.5-7b,Qwen,Alibaba Cloud,decoder_only\nnew/model,Llama,New,decoder_only\n")
    lineage = load_lineage(base, extra)
    assert lineage.info("Qwen/Qwen2.5-7B")["organization"] == "Alibaba Cloud"
    assert lineage.info("new/model")["family"] == "Llama"
    assert len(lineage.models) == 4


@pytest.mark.parametrize(
    "edges,message",
    [
        ("child,parent,relation\na,b,finetuned\n", r"relations\.csv, line 2: unknown relation type 'finetuned'"),
        ("child,parent,relation\na,A,finetune\n", r"line 2: 'a' is its own parent"),
        ("child,parent,relation\na,b,finetune\nc,d,merge\nA,B,finetune\n", r"line 4: duplicate edge A -> B \(finetune\), first at .*line 2"),
        ("child,parent,relation\na,b,finetune\nb,c,finetune\nc,a,merge\n", r"line 4: cycle in the lineage: a -> b -> c -> a"),
        # Ids as the file writes them, not their matching (lower-case) form.
        ("child,parent,relation\nOrg/Big-A,Org/Big-B,finetune\nOrg/Big-B,Org/Big-A,merge\n",
         r"line 3: cycle in the lineage: Org/Big-A -> Org/Big-B -> Org/Big-A"),
        ("child,relation\na,finetune\n", r"missing column\(s\) parent"),
    ],
)
def test_validation_errors_name_the_row(tmp_path, edges, message):
    with pytest.raises(pl.PhyloLLMError, match=message):
        load_lineage(folder(tmp_path, edges=edges))


def test_shipped_knowledge_base_is_valid_and_keeps_its_evidence():
    lineage = load_lineage()
    assert set(lineage.relations["relation"]) <= set(RELATION_TYPES)
    assert lineage.relations["evidence"].notna().all()
    assert {"family", "organization", "architecture", "params_b", "release"} <= set(lineage.models.columns)
    for column in ("family", "organization", "architecture"):
        assert lineage.models[column].notna().all(), column
    # The published hub metadata calls some VLMs encoder_decoder; the knowledge base corrects it.
    assert lineage.info("Qwen/Qwen2.5-VL-7B-Instruct").get("architecture", "decoder_only") == "decoder_only"


def test_real_sets_are_covered(shared):
    import warnings

    lineage = load_lineage()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pl.PhyloLLMWarning)
        paper = pl.load_dna(shared / "llm-dna-web/dna-out/squad_cqa_hs_wg_arc_mmlu")
        rand = pl.load_dna(shared / "llm-dna-web/dna-out/rand", allow_mixed=True)
    for dna in (paper, rand):
        coverage = lineage.coverage(dna.ids)
        assert coverage.missing == (), coverage.summary()
        for model in dna.ids:
            info = lineage.info(model)
            assert all(info.get(c) for c in ("family", "organization", "architecture")), model


def test_parents_and_children_are_the_rows_a_scan_of_the_relations_finds():
    """The per-id row index gives exactly the rows of a boolean scan of the relations table (pandas), for every model
    of the built-in lineage, case and folder-form variants, unknown ids and None."""
    lineage = load_lineage()
    relations = lineage.relations
    models = [*lineage.models.index[::7], *relations["child"][::5], *relations["parent"][::5]]
    asked = [*models, *(m.upper() for m in models[:50]), *(m.replace("/", "_") for m in models[:50]), "no/such-model", None]
    for model in asked:
        found = lineage.resolve(model)
        assert lineage.parents(model).equals(relations[relations["child"] == found]), model
        assert lineage.children(model).equals(relations[relations["parent"] == found]), model
