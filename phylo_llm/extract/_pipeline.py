"""RepTrace-style extraction: answers -> per-answer embeddings -> concatenation -> random projection -> DNA."""

from __future__ import annotations

import hashlib
import os
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._memory import require_memory
from ..dna import DNA
from ..errors import PhyloLLMError, PhyloLLMWarning
from ..probes import ProbeEmbeddings
from ..progress import Progress
from ._encoders import EMPTY_ANSWER, encoder_spec, make_encoder
from ._responses import AnswerStats, iter_answers, prompt_key

#: Models embedded before each projection step (bounds memory; the result does not depend on it).
BATCH = 64


def source_name(source: str | Path | list[Path]) -> str:
    """How messages name ``source``: the path, or for a list of paths their common folder and count.

    Examples
    --------
    >>> source_name([Path("a/x/responses.json.gz"), Path("a/y/responses.json.gz")])
    'a (2 files)'
    """
    if isinstance(source, (list, tuple)):
        if len(source) == 1:
            return str(source[0])
        try:
            common = os.path.commonpath([str(p) for p in source]) or "."
        except ValueError:  # absolute and relative paths mixed
            common = str(source[0])
        return f"{common} ({len(source)} files)"
    return str(source)


def prompt_set(
    source: str | Path | list[Path], only: list[str] | None = None, known: dict[str, str] | None = None
) -> tuple[list[str], dict[str, list[str]], str | None, int]:
    """First pass: the shared prompt set, the models missing some of it, the dataset name, the model count.

    The prompt set is every prompt answered by more than half of the models,
    in the order of their SHA-256 (so it does not depend on file order);
    with ``only`` (:func:`prompt_key` values, e.g. from a probe cache), exactly those prompts;
    ``known`` gives prompt texts by key (a part of a larger set of models need not answer every prompt).

    Examples
    --------
    >>> path = "data/demo/answers.jsonl"  # 2 models (a/x, b/y) answering 3 prompts ("prompt 0": "a/x says 0", ...)
    >>> prompts, missing, dataset, n_models = prompt_set(path)
    >>> sorted(prompts), missing, n_models
    (['prompt 0', 'prompt 1', 'prompt 2'], {}, 2)
    """
    seen: Counter = Counter()
    per_model: dict[str, set[str]] = {}
    datasets: Counter = Counter()
    texts: dict[str, str] = dict(known or {})
    for record in iter_answers(source):
        if record.model in per_model:
            raise PhyloLLMError(f"{record.source}: model {record.model!r} appears twice")
        keys = set()
        for prompt in record.answers:
            key = prompt_key(prompt)
            texts.setdefault(key, prompt)
            keys.add(key)
        per_model[record.model] = keys
        seen.update(keys)
        if record.dataset:
            datasets[record.dataset] += 1
    if not per_model:
        raise PhyloLLMError(f"{source_name(source)}: no answers found")
    shared = sorted(k for k, count in seen.items() if count * 2 > len(per_model)) if only is None else sorted(only)
    unknown = [k for k in shared if k not in texts]
    if unknown:
        raise PhyloLLMError(f"{source_name(source)}: no model answered prompt {unknown[0]} of the reference prompt set ({len(unknown)} such prompts)")
    if not shared:
        raise PhyloLLMError(f"{source_name(source)}: the models answered different prompts: no prompt is shared by most of them")
    missing = {m: [k for k in shared if k not in keys] for m, keys in per_model.items()}
    missing = {m: v for m, v in missing.items() if v}
    dataset = datasets.most_common(1)[0][0] if datasets else None
    return [texts[k] for k in shared], missing, dataset, len(per_model)


def prompt_fingerprint(prompts: list[str]) -> str:
    """16 hex digits identifying a prompt set (order-free).

    Examples
    --------
    >>> prompt_fingerprint(["b", "a"]) == prompt_fingerprint(["a", "b"])  # order-free
    True
    >>> prompt_fingerprint(["a", "b"])
    '8ea49fa18e6a7361'
    """
    joined = "\n".join(sorted(prompt_key(p) for p in prompts))
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


def projection_block(probe: int, answer_dim: int, dim: int, seed: int) -> np.ndarray:
    """Rows ``probe * answer_dim ...`` of the shared Gaussian Johnson-Lindenstrauss matrix, N(0, 1/dim).

    The matrix (probes x answer_dim, dim) is never held whole (600 x 1024 x 2048 float32 would be 5 GB):
    each probe's block comes from its own generator seeded by (seed, probe, answer_dim, dim), so it is
    the same for every model, batch and run.

    Examples
    --------
    >>> block = projection_block(0, answer_dim=4, dim=5, seed=0)
    >>> block.shape, bool((block == projection_block(0, 4, 5, 0)).all())
    ((4, 5), True)
    """
    rng = np.random.default_rng([seed, probe, answer_dim, dim])
    block = rng.standard_normal((answer_dim, dim), dtype=np.float32)
    block *= np.float32(1.0 / np.sqrt(dim))
    return block


