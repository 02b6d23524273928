"""Placement of new models: exact least squares (brute force with SciPy), tree metrics, leave-one-out, APPLES, CLI."""

from __future__ import annotations

import copy
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from Bio import Phylo
from scipy.optimize import minimize

import phylo_llm as pl
from phylo_llm.cli import main
from phylo_llm.distance import distance_matrix, probe_distances
from phylo_llm.io import parse_tree, to_newick
from phylo_llm.simulate import simulate
from phylo_llm.tree import build_tree, insert_placements, iter_preorder, place_distances, tree_split_masks
from tests.helpers import parent_map


def brute_force(tree, names, delta, criterion):
    """Best edge, error, height above the lower node and pendant length, by numerical optimisation per edge."""
    clades = list(iter_preorder(tree))
    parent = parent_map(tree)
    leaves = {c.name: c for c in tree.get_terminals()}
    w = 1.0 / delta**2 if criterion == "fm" else np.ones_like(delta)
    best = (np.inf, None, None)
    for node, clade in enumerate(clades[1:], start=1):
        up, length = parent[id(clade)], clade.branch_length
        below = {t.name for t in clade.get_terminals()}
        inside = np.array([n in below for n in names])
        base = np.array([tree.distance(clade if n in below else up, leaves[n]) for n in names])

        def error(z):
            x, ell = z
            d = np.where(inside, base + x + ell, base + length - x + ell)
            return float(np.sum(w * (delta - d) ** 2))

        fits = [minimize(error, [x0, l0], bounds=[(0, length), (0, None)], method="L-BFGS-B",
                         options={"ftol": 1e-15, "gtol": 1e-12}) for x0 in (0, length / 2, length) for l0 in (0.0, 1.0)]
        fit = min(fits, key=lambda f: f.fun)
        if fit.fun < best[0]:
            best = (fit.fun, node, fit.x)
    return best


