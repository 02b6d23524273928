"""DNA evolving along a known lineage: demo data and ground truth for tests.

Each model has a latent DNA. A base model of a family starts far from the
others; a derivative moves from its parent by Gaussian drift whose size
depends on the kind of derivation (continued pretraining > fine-tune >
quantized copy); a merge starts at the mean of its parents. What is observed
is the latent DNA plus sampling noise, because answers are sampled: two
copies of the same weights never give the same DNA.

Noise calibration: on the published paper set (Euclidean distance, the
development relations of ``shared/data/lineage``), documented same-weights
copies sit at a median 0.39 of the median all-pairs distance. With the
default ``noise=0.45`` simulated copies sit at 0.39 too (mean over seeds 0-2).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from Bio.Phylo.BaseTree import Clade, Tree

from . import io
from .dna import DNA
from .probes import ProbeEmbeddings

#: Drift standard deviation per dimension, relative to the spread between families.
DRIFT = {"continued_pretraining": 0.45, "finetune": 0.35, "merge": 0.12, "same_weights": 0.03}
FAMILIES = (
    ("Llama", "meta-llama", "decoder_only"),
    ("Qwen", "Qwen", "decoder_only"),
    ("Mistral", "mistralai", "decoder_only"),
    ("Gemma", "google", "decoder_only"),
    ("T5", "google-t5", "encoder_decoder"),
)
COMMUNITY = ("NousResearch", "teknium", "OpenAssistant", "lmsys", "HuggingFaceH4", "allenai")


@dataclass(frozen=True)
class Simulation:
    """Simulated DNA and the truth behind it.

    Attributes
    ----------
    dna : DNA
        Observed DNA (latent + sampling noise); metadata holds family, organization, architecture.
    relations : pandas.DataFrame
        Documented parent edges: ``child, parent, relation, evidence, confidence``.
    models : pandas.DataFrame
        One row per model: ``model, family, organization, architecture, is_base``.
    tree : Bio.Phylo.BaseTree.Tree
        The true lineage as a rooted tree whose leaves are the observed models;
        a model with derivatives is an internal node with itself as a zero-length leaf.
    """

    dna: DNA
    relations: pd.DataFrame
    models: pd.DataFrame
    tree: Tree

    def probes(self, n_probes: int = 32) -> ProbeEmbeddings:
        """The observed DNA cut into ``n_probes`` blocks of consecutive dimensions, as per-probe embeddings.

        Every dimension drifts and is observed independently, so the blocks
        are exchangeable "probes": resampling them is a probe bootstrap.
        """
        n, dim = self.dna.vectors.shape
        if n_probes < 1 or dim % n_probes:
            raise ValueError(f"n_probes must divide the DNA dimension {dim}")
        values = self.dna.vectors.reshape(n, n_probes, dim // n_probes).astype(np.float32)
        settings = {"probe_set": "simulated", "probe_count": n_probes, "encoder": "simulated", "probe_dim": dim // n_probes}
        return ProbeEmbeddings(self.dna.ids, values, settings, "simulated")


def write_simulation(sim: Simulation, folder) -> None:
    """Write ``dna.parquet``, ``lineage.csv`` (relations), ``models.csv`` and ``true_tree.nwk`` into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    io.save_dna(sim.dna, folder / "dna.parquet")
    io.write_table(sim.relations, folder / "lineage.csv")
    io.write_table(sim.models, folder / "models.csv")
    io.write_tree(sim.tree, folder / "true_tree.nwk")


