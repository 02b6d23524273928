"""The explorer's data and file (Python side): checked against Biopython, pandas and the library's public answers.

The page itself is tested in a real browser in ``test_viewer_browser.py``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from Bio import Phylo

import phylo_llm as pl
from phylo_llm.errors import PhyloLLMError
from phylo_llm.figures.palette import UNKNOWN, family_colour, relation_colour
from phylo_llm.viewer import (
    attribute_colours,
    check_leaves,
    documented_links,
    map_coordinates,
    nearest_models,
    tree_arrays,
)
from phylo_llm.viewer._html import DATA_ID
from tests.helpers import DEMO, run_cli

HOSTILE = ('<script>alert("id")</script>', "a\"b'c", "x&amp;y<z>", "</script><img src=x onerror=alert(2)>", "plain/model")


@pytest.fixture(scope="module")
def demo():
    dna = pl.load_dna(DEMO / "dna.parquet")
    dist = pl.distance_matrix(dna)
    return dna, dist, pl.load_lineage(DEMO)


@pytest.fixture(scope="module")
def demo_page(demo):
    dna, _, lineage = demo
    return pl.view(None, dna, lineage)


def page_data(page: str) -> dict:
    """The JSON block of a page, read with the standard library (not the viewer's code)."""
    found = re.search(rf'<script type="application/json" id="{DATA_ID}">(.*?)</script>', page, re.S)
    assert found is not None
    return json.loads(found.group(1))


def test_nearest_models_are_what_relatives_says(demo):
    _, dist, lineage = demo
    near, relations = nearest_models(dist, lineage, k=7)
    assert relations == sorted(set(lineage.relations["relation"]))
    for model in ("meta-llama/Llama-1-7B-Instruct", "google-t5/T5-2-7B", dist.ids[0], dist.ids[-1]):
        i = dist.ids.index(model)
        table = pl.relatives(model, dist, lineage, k=7)
        ours = near[i]
        assert [dist.ids[j] for j in ours["model"]] == list(table["model"])
        np.testing.assert_allclose(ours["distance"], table["distance"], rtol=1e-6)
        np.testing.assert_allclose(ours["all_pairs_pct"], table["all_pairs_pct"], atol=1e-6)
        for relation in relations:
            np.testing.assert_allclose(ours[f"{relation}_pct"], table[f"{relation}_pct"], atol=1e-6)
        assert ours["documented"] == list(table["documented"])


def test_nearest_models_break_ties_by_id_like_relatives():
    # Four copies of one vector and one other: every distance among the copies ties at 0.
    ids = ("d", "b", "e", "a", "c")
    x = np.array([[0.0, 0.0], [0.0, 0.0], [3.0, 4.0], [0.0, 0.0], [0.0, 0.0]])
    dist = pl.distance_matrix(pl.DNA(ids, x))
    lineage = pl.load_lineage(DEMO)
    near, _ = nearest_models(dist, lineage, k=2)
    for i, model in enumerate(ids):
        assert [ids[j] for j in near[i]["model"]] == list(pl.relatives(model, dist, lineage, k=2)["model"])


def test_tree_arrays_match_biopython(demo):
    _, dist, _ = demo
    tree = pl.mad_root(pl.build_tree(dist))[0]
    index = {m: i for i, m in enumerate(dist.ids)}
    arrays = tree_arrays(tree, index)
    parent, length, model = arrays["parent"], arrays["length"], arrays["model"]
    depth = [0.0] * len(parent)
    for i in range(1, len(parent)):
        assert parent[i] < i  # preorder
        depth[i] = depth[parent[i]] + length[i]
    for leaf in tree.get_terminals():
        node = model.index(index[leaf.name])
        assert depth[node] == pytest.approx(tree.distance(tree.root, leaf), rel=1e-6)
    assert sum(m >= 0 for m in model) == tree.count_terminals() == dist.n_models
    assert len(parent) == len(list(tree.find_clades()))


def test_tree_arrays_read_support_as_proportions():
    percent = Phylo.read(StringIO("((a:1,b:1)95:1,(c:1,d:1)40:1);"), "newick")
    assert sorted(s for s in tree_arrays(percent, dict(a=0, b=1, c=2, d=3))["support"] if s is not None) == [0.4, 0.95]
    share = Phylo.read(StringIO("((a:1,b:1)0.95:1,(c:1,d:1)0.4:1);"), "newick")
    assert sorted(s for s in tree_arrays(share, dict(a=0, b=1, c=2, d=3))["support"] if s is not None) == [0.4, 0.95]
    assert tree_arrays(Phylo.read(StringIO("((a:1,b:1):1,c:1);"), "newick"), dict(a=0, b=1, c=2))["support"] is None


def test_leaves_must_match_the_data():
    tree = Phylo.read(StringIO("((a,b),(c,d));"), "newick")
    with pytest.raises(PhyloLLMError, match="1 leaf not in INPUT: 'd'"):
        check_leaves(tree, ["a", "b", "c"])
    with pytest.raises(PhyloLLMError, match="1 model of INPUT not in the tree: 'e'"):
        check_leaves(tree, ["a", "b", "c", "d", "e"])
    assert check_leaves(tree, ["a", "b", "c"], placed=["d"]) == ["a", "b", "c", "d"]
    with pytest.raises(PhyloLLMError, match="'a' appears 2 times"):
        check_leaves(Phylo.read(StringIO("((a,b),(a,c));"), "newick"), ["a", "b", "c"])


def test_family_colours_are_the_palette(demo):
    _, dist, lineage = demo
    families = [lineage.info(m).get("family") for m in dist.ids] + [None, "(unknown)"]
    colours = attribute_colours("family", families)
    for family, code in zip(families, colours["codes"]):
        assert colours["categories"][code]["colour"] == family_colour(family)
    assert colours["categories"][-1] == {"name": "unknown", "colour": UNKNOWN, "count": 2}
    assert sum(c["count"] for c in colours["categories"]) == len(families)


def test_other_attributes_by_count_then_name():
    colours = attribute_colours("organization", ["b", "a", "b", None, "c", "a", "b"])
    assert [c["name"] for c in colours["categories"]] == ["b", "a", "c", "unknown"]
    assert [c["count"] for c in colours["categories"]] == [3, 2, 1, 1]
    assert colours["categories"][-1]["colour"] == UNKNOWN
    assert len({c["colour"] for c in colours["categories"]}) == 4


def test_documented_links_are_the_lineage_edges(demo):
    _, dist, lineage = demo
    parents, related = documented_links(lineage, dist.ids)
    edges = pd.read_csv(DEMO / "lineage.csv")
    for child, parent, relation in edges[["child", "parent", "relation"]].itertuples(index=False):
        i, j = dist.ids.index(child), dist.ids.index(parent)
        assert [parent, relation, j] in parents[i]
        assert [j, relation, "parent"] in related[i] and [i, relation, "child"] in related[j]
    assert sum(map(len, parents)) == len(edges)
    assert sum(map(len, related)) == 2 * len(edges)


def test_page_is_self_contained_and_deterministic(demo, demo_page):
    dna, _, lineage = demo
    page = demo_page.html
    assert pl.view(None, dna, lineage).html == page  # same bytes from the same input
    assert not re.search(r"\b(src|href)=\"(?!data:)", page)  # nothing loaded from anywhere
    assert not re.search(r"https?://(?!d3js\.org|www\.w3\.org)", page.split(f'id="{DATA_ID}"')[0])
    # The security policy allows exactly the page's own script and style, by hash (computed here with hashlib).
    policy = re.search(r'Content-Security-Policy" content="([^"]+)"', page).group(1)
    script = re.findall(r"<script>(.*?)</script>", page, re.S)
    style = re.findall(r"<style>(.*?)</style>", page, re.S)
    assert len(script) == 1 and len(style) == 1
    for text, kind in ((script[0], "script-src"), (style[0], "style-src")):
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        assert f"{kind} 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy


def test_page_data_round_trips(demo, demo_page):
    data = page_data(demo_page.html)
    assert data == json.loads(json.dumps(demo_page.data))
    _, dist, lineage = demo
    assert data["ids"] == list(dist.ids)
    i = dist.ids.index("meta-llama/Llama-1-7B-Instruct")
    assert data["parents"][i] == [["meta-llama/Llama-1-7B", "finetune", dist.ids.index("meta-llama/Llama-1-7B")]]
    assert data["relation_colours"]["finetune"] == relation_colour("finetune")
    assert len(data["map"]) == 2 * dist.n_models


def test_hostile_ids_stay_data(demo):
    x = np.random.default_rng(1).normal(size=(len(HOSTILE), 8))
    page = pl.view(None, pl.DNA(HOSTILE, x), demo[2]).html
    assert page.count("<script") == 2 and page.count("</script>") == 2  # the data block and the app, nothing else
    assert "<img" not in page and "alert(" not in page.split(f'id="{DATA_ID}"')[0]
    assert page_data(page)["ids"] == list(HOSTILE)


def test_jupyter_shows_it_in_an_iframe(demo_page):
    shown = demo_page._repr_html_()
    assert shown.startswith("<iframe srcdoc=\"") and "<script>" not in shown  # the page is escaped into the attribute
    from html import unescape

    assert unescape(re.search(r'srcdoc="(.*?)"', shown, re.S).group(1)) == demo_page.html


def test_map_is_figure_two_embedding(demo):
    from sklearn.manifold import TSNE

    dna = demo[0].subset(demo[0].ids[:31])  # perplexity min(30, max(2, 30 / 3)) = 10
    expected = TSNE(n_components=2, perplexity=10.0, init="pca", random_state=3).fit_transform(dna.vectors)
    np.testing.assert_allclose(map_coordinates(dna, pl.distance_matrix(dna), seed=3), expected, rtol=1e-6, atol=1e-6)


def test_map_of_three_models_keeps_their_distances():
    dist = pl.DistanceMatrix(("a", "b", "c"), np.array([[0, 3, 4], [3, 0, 5], [4, 5, 0]], dtype=float))
    xy = map_coordinates(dist, dist)
    got = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    np.testing.assert_allclose(got, dist.values, atol=1e-9)


def test_cli_writes_one_page(tmp_path):
    out = tmp_path / "demo.html"
    result = run_cli("view", DEMO / "dna.parquet", "-o", out, "--lineage", DEMO, "--colour-by", "organization", "-k", "3")
    assert result.returncode == 0, result.stderr
    data = page_data(out.read_text())
    assert data["colour_by"] == "organization" and len(data["nearest"][0]["model"]) == 3
    assert "view:" in result.stderr and str(out) in result.stderr


def test_cli_given_tree_placed_models_and_subset(tmp_path, demo):
    _, dist, _ = demo
    # A tree of all but one model, the last placed back into it by phylo-llm place.
    pl.save_dna(pl.load_dna(DEMO / "dna.parquet").subset(dist.ids[1:]), tmp_path / "backbone.parquet")
    pl.save_dna(pl.load_dna(DEMO / "dna.parquet").subset(dist.ids[:1]), tmp_path / "new.parquet")
    assert run_cli("tree", tmp_path / "backbone.parquet", "-o", tmp_path / "backbone.nwk").returncode == 0
    placed = run_cli("place", tmp_path / "new.parquet", "--tree", tmp_path / "backbone.nwk", "--dna", tmp_path / "backbone.parquet",
                     "-o", tmp_path / "placed.nwk", "--csv", tmp_path / "placed.csv", "--lineage", DEMO)
    assert placed.returncode == 0, placed.stderr
    out = tmp_path / "placed.html"
    result = run_cli("view", tmp_path / "backbone.parquet", "--tree", tmp_path / "placed.nwk", "--placed", tmp_path / "placed.csv",
                     "-o", out, "--lineage", DEMO, "-q")
    assert result.returncode == 0, result.stderr
    data = page_data(out.read_text())
    new = data["ids"].index(dist.ids[0])
    assert data["placed"] == [new] and data["map"][2 * new] is None and "pendant_length" in data["extra"][str(new)]
    subset = run_cli("view", DEMO / "dna.parquet", "-o", tmp_path / "llama.html", "--lineage", DEMO, "--only", "family=Llama", "-q")
    assert subset.returncode == 0, subset.stderr
    assert len(page_data((tmp_path / "llama.html").read_text())["ids"]) == 14


@pytest.mark.parametrize("extra, culprit", [
    (["--tree", "TREE"], "1 leaf not in INPUT: 'ghost/model'"),
    (["--colour-by", "colour"], "--colour-by 'colour': the lineage has no such column"),
    (["--only", "family"], "expected KEY=VALUE"),
    (["--only", "family=Nope"], "0 models with family=Nope"),
    (["-k", "0"], "expected a whole number from 1 to 100"),
])
def test_cli_refuses_in_one_line(tmp_path, capsys, extra, culprit):
    from phylo_llm.cli import main

    tree = pl.build_tree(pl.distance_matrix(pl.load_dna(DEMO / "dna.parquet")))
    tree.root.clades.append(Phylo.BaseTree.Clade(name="ghost/model", branch_length=1.0))
    pl.write_tree(tree, tmp_path / "t.nwk")
    out = tmp_path / "x.html"
    args = ["view", str(DEMO / "dna.parquet"), "-o", str(out), "--lineage", str(DEMO),
            *[str(tmp_path / "t.nwk") if a == "TREE" else a for a in extra]]
    try:
        code = main(args)
    except SystemExit as stop:  # argparse: usage, then the error line
        code = stop.code
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert code == 2 and culprit in last and last.startswith("phylo-llm"), err
    assert "Traceback" not in err
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["t.nwk"]


def test_cli_refuses_output_that_is_an_input(tmp_path):
    result = run_cli("view", DEMO / "dna.parquet", "-o", DEMO / "dna.parquet")
    assert result.returncode == 2 and "also an input" in result.stderr


def test_over_the_size_limit_one_line_suggesting_a_subset(monkeypatch, demo, capsys, tmp_path):
    from phylo_llm.cli import main
    from phylo_llm.viewer import _view

    monkeypatch.setattr(_view, "MAX_MODELS", 50)
    with pytest.raises(PhyloLLMError, match=r"70 models is more than the explorer shows \(50\); view a subset, e.g. --only"):
        pl.view(None, demo[0], demo[2])
    assert main(["view", str(DEMO / "dna.parquet"), "-o", str(tmp_path / "big.html")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--only family=Llama" in err[0]
    assert not (tmp_path / "big.html").exists()