def project(embedded: np.ndarray, dim: int, seed: int) -> np.ndarray:
    """Random projection of concatenated answer embeddings ``(models, probes, answer_dim)`` to ``(models, dim)``.

    Examples
    --------
    >>> import numpy as np
    >>> embedded = np.ones((2, 3, 4))  # 2 models, 3 probes, answers of 4 dimensions
    >>> project(embedded, dim=5, seed=0).shape
    (2, 5)
    """
    models, probes, answer_dim = embedded.shape
    out = np.zeros((models, dim), dtype=np.float64)
    for probe in range(probes):
        out += embedded[:, probe, :] @ projection_block(probe, answer_dim, dim, seed)
    return out


@dataclass(frozen=True)
class Extraction:
    """What :func:`extract` computed: the DNA, answer statistics and (when asked) the per-probe embeddings.

    Examples
    --------
    >>> path = "data/demo/answers.jsonl"  # 2 models (a/x, b/y) answering 3 prompts ("prompt 0": "a/x says 0", ...)
    >>> result = extract(path, dim=16, probe_dim=8)
    >>> result.dna.ids, result.dna.dim, result.probes.values.shape
    (('a/x', 'b/y'), 16, (2, 3, 8))
    """

    dna: DNA
    stats: AnswerStats
    probes: ProbeEmbeddings | None = None


def extract_dna(source: str | Path, **options: Any) -> tuple[DNA, AnswerStats]:
    """Compute DNA from models' answers: :func:`extract` without the per-probe cache.

    Examples
    --------
    >>> path = "data/demo/answers.jsonl"  # 2 models (a/x, b/y) answering 3 prompts ("prompt 0": "a/x says 0", ...)
    >>> dna, stats = extract_dna(path, dim=64)
    >>> dna.ids, dna.dim, stats.answers
    (('a/x', 'b/y'), 64, 6)
    """
    result = extract(source, **options)
    return result.dna, result.stats