@pytest.mark.parametrize("criterion", ["fm", "ols"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_placement_is_the_exact_least_squares_optimum(criterion, seed):
    rng = np.random.default_rng(seed)
    sim = simulate(seed=seed, finetunes_per_base=1, n_families=2)
    dist = distance_matrix(sim.dna)
    names = list(dist.ids)
    query = names.pop(seed)
    tree = build_tree(dist.subset(names))
    delta = dist.values[dist.ids.index(query)][[dist.ids.index(n) for n in names]]
    if seed == 2:  # distances far from any tree metric, so the constraints bind
        delta = delta * rng.uniform(0.3, 1.7, len(delta))
    found = place_distances(tree, [query], delta[None], names, criterion)
    error, node, (x, ell) = brute_force(tree, names, delta, criterion)
    assert found.edge[0] == node
    assert found.error[0] == pytest.approx(error, rel=1e-6, abs=1e-9)
    assert found.distal[0] == pytest.approx(x, abs=1e-5) and found.pendant[0] == pytest.approx(ell, abs=1e-5)


def random_tree(n: int, rng) -> Phylo.BaseTree.Tree:
    """A random binary tree with positive branch lengths (random joins), as Newick text read by Biopython."""
    nodes = [f"L{i}:{rng.uniform(0.1, 1):.6f}" for i in range(n)]
    while len(nodes) > 3:
        i, j = sorted(rng.choice(len(nodes), 2, replace=False))
        joined = f"({nodes[i]},{nodes[j]}):{rng.uniform(0.1, 1):.6f}"
        nodes = [x for k, x in enumerate(nodes) if k not in (i, j)] + [joined]
    return Phylo.read(io.StringIO(f"({','.join(nodes)});"), "newick")


@pytest.mark.parametrize("criterion", ["fm", "ols"])
def test_a_leaf_of_a_tree_metric_goes_back_exactly(criterion):
    rng = np.random.default_rng(7)
    for _ in range(5):
        full = random_tree(12, rng)
        query = f"L{int(rng.integers(12))}"
        names = sorted(t.name for t in full.get_terminals() if t.name != query)
        leaf = next(t for t in full.get_terminals() if t.name == query)
        delta = np.array([full.distance(leaf, next(t for t in full.get_terminals() if t.name == n)) for n in names])
        pruned = copy.deepcopy(full)
        pruned.prune(query)
        found = place_distances(pruned, [query], delta[None], names, criterion)
        assert found.error[0] == pytest.approx(0.0, abs=1e-12)
        assert found.pendant[0] == pytest.approx(leaf.branch_length, abs=1e-9)
        back = insert_placements(pruned, found)
        every = tuple(sorted(t.name for t in full.get_terminals()))
        assert {m.tobytes() for m in tree_split_masks(back, every)[1]} == {m.tobytes() for m in tree_split_masks(full, every)[1]}
        placed = next(t for t in back.get_terminals() if t.name == query)
        for other in names[:4]:
            a = back.distance(placed, next(t for t in back.get_terminals() if t.name == other))
            assert a == pytest.approx(full.distance(leaf, next(t for t in full.get_terminals() if t.name == other)), abs=1e-9)


@pytest.mark.parametrize("local", [None, 25])
def test_leave_one_out_returns_to_well_supported_edges(local):
    """Remove a leaf, place it back: where its neighbouring splits have >= 70% bootstrap support, it returns (>= 95%)."""
    returned, total, overall = 0, 0, []
    for seed in range(3):
        sim = simulate(seed=seed, finetunes_per_base=6, dim=512)
        probes = sim.probes(64)
        result = pl.bootstrap_support(probes, replicates=50, seed=0)
        tree, dist = result.tree, probe_distances(probes)
        names = tuple(sorted(dist.ids))
        reference = {m.tobytes() for m in tree_split_masks(tree, names)[1]}
        parent = parent_map(tree)
        for leaf in tree.get_terminals():
            up = parent[id(leaf)]
            neighbours = [c for c in up.clades if c is not leaf] + ([up] if id(up) in parent else [])
            supports = [c.confidence for c in neighbours if c.confidence is not None]
            pruned = copy.deepcopy(tree)
            pruned.prune(leaf.name)
            keep = [n for n in dist.ids if n != leaf.name]
            row = dist.values[dist.ids.index(leaf.name)][[dist.ids.index(n) for n in keep]]
            back = insert_placements(pruned, place_distances(pruned, [leaf.name], row[None], keep, local=local))
            same = {m.tobytes() for m in tree_split_masks(back, names)[1]} == reference
            overall.append(same)
            if min(supports, default=1.0) >= 0.7:
                total += 1
                returned += same
    assert total >= 30 and returned / total >= 0.95, f"{returned} of {total}"
    assert np.mean(overall) > 0.5


@pytest.mark.parametrize("local", [None, 25])
def test_same_edge_as_apples_in_the_large_majority(tmp_path, local):
    """APPLES 2 (FM, MLSE) on the same backbone and distances: same edge, error and pendant length.

    ``local=None``: all distances (APPLES with its filter off, ``-f 1e9``). ``local=25``: APPLES' defaults,
    which keep the 25 nearest leaves when no distance is below its 0.2 filter (as here)."""
    pytest.importorskip("apples")
    script = Path(sys.executable).with_name("run_apples.py")
    if not script.exists():
        script = shutil.which("run_apples.py")
        if script is None:
            pytest.skip("run_apples.py (APPLES) is not installed")
    sim = simulate(seed=3, finetunes_per_base=4)
    dist = distance_matrix(sim.dna)
    queries = list(dist.ids[::7])
    names = [n for n in dist.ids if n not in queries]
    tree = build_tree(dist.subset(names))
    rows = dist.values[np.ix_([dist.ids.index(q) for q in queries], [dist.ids.index(n) for n in names])]
    (tmp_path / "backbone.nwk").write_text(to_newick(tree).replace("/", "|") + "\n")
    with open(tmp_path / "dist.txt", "w") as handle:
        handle.write("\t" + "\t".join(n.replace("/", "|") for n in names) + "\n")
        for q, row in zip(queries, rows):
            handle.write(q.replace("/", "|") + "\t" + "\t".join(repr(float(v)) for v in row) + "\n")
    subprocess.run([sys.executable, str(script), "-t", str(tmp_path / "backbone.nwk"), "-d", str(tmp_path / "dist.txt"),
                    "-o", str(tmp_path / "out.jplace"), "-T", "1", *(["-f", "1e9"] if local is None else [])],
                   check=True, capture_output=True)
    jplace = json.loads((tmp_path / "out.jplace").read_text())
    # APPLES numbers edges {k} in its own copy of the tree: identify each edge by the leaves below it.
    labelled = parse_tree(re.sub(r"\{(\d+)\}", r"[&&NHX:edge=\1]", jplace["tree"]))
    edge_leaves = {}
    for clade in iter_preorder(labelled):
        number = (getattr(clade, "features", None) or {}).get("edge")
        if number is not None:
            edge_leaves[int(number)] = frozenset(t.name.replace("|", "/") for t in clade.get_terminals())
    apples = {p["n"][0].replace("|", "/"): (edge_leaves[int(p["p"][0][0])], p["p"][0]) for p in jplace["placements"]}
    ours = place_distances(tree, queries, rows, names, local=local)
    clades = list(iter_preorder(tree))
    everything = frozenset(names)
    same = 0
    for i, q in enumerate(queries):
        mine = frozenset(t.name for t in clades[ours.edge[i]].get_terminals())
        theirs, (_, error, _, distal, pendant) = apples[q]
        if mine == theirs or mine == everything - theirs:
            same += 1
            assert ours.error[i] == pytest.approx(error, rel=1e-6) and ours.pendant[i] == pytest.approx(pendant, rel=1e-6)
    assert same / len(queries) >= 0.9, f"same edge as APPLES for {same} of {len(queries)}"


def test_place_cli_with_dna_and_bad_inputs(tmp_path, capsys):
    sim = simulate(seed=0, finetunes_per_base=2)
    new_ids = [sim.dna.ids[3], sim.dna.ids[10]]
    backbone_ids = [m for m in sim.dna.ids if m not in new_ids]
    pl.save_dna(sim.dna, tmp_path / "all.parquet")
    pl.save_dna(sim.dna.subset(new_ids), tmp_path / "new.parquet")
    pl.write_tree(build_tree(distance_matrix(sim.dna.subset(backbone_ids))), tmp_path / "backbone.nwk")
    lineage = tmp_path / "lineage.csv"
    sim.relations.to_csv(lineage, index=False)
    code = main(["place", str(tmp_path / "new.parquet"), "--tree", str(tmp_path / "backbone.nwk"), "--dna", str(tmp_path / "all.parquet"),
                 "-o", str(tmp_path / "placed.nwk"), "--csv", str(tmp_path / "placed.csv"), "--lineage", str(lineage), "-q"])
    assert code == 0
    placed = pl.read_tree(tmp_path / "placed.nwk")
    assert sorted(t.name for t in placed.get_terminals()) == sorted(sim.dna.ids)
    table = pd.read_csv(tmp_path / "placed.csv")
    assert list(table["model"]) == new_ids
    assert {"joins", "joins_size", "pendant_length", "distal_length", "error", "nearest", "documented"} <= set(table.columns)
    assert (table["pendant_length"] >= 0).all()
    # The backbone leaf nearest each placed model in the new tree is listed first in "nearest".
    patristic = {t.name: placed.distance(next(x for x in placed.get_terminals() if x.name == table["model"][0]), t)
                 for t in placed.get_terminals() if t.name not in new_ids}
    assert table["nearest"][0].split(" (")[0] == min(sorted(patristic), key=patristic.get) == table["nearest_leaf"][0]

    before = (tmp_path / "placed.csv").read_bytes()
    bad = [
        (["place", str(tmp_path / "all.parquet")], "already in the tree"),
        (["place", str(tmp_path / "new.parquet"), "--dna", str(tmp_path / "new.parquet")], "has no row for the tree's leaf"),
    ]
    other = sim.dna.metadata.copy()
    other["dna_dim"] = 64
    pl.save_dna(pl.DNA(sim.dna.ids, sim.dna.vectors, other), tmp_path / "other.parquet")
    bad.append((["place", str(tmp_path / "other.parquet")], "dna_dim"))
    for argv, message in bad:
        if "--dna" not in argv:
            argv = argv + ["--dna", str(tmp_path / "all.parquet")]
        argv = argv + ["--tree", str(tmp_path / "backbone.nwk"), "-o", str(tmp_path / "x.nwk"), "--csv", str(tmp_path / "placed.csv")]
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
        assert not (tmp_path / "x.nwk").exists() and (tmp_path / "placed.csv").read_bytes() == before


def test_placement_bootstrap_share_from_probe_caches(tmp_path):
    sim = simulate(seed=1, finetunes_per_base=2, dim=256)
    probes = sim.probes(32)
    new_ids = [probes.ids[4], probes.ids[17]]
    backbone = probes.subset([m for m in probes.ids if m not in new_ids])
    tree = build_tree(probe_distances(backbone))
    result = pl.place(probes.subset(new_ids), tree, backbone, replicates=20, seed=0)
    share = result.table["bootstrap_share"].to_numpy()
    assert ((share >= 0) & (share <= 1)).all() and share.max() > 0
    # A copy of a backbone model (identical embeddings) lands on that model's own branch in every replicate
    # (a leaf with a branch of its own: at a zero-length leaf every branch around its parent is as good).
    leaf = next(t.name for t in tree.get_terminals() if t.branch_length > 0.1)
    twin = pl.ProbeEmbeddings(("copy/of-leaf",), np.asarray(backbone.subset([leaf]).values), dict(backbone.settings))
    again = pl.place(twin, tree, backbone, replicates=10, seed=0)
    assert again.table["bootstrap_share"][0] == 1.0 and again.table["joins"][0] == leaf
    assert again.table["pendant_length"][0] == pytest.approx(0.0, abs=1e-9)


def test_documented_relatives_are_listed_with_their_tree_distance_rank():
    sim = simulate(seed=0)
    lineage = pl.load_lineage(Path(__file__).resolve().parents[1] / "data" / "demo")
    model = "meta-llama/Llama-1-7B-Instruct"
    backbone = sim.dna.subset([m for m in sim.dna.ids if m != model])
    result = pl.place(sim.dna.subset([model]), build_tree(distance_matrix(backbone)), backbone, lineage=lineage)
    placed = result.tree
    me = next(t for t in placed.get_terminals() if t.name == model)
    others = sorted((placed.distance(me, t), t.name) for t in placed.get_terminals() if t.name != model)
    rank = {name: k for k, (_, name) in enumerate(others, start=1)}  # Biopython's tree distances
    documented = result.table["documented"][0]
    edges = sim.relations
    expected = [("parent", p, r) for p, r in zip(edges["parent"][edges["child"] == model], edges["relation"][edges["child"] == model])]
    expected += [("child", c, r) for c, r in zip(edges["child"][edges["parent"] == model], edges["relation"][edges["parent"] == model])]
    assert len(expected) >= 3
    for role, other, relation in expected:
        assert f"{role} {other} ({relation}, tree rank {rank[other]})" in documented
