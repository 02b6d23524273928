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
from .errors import PhyloLLMError
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

    Examples
    --------
    >>> sim = simulate(seed=0)
    >>> len(sim.dna.ids), list(sim.relations.columns[:3]), sim.tree.count_terminals()
    (70, ['child', 'parent', 'relation'], 70)
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


def check_simulation_folder(folder: str | Path, hub: bool) -> None:
    """Refuse a ``folder`` holding the DNA of the other kind of simulation (``dna/`` beside a new ``dna.parquet``, or
    ``dna.parquet`` beside a new ``dna/``): the folder's ``lineage.csv`` and ``true_tree.nwk`` would be replaced, and
    the old DNA, read first from the folder, scored against a lineage that is not its own.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> open(os.path.join(folder, "dna.parquet"), "w").close()
    >>> check_simulation_folder(folder, hub=True)
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: ...dna.parquet: DNA of another simulation, which would no longer match ...
    """
    stale = Path(folder) / ("dna.parquet" if hub else "dna")
    if stale.exists() and (hub or not stale.is_dir() or any(stale.iterdir())):
        raise PhyloLLMError(f"{stale}: DNA of another simulation, which would no longer match this folder's lineage.csv "
                            "and true_tree.nwk; give a new folder")


def write_simulation(sim: Simulation, folder: str | Path) -> None:
    """Write ``dna.parquet``, ``lineage.csv`` (relations), ``models.csv`` and ``true_tree.nwk`` into ``folder``.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> write_simulation(simulate(seed=0), folder)
    >>> sorted(os.listdir(folder))
    ['dna.parquet', 'lineage.csv', 'models.csv', 'true_tree.nwk']
    """
    folder = Path(folder)
    check_simulation_folder(folder, hub=False)
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


#: Share of hub models of each kind of derivation (the rest are fine-tunes); no merges, so the truth is a tree.
HUB_KINDS = {"same_weights": 0.15, "continued_pretraining": 0.05}


@dataclass(frozen=True)
class HubSimulation:
    """A model hub of ``n`` models descending from a few hundred base models, and its true tree.

    The latent DNA of every model is held (float32, ``n x dim``); observed DNA
    (latent + sampling noise) is drawn chunk by chunk by :meth:`observed`, so
    a million models are written without holding two copies.

    Attributes
    ----------
    ids : tuple of str
        ``f{family:04d}/m{index:07d}``: the family is the base model the model descends from.
    parent : numpy.ndarray
        Index of each model's parent (``-1`` for base models); parents come first.
    relation : numpy.ndarray
        Kind of derivation of each model (``""`` for base models).
    latent : numpy.ndarray
        ``(n, dim)`` float32 latent DNA.

    Examples
    --------
    >>> hub = simulate_hub(1000, dim=16, seed=0)
    >>> len(hub.ids), hub.latent.shape, int((hub.parent == -1).sum()) > 0
    (1000, (1000, 16), True)
    """

    ids: tuple[str, ...]
    parent: np.ndarray
    relation: np.ndarray
    latent: np.ndarray
    noise: float
    seed: int

    @property
    def n_models(self) -> int:
        return len(self.ids)

    def observed(self, start: int, stop: int) -> np.ndarray:
        """Observed DNA of models ``start:stop`` (float32); each chunk has its own generator, so any chunking agrees."""
        out = np.empty((stop - start, self.latent.shape[1]), dtype=np.float32)
        step = HUB_CHUNK
        for first in range(start - start % step, stop, step):
            rng = np.random.default_rng([self.seed, 1, first])
            block = self.latent[first:first + step] + rng.normal(0.0, self.noise, (min(step, self.n_models - first), self.latent.shape[1]))
            lo, hi = max(first, start), min(first + step, stop)
            out[lo - start:hi - start] = block[lo - first:hi - first]
        return out

    def relations(self) -> pd.DataFrame:
        """Documented parent edges: ``child, parent, relation, evidence, confidence``."""
        child = np.flatnonzero(self.parent >= 0)
        ids = np.array(self.ids, dtype=object)
        return pd.DataFrame({"child": ids[child], "parent": ids[self.parent[child]], "relation": self.relation[child],
                             "evidence": "simulated", "confidence": "high"})

    def models(self) -> pd.DataFrame:
        """One row per model: ``model, family, is_base``."""
        return pd.DataFrame({"model": self.ids, "family": [m.split("/", 1)[0] for m in self.ids], "is_base": self.parent < 0})

    def tree(self) -> Tree:
        """The true lineage, rooted (a model with derivatives is an internal node with itself as a zero-length leaf)."""
        n = self.n_models
        step = np.zeros(n)
        child = np.flatnonzero(self.parent >= 0)
        for lo in range(0, len(child), HUB_CHUNK):  # drift lengths, in chunks (no n x dim float64 temporary)
            rows = child[lo:lo + HUB_CHUNK]
            diff = self.latent[rows].astype(np.float64) - self.latent[self.parent[rows]]
            step[rows] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        roots = np.flatnonzero(self.parent < 0)
        origin = self.latent[roots].astype(np.float64).mean(axis=0)
        step[roots] = np.linalg.norm(self.latent[roots] - origin, axis=1)
        has_children = np.zeros(n, dtype=bool)
        has_children[self.parent[child]] = True
        clades = [Clade(branch_length=float(step[i]), clades=[Clade(name=self.ids[i], branch_length=0.0)])
                  if has_children[i] else Clade(name=self.ids[i], branch_length=float(step[i])) for i in range(n)]
        for i in child:  # parents come first, so children are appended in index order
            clades[self.parent[i]].clades.append(clades[i])
        return Tree(root=Clade(clades=[clades[i] for i in roots]), rooted=True)