def extract(
    source: str | Path | list[Path],
    *,
    encoder: str = "hashing",
    answer_dim: int = 1024,
    dim: int = 2048,
    seed: int = 0,
    max_chars: int | None = 300,
    allow_missing: bool = False,
    probe_dim: int | None = None,
    prompt_keys: list[str] | None = None,
    prompt_texts: dict[str, str] | None = None,
    progress: bool = False,
) -> Extraction:
    """Compute DNA from models' answers.

    Parameters
    ----------
    source : path, or list of paths
        A folder in the llm-dna layout (one folder per model holding
        ``responses.json`` or ``responses.json.gz``, and/or JSONL shards) or a
        JSONL file of ``{"model", "prompt", "response"}`` rows; a list of them is read in order.
    encoder : str
        ``"hashing"`` (built-in character n-grams) or ``"st:<model>"`` (a local
        sentence-transformers model).
    answer_dim : int
        Size of each answer's embedding (hashing encoder; a sentence
        transformer has its own).
    dim : int
        DNA dimension after the random projection.
    seed : int
        Seed of the projection: every model extracted with the same settings
        shares it, so their DNA is comparable. Nothing else is random.
    max_chars : int or None
        Only the first characters of each answer are embedded.
    allow_missing : bool
        Keep models that lack some prompts (their missing answers count as
        empty) instead of dropping them with a warning.
    probe_dim : int or None
        Also keep each answer's embedding, reduced to ``probe_dim`` dimensions
        by a per-probe Gaussian projection (:class:`ProbeEmbeddings`, for
        bootstrap support and placement).
    prompt_keys : list of str, optional
        Use exactly these prompts (a probe cache's ``prompt_keys``), so new
        models are embedded like the models they are compared with.
    prompt_texts : dict, optional
        The texts of ``prompt_keys`` (by key), when ``source`` is one part of a
        larger set of models and its models need not have answered them all.

    Returns
    -------
    Extraction
        DNA metadata carries the settings (probe set, probe count, prompt
        fingerprint, encoder, answer_dim, dna_dim, extraction_seed), so DNA
        made differently is never mixed silently.

    Each answer is embedded, L2-normalised (every probe weighs the same; an
    empty answer is the embedding of a fixed sentinel text, not a zero vector,
    so silent models do not sit close to everything); the probes x answer_dim
    matrix is flattened and projected to ``dim`` by the shared Gaussian matrix.
    Models are processed one at a time: memory does not grow with their number.

    Examples
    --------
    >>> path = "data/demo/answers.jsonl"  # 2 models (a/x, b/y) answering 3 prompts ("prompt 0": "a/x says 0", ...)
    >>> result = extract(path, dim=16)
    >>> result.dna.ids, result.dna.dim, result.stats.answers
    (('a/x', 'b/y'), 16, 6)
    """
    for name, value in (("dim", dim), ("answer_dim", answer_dim)):
        if value < 1:
            raise PhyloLLMError(f"{name} must be a positive whole number, got {value}")
    if probe_dim is not None and probe_dim < 0:
        raise PhyloLLMError(f"probe_dim must be a positive whole number, got {probe_dim}")
    if max_chars is not None and max_chars < 1:
        raise PhyloLLMError(f"max_chars must be positive (or None for whole answers), got {max_chars}")
    model = make_encoder(encoder, dim=answer_dim, max_chars=max_chars)  # a bad encoder is refused before any file is read
    prompts, missing, dataset, n_models = prompt_set(source, prompt_keys, prompt_texts)
    check_extraction_memory(n_models, len(prompts), answer_dim, dim, probe_dim)
    if missing and not allow_missing:
        listed = ", ".join(f"{m} ({len(v)} missing)" for m, v in list(missing.items())[:5])
        warnings.warn(
            f"{source_name(source)}: dropped {len(missing)} model(s) that lack some of the {len(prompts)} shared prompts: {listed}"
            + (" ..." if len(missing) > 5 else "") + "; --allow-missing keeps them",
            PhyloLLMWarning,
            stacklevel=2,
        )
    sentinel = _unit(model.encode([EMPTY_ANSWER]))[0]
    stats = AnswerStats()
    ids: list[str] = []
    rows: list[np.ndarray] = []
    kept: list[np.ndarray] = []
    batch: list[np.ndarray] = []

    def flush() -> None:
        stacked = np.stack(batch)
        rows.append(project(stacked, dim, seed))
        if probe_dim:
            kept.append(project_probes(stacked, probe_dim, seed))
        batch.clear()

    read = 0
    with Progress(n_models, "extracting DNA", enabled=progress) as bar:
        for record in iter_answers(source):
            bar.update()
            read += 1
            answers = [record.answers.get(p) for p in prompts]
            if read > n_models or (record.model not in missing and any(p not in record.answers for p in prompts)):
                _changed(source, record.source)
            if record.model in missing and not allow_missing:
                continue
            for answer in answers:
                stats.add(answer)
            stats.models += 1
            texts = [a if a and a.strip() else EMPTY_ANSWER for a in answers]
            embedded = _unit(model.encode(texts))
            embedded[[not (a and a.strip()) for a in answers]] = sentinel
            batch.append(embedded)
            ids.append(record.model)
            if len(batch) == BATCH:  # memory stays bounded: BATCH models' embeddings at most
                flush()
        if batch:
            flush()
    if read != n_models:
        _changed(source, source_name(source))
    if not ids:
        raise PhyloLLMError(f"{source_name(source)}: every model lacks some of the shared prompts; --allow-missing keeps them")
    settings = {
        "probe_set": dataset or "custom",
        "probe_count": len(prompts),
        "prompt_fingerprint": prompt_fingerprint(prompts),
        "encoder": model.name,
        "answer_dim": model.dim,
        "extraction_seed": seed,
    }
    meta = pd.DataFrame({**settings, "dna_dim": dim}, index=range(len(ids)))
    dna = DNA(tuple(ids), np.vstack(rows), meta, source_name(source))
    probes = None
    if probe_dim:
        keys = [prompt_key(p) for p in prompts]
        probes = ProbeEmbeddings(tuple(ids), np.concatenate(kept), {**settings, "probe_dim": probe_dim, "max_chars": max_chars,
                                                                     "prompt_keys": keys}, source_name(source))
    return Extraction(dna, stats, probes)


def _changed(source: str | Path | list[Path], where: str) -> None:
    """The answers are read twice (the shared prompts, then the embeddings): refuse files that changed between the
    two reads (answers still being written), rather than count answers that appeared as null ones."""
    raise PhyloLLMError(f"{where}: the answers changed while they were read (models or prompts added or removed); "
                        f"extract {source_name(source)} again once it is complete")


def check_extraction_memory(n_models: int, n_probes: int, answer_dim: int, dim: int, probe_dim: int | None) -> None:
    """Refuse, before anything is embedded, an extraction whose arrays this machine cannot hold.

    The largest: one probe's projection block (``answer_dim x dim`` float32,
    regenerated per probe), a batch's embeddings, the DNA (``n x dim``
    float64) and the per-probe cache (``n x probes x probe_dim`` float32).
    """
    needed = (
        4 * answer_dim * dim
        + 4 * BATCH * n_probes * answer_dim
        + 8 * n_models * dim
        + (4 * n_models * n_probes * probe_dim if probe_dim else 0)
    )
    require_memory(needed, f"extracting {n_models} models x {n_probes} prompts (answer_dim {answer_dim}, dim {dim}"
                   + (f", probe_dim {probe_dim})" if probe_dim else ")"), "choose smaller dimensions")