def simulate(
    n_families: int = 5,
    finetunes_per_base: int = 3,
    dim: int = 128,
    noise: float = 0.45,
    seed: int = 0,
) -> Simulation:
    """Simulate a lineage of LLMs and their observed DNA.

    Parameters
    ----------
    n_families : int
        Pretraining lineages, 1 to 5 (Llama, Qwen, Mistral, Gemma, T5).
    finetunes_per_base : int
        Community fine-tunes of each instruct model.
    dim : int
        DNA dimension.
    noise : float
        Sampling-noise standard deviation per dimension (families are 1 apart per dimension);
        the default reproduces the copy-to-random distance ratio of the published data.
    seed : int
        Everything is drawn from ``numpy.random.default_rng(seed)``.

    Returns
    -------
    Simulation

    Examples
    --------
    >>> sim = simulate(n_families=2, seed=0)
    >>> sim.dna.n_models, len(sim.relations), sim.tree.count_terminals()
    (28, 30, 28)
    """
    if not 1 <= n_families <= len(FAMILIES):
        raise ValueError(f"n_families must be between 1 and {len(FAMILIES)}")
    rng = np.random.default_rng(seed)
    latent: dict[str, np.ndarray] = {}
    models: list[dict] = []
    edges: list[dict] = []

    def add(name: str, family: tuple, parents: list[str], relation: str | None, org: str) -> str:
        if parents and relation is not None:
            start = np.mean([latent[p] for p in parents], axis=0)
            latent[name] = start + rng.normal(0.0, DRIFT[relation], dim)
            for parent in parents:
                edges.append({"child": name, "parent": parent, "relation": relation, "evidence": "simulated", "confidence": "high"})
        else:
            latent[name] = rng.normal(0.0, 1.0, dim)
        models.append(
            {"model": name, "family": family[0], "organization": org, "architecture": family[2], "is_base": not parents}
        )
        return name

    for family in FAMILIES[:n_families]:
        name, org, _ = family
        generations = [add(f"{org}/{name}-1-7B", family, [], None, org)]
        generations.append(add(f"{org}/{name}-2-7B", family, [generations[0]], "continued_pretraining", org))
        for base in generations:
            instruct = add(f"{base}-Instruct", family, [base], "finetune", org)
            add(f"TheBloke/{base.split('/')[1]}-Instruct-GPTQ", family, [instruct], "same_weights", "TheBloke")
            tunes = []
            for k in range(finetunes_per_base):
                community = COMMUNITY[int(rng.integers(len(COMMUNITY)))]
                tunes.append(add(f"{community}/{base.split('/')[1]}-tune-{k + 1}", family, [instruct], "finetune", community))
            if len(tunes) >= 2:
                add(f"mergekit-community/{base.split('/')[1]}-merge", family, tunes[:2], "merge", "mergekit-community")

    ids = tuple(m["model"] for m in models)
    observed = np.vstack([latent[m] for m in ids]) + rng.normal(0.0, noise, (len(ids), dim))
    model_table = pd.DataFrame(models)
    meta = model_table.drop(columns=["model"]).assign(probe_set="simulated", dna_dim=dim)
    dna = DNA(ids, observed, meta, source="simulated")
    relations = pd.DataFrame(edges, columns=["child", "parent", "relation", "evidence", "confidence"])
    return Simulation(dna, relations, model_table, _true_tree(ids, latent, relations))


def _true_tree(ids: tuple[str, ...], latent: dict[str, np.ndarray], relations: pd.DataFrame) -> Tree:
    # A merge hangs under its first parent; drift lengths are the latent Euclidean steps.
    primary = relations.drop_duplicates("child").set_index("child")["parent"].to_dict()
    children: dict[str, list[str]] = {m: [] for m in ids}
    for child, parent in primary.items():
        children[parent].append(child)

    def clade(model: str) -> Clade:
        length = float(np.linalg.norm(latent[model] - latent[primary[model]])) if model in primary else None
        if not children[model]:
            return Clade(name=model, branch_length=length)
        node = Clade(branch_length=length, clades=[Clade(name=model, branch_length=0.0)])
        node.clades.extend(clade(c) for c in children[model])
        return node

    roots = [m for m in ids if m not in primary]
    origin = np.mean([latent[m] for m in roots], axis=0)
    top = Clade(clades=[clade(m) for m in roots])
    for sub, model in zip(top.clades, roots):
        sub.branch_length = float(np.linalg.norm(latent[model] - origin))
    return Tree(root=top, rooted=True)