#: Models per generator block of :meth:`HubSimulation.observed` (and rows per written partition by default).
HUB_CHUNK = 50_000


def simulate_hub(n_models: int, dim: int = 128, noise: float = 0.45, seed: int = 0, n_bases: int | None = None) -> HubSimulation:
    """Simulate a model hub: base models, then models derived from earlier ones, with their DNA.

    Each new model derives from a uniformly chosen earlier model (a random
    recursive tree: a few very popular bases, depth growing like log n), by
    fine-tuning (80%), a quantized copy (15%) or continued pretraining (5%),
    drifting as :data:`DRIFT` says; base models are drawn N(0, 1) per dimension,
    as in :func:`simulate`.

    Parameters
    ----------
    n_models : int
        At least 3.
    dim, noise, seed
        As :func:`simulate`.
    n_bases : int, optional
        Base models (default ``max(3, round(sqrt(n) / 2))``: 500 for a million models).

    Examples
    --------
    >>> hub = simulate_hub(1000, dim=16, seed=0)
    >>> hub.n_models, int((hub.parent < 0).sum()), hub.tree().count_terminals()
    (1000, 16, 1000)
    """
    if n_models < 3:
        raise ValueError("a hub needs at least 3 models")
    bases = min(n_models, n_bases or max(3, round(np.sqrt(n_models) / 2)))
    rng = np.random.default_rng([seed, 0])
    index = np.arange(n_models)
    parent = np.where(index < bases, -1, np.floor(rng.random(n_models) * np.maximum(index, 1)).astype(np.int64))
    draw = rng.random(n_models)
    relation = np.where(draw < HUB_KINDS["same_weights"], "same_weights",
                        np.where(draw < sum(HUB_KINDS.values()), "continued_pretraining", "finetune")).astype(object)
    relation[:bases] = ""
    family = np.empty(n_models, dtype=np.int64)
    depth = np.zeros(n_models, dtype=np.int64)
    family[:bases] = index[:bases]
    for i in range(bases, n_models):  # parents come first
        family[i] = family[parent[i]]
        depth[i] = depth[parent[i]] + 1
    latent = np.empty((n_models, dim), dtype=np.float32)
    latent[:bases] = rng.normal(0.0, 1.0, (bases, dim))
    sd = np.array([DRIFT.get(r, 0.0) for r in relation])
    for level in range(1, int(depth.max()) + 1):  # a generation at a time: its parents are all drawn
        rows = np.flatnonzero(depth == level)
        for lo in range(0, len(rows), HUB_CHUNK):
            chunk = rows[lo:lo + HUB_CHUNK]
            latent[chunk] = latent[parent[chunk]] + rng.normal(0.0, 1.0, (len(chunk), dim)) * sd[chunk, None]
    ids = tuple(f"f{f:04d}/m{i:07d}" for f, i in zip(family, index))
    return HubSimulation(ids, parent, relation, latent, noise, seed)


def write_hub_simulation(hub: HubSimulation, folder: str | Path, part_rows: int = HUB_CHUNK, progress: bool = False) -> None:
    """Write ``dna/`` (a partitioned dataset, streamed), ``lineage.csv``, ``models.csv`` and ``true_tree.nwk`` into ``folder``.

    Both folders must exist (an :class:`~phylo_llm.io.OutputPlan` creates them, and removes them if writing fails).

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> os.mkdir(folder + "/dna")
    >>> write_hub_simulation(simulate_hub(1000, dim=16, seed=0), folder, part_rows=400)
    >>> sorted(os.listdir(folder))
    ['dna', 'lineage.csv', 'models.csv', 'true_tree.nwk']
    """
    from .hub import DatasetWriter  # the partitioned dataset format
    from .progress import Progress

    folder = Path(folder)
    check_simulation_folder(folder, hub=True)
    settings = {"probe_set": "simulated", "encoder": "simulated"}
    with DatasetWriter(folder / "dna", hub.latent.shape[1], settings, part_rows) as out, \
            Progress(hub.n_models, "writing DNA", enabled=progress) as bar:
        for start in range(0, hub.n_models, part_rows):
            stop = min(start + part_rows, hub.n_models)
            out.write(hub.ids[start:stop], hub.observed(start, stop))
            bar.update(stop - start)
    io.write_table(hub.relations(), folder / "lineage.csv")
    io.write_table(hub.models(), folder / "models.csv")
    io.write_tree(hub.tree(), folder / "true_tree.nwk")