def extract_like(source: str | Path, reference: ProbeEmbeddings, *, progress: bool = False) -> Extraction:
    """Embed new models' answers exactly as ``reference``'s were: same encoder, characters, answer size,
    seed, per-probe size and prompts (so they can be compared with, or placed among, its models).

    Examples
    --------
    >>> path = "data/demo/answers.jsonl"  # 2 models (a/x, b/y) answering 3 prompts ("prompt 0": "a/x says 0", ...)
    >>> reference = extract(path, dim=16, probe_dim=8).probes
    >>> again = extract_like(path, reference).probes
    >>> again.ids, bool((again.values == reference.values).all())
    (('a/x', 'b/y'), True)
    """
    settings = reference.settings
    if not settings.get("prompt_keys") or "encoder" not in settings:
        raise PhyloLLMError(f"{reference.source}: this cache does not record its prompts and encoder; give the new models as a cache")
    keys = settings["prompt_keys"]
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise PhyloLLMError(f"{reference.source}: damaged cache settings (prompt_keys must be a list of texts)")
    if not isinstance(settings["encoder"], str):
        raise PhyloLLMError(f"{reference.source}: damaged cache settings (encoder must be a text)")
    encoder, max_chars = encoder_spec(settings["encoder"])
    limits = {"answer_dim": 65_536, "extraction_seed": 2**32 - 1, "probe_dim": 4096}
    numbers = {key: _whole_setting(settings, key, high, reference.source) for key, high in limits.items()}
    return extract(
        source, encoder=encoder, max_chars=max_chars, answer_dim=numbers["answer_dim"], seed=numbers["extraction_seed"],
        probe_dim=numbers["probe_dim"], prompt_keys=list(keys), progress=progress,
    )


def _whole_setting(settings: dict, key: str, high: int, source: str) -> int:
    """A whole-number setting of a cache header, checked (a forged header is one line, not a traceback)."""
    value = settings.get(key)
    if type(value) is not int or not 0 <= value <= high:
        raise PhyloLLMError(f"{source_name(source)}: damaged cache settings ({key}={value!r}; expected a whole number from 0 to {high})")
    return value


def project_probes(embedded: np.ndarray, probe_dim: int, seed: int) -> np.ndarray:
    """Each probe's answer embeddings ``(models, probes, answer_dim)`` reduced to ``(models, probes, probe_dim)`` float32.

    Probe ``p`` uses :func:`projection_block` ``(p, answer_dim, probe_dim)``:
    the same matrix for every model, so per-probe distances are preserved in expectation.

    Examples
    --------
    >>> import numpy as np
    >>> project_probes(np.ones((2, 3, 4)), probe_dim=2, seed=0).shape
    (2, 3, 2)
    """
    models, probes, answer_dim = embedded.shape
    out = np.empty((models, probes, probe_dim), dtype=np.float32)
    for probe in range(probes):
        out[:, probe, :] = embedded[:, probe, :] @ projection_block(probe, answer_dim, probe_dim, seed)
    return out


def dna_from_probes(probes: ProbeEmbeddings, dim: int = 2048, seed: int = 0) -> DNA:
    """DNA re-made from a per-probe cache (another dimension or seed) without embedding any answer again.

    The concatenated per-probe embeddings are projected like answers are in
    :func:`extract`; the encoder is recorded as ``<encoder>|probe<k>|seed<s>`` so this
    DNA is never mixed with DNA projected from the full answer embeddings.

    Examples
    --------
    >>> path = "data/demo/answers.jsonl"  # 2 models (a/x, b/y) answering 3 prompts ("prompt 0": "a/x says 0", ...)
    >>> probes = extract(path, dim=16, probe_dim=8).probes
    >>> dna = dna_from_probes(probes, dim=4, seed=1)
    >>> dna.dim, dna.metadata["encoder"].iloc[0]
    (4, 'hashing-char1-4-max300|probe8|seed0')
    """
    settings = {key: probes.settings.get(key) for key in ("probe_set", "probe_count", "prompt_fingerprint")}
    # The cache's own projection seed is part of what the vectors are: keep it in the encoder name.
    settings["encoder"] = f"{probes.settings.get('encoder')}|probe{probes.values.shape[2]}|seed{probes.settings.get('extraction_seed')}"
    settings["answer_dim"] = int(probes.values.shape[2])
    vectors = np.vstack([
        project(np.asarray(probes.values[start:start + BATCH], dtype=np.float32), dim, seed)
        for start in range(0, probes.n_models, BATCH)
    ])
    meta = pd.DataFrame({**settings, "dna_dim": dim, "extraction_seed": seed}, index=range(probes.n_models))
    return DNA(probes.ids, vectors, meta, probes.source)


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
