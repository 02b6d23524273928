"""Extraction at scale: answers of many models to a partitioned DNA dataset, as Dask tasks that lose nothing.

The answers (a folder of model folders and/or JSON-lines shards) are cut into
units: a batch of model folders, or one shard. A first round of tasks reads
which prompts each unit's models answered (the shared prompt set is decided
from all of them, exactly as :func:`phylo_llm.extract.extract` decides it); a
second round embeds each unit (:func:`phylo_llm.extract.extract` with the
shared prompts) and writes its partition, then a small record of it, into a
work folder beside the output (``OUT.partial/``): each file appears whole
(atomic) or not at all. A unit whose record exists is not extracted again, so
a run stopped by a killed worker, or by anything else, is continued by
running the same command again. When every unit is done the partitions are
published together as the output folder and the work folder is removed.

The work folder is marked as ours by a manifest (``phylo-llm-extract.json``:
the answer files with their sizes and times, the shared prompts, the
options): a folder of that name that lacks it (the user's own, or the
answers themselves) is never written into nor removed, and finished units of
a run with other answers or options are never mixed into this one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from distributed import Client

import json
import shutil
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import PhyloLLMError, PhyloLLMWarning
from ..io import OutputPlan, atomic_output, atomic_path
from ..io._output import _signals_held
from ._dataset import PART_PATTERN, write_part

#: Model folders per task (JSON-lines shards are one task each).
BATCH = 256
#: The file that marks a work folder as this command's, and says what its finished units were made from.
MANIFEST = "phylo-llm-extract.json"


@dataclass(frozen=True)
class ExtractionSummary:
    """What :func:`extract_dataset` did: models extracted, partitions written, units reused from an earlier run,
    models dropped for missing prompts, and answer counts.

    Examples
    --------
    >>> ExtractionSummary(10, 2, 1, 0, 1000, 3, 0, 0).reused
    1
    """

    models: int
    parts: int
    reused: int
    dropped: int
    answers: int
    empty: int
    null: int
    errors: int


def work_folder(output: str | Path) -> Path:
    """Where finished partitions wait until all are done: ``OUT.partial`` beside the output folder.

    Examples
    --------
    >>> work_folder("runs/dna").as_posix()
    'runs/dna.partial'
    """
    output = Path(output)
    return output.with_name(output.name + ".partial")


def units_of(source: str | Path, batch: int = BATCH) -> list[list[str]]:
    """The answer files of ``source`` in units: each JSON-lines shard alone, model folders by ``batch``."""
    from ..extract._responses import JSONL_SUFFIXES, answer_units

    shards: list[str] = []
    folders: list[str] = []
    for path in answer_units(source):
        (shards if path.name.lower().endswith(JSONL_SUFFIXES) else folders).append(str(path))
    units = [[s] for s in shards] + [folders[i:i + batch] for i in range(0, len(folders), batch)]
    if not units:
        raise PhyloLLMError(f"{source}: no model answers found (model folders with responses.json(.gz), or .jsonl shards)")
    return units


def _task_survey(unit: list[str]) -> tuple[list[str], Counter, dict, Counter]:
    """The models of a unit, how many of them answered each prompt, the prompt texts, the dataset names."""
    from ..extract import iter_answers, prompt_key

    ids: list[str] = []
    seen: Counter = Counter()
    texts: dict[str, str] = {}
    datasets: Counter = Counter()
    for record in iter_answers([Path(u) for u in unit]):
        ids.append(record.model)
        keys = set()
        for prompt in record.answers:
            key = prompt_key(prompt)
            texts.setdefault(key, prompt)
            keys.add(key)
        seen.update(keys)
        if record.dataset:
            datasets[record.dataset] += 1
    return ids, seen, texts, datasets


def _task_extract(index: int, unit: list[str], models: int, work: str, keys: list[str], texts: dict, dataset: str, options: dict) -> dict:
    """Extract one unit into ``work``/part-NNNNN.parquet (and .probes), then its record; skip it if the record exists."""
    from ..extract import extract
    from ..io import save_probes

    record = Path(work) / (PART_PATTERN.format(index)[:-len(".parquet")] + ".json")
    if record.exists():
        return json.loads(record.read_text())
    options = dict(options)
    dtype = options.pop("cache_dtype")
    try:
        # Warnings are sent back with the result: a worker's own stderr would print them raw, unformatted.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = extract([Path(u) for u in unit], prompt_keys=keys, prompt_texts=texts, **options)
    except PhyloLLMError as exc:
        if "every model lacks some of the shared prompts" not in str(exc):
            raise
        result = None
    info: dict = {"index": index, "models": 0, "dropped": 0, "answers": 0, "empty": 0, "null": 0, "errors": 0}
    if result is not None:
        dna, stats = result.dna, result.stats
        settings = {k: v for k, v in dna.metadata.iloc[0].items()}
        settings["probe_set"] = dataset
        write_part(Path(work) / PART_PATTERN.format(index), dna.ids, dna.vectors, settings)
        if result.probes is not None:
            save_probes(result.probes, Path(work) / (PART_PATTERN.format(index)[:-len(".parquet")] + ".probes"), dtype)
        info.update(models=dna.n_models, answers=stats.answers, empty=stats.empty, null=stats.null, errors=stats.errors)
    info["dropped"] = models - info["models"]
    info["warnings"] = [str(w.message) for w in caught] if result is not None else []
    with atomic_output(record) as handle:  # last: a unit is done only once its partition is whole
        handle.write(json.dumps(info))
    return info


def extract_dataset(
    source: str | Path, output: str | Path, client: Client, *, batch: int = BATCH, encoder: str = "hashing", answer_dim: int = 1024,
    dim: int = 2048, seed: int = 0, max_chars: int | None = 300, allow_missing: bool = False, cache: str | Path | None = None,
    cache_dim: int = 128, cache_dtype: str = "float16", plan: OutputPlan | None = None, progress: bool = False,
) -> ExtractionSummary:
    """DNA of every model in ``source`` as a partitioned dataset in the folder ``output``, on Dask.

    Parameters
    ----------
    source : path
        A folder of model folders (``responses.json(.gz)``) and/or JSON-lines shards.
    output : path
        The dataset folder (published only when every unit is done).
    client : distributed.Client
        The cluster; its workers must reach ``source`` and the output's folder.
    batch : int
        Model folders per task.
    encoder, answer_dim, dim, seed, max_chars, allow_missing
        As :func:`phylo_llm.extract.extract`.
    cache : path, optional
        Also write the per-probe cache (all models' per-probe embeddings in one file).
    plan : OutputPlan, optional
        The command's output plan (``output`` and ``cache`` already added); a new one by default.

    Examples
    --------
    >>> from phylo_llm.hub import connect
    >>> with connect(workers=2) as client:  # doctest: +SKIP
    ...     extract_dataset("answers/", "dna/", client)
    """
    from ._hubtree import _follow

    output, work = Path(output), work_folder(output)
    if output.exists() and any(output.iterdir()):
        raise PhyloLLMError(f"{output}: this folder is not empty; a partitioned dataset needs a new (or empty) folder")
    if plan is None:
        plan = OutputPlan(inputs=[source])
        plan.add_folder(output)
        plan.add(cache, "--cache")
    units = units_of(source, batch)
    surveys = client.gather([client.submit(_task_survey, u, pure=False) for u in units])
    keys, texts, dataset = _shared_prompts(source, units, surveys)
    options = {"encoder": encoder, "answer_dim": answer_dim, "dim": dim, "seed": seed, "max_chars": max_chars,
               "allow_missing": allow_missing, "probe_dim": cache_dim if cache else None, "cache_dtype": cache_dtype}
    _claim(work, {"units": [[_stamp(f) for f in unit] for unit in units], "prompts": keys, "dataset": dataset,
                  "options": {**options, "batch": batch}})
    reused = sum((work / (PART_PATTERN.format(i)[:-len(".parquet")] + ".json")).exists() for i in range(len(units)))
    futures = [client.submit(_task_extract, i, u, len(surveys[i][0]), str(work), keys, texts, dataset, options, pure=False)
               for i, u in enumerate(units)]
    try:
        _follow(client, futures, "extracting DNA", progress)
        done = sorted(client.gather(futures), key=lambda info: info["index"])
        for info in done:  # the units' warnings, said here (one line each, through the caller's formatter)
            for message in info.get("warnings", []):
                warnings.warn(message, PhyloLLMWarning, stacklevel=2)
    finally:
        if not any(p.name != MANIFEST for p in work.iterdir()):
            shutil.rmtree(work)  # nothing finished: nothing to keep (the folder is ours: _claim checked it)
    parts = [i for i, info in enumerate(done) if info["models"]]
    if not parts:
        raise PhyloLLMError(f"{source}: every model lacks some of the shared prompts; --allow-missing keeps them")
    plan.replaces([work])  # removed with the publication: a stop signal never leaves both, nor a result without its units
    with plan:
        for number, i in enumerate(parts):  # renumbered, so the dataset has no gaps
            with atomic_path(output / PART_PATTERN.format(number)) as tmp:
                shutil.copyfile(work / PART_PATTERN.format(i), tmp)
        if cache:
            _join_caches([work / (PART_PATTERN.format(i)[:-len(".parquet")] + ".probes") for i in parts], cache, cache_dtype)
    total = {k: sum(info[k] for info in done) for k in ("models", "dropped", "answers", "empty", "null", "errors")}
    return ExtractionSummary(total["models"], len(parts), reused, total["dropped"], total["answers"], total["empty"], total["null"],
                             total["errors"])


def _stamp(file: str) -> list:
    """An answer file as the manifest records it: its path, size and modification time (an edited file is another unit)."""
    path = Path(file)
    info = path.stat()
    return [str(path.resolve()), info.st_size, info.st_mtime_ns]


def _claim(work: Path, manifest: dict) -> None:
    """Make ``work`` this extraction's work folder, or check that it already is (same answers, prompts and options).

    A folder there without our manifest is the user's (or the answers themselves): it is refused, never written
    into nor removed; finished units made from other answers or with other options are refused, never mixed in.
    """
    marker = work / MANIFEST
    if not (work.exists() or work.is_symlink()):
        with _signals_held():  # a stop between the two would leave a folder without its manifest, refused next time
            work.mkdir()
            with atomic_output(marker) as handle:
                handle.write(json.dumps(manifest, sort_keys=True))
        return
    if work.is_symlink() or not work.is_dir() or not marker.is_file():
        raise PhyloLLMError(f"{work}: exists and is not the work folder of an earlier extraction (extract keeps its finished "
                            "units there); move it away or choose another output name")
    try:
        earlier = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        earlier = None
    if earlier != json.loads(json.dumps(manifest, sort_keys=True)):
        differs = "options" if isinstance(earlier, dict) and earlier.get("options") != manifest["options"] else "answers"
        raise PhyloLLMError(f"{work}: holds the finished units of an extraction with other {differs}; run that command again "
                            f"to finish it, or remove {work} to start over")


def _shared_prompts(source, units: list[list[str]], surveys) -> tuple[list[str], dict, str]:
    """The prompt set (answered by more than half of all models), their texts, the dataset name; ids checked unique."""
    owner: dict[str, int] = {}
    seen: Counter = Counter()
    texts: dict[str, str] = {}
    datasets: Counter = Counter()
    for u, (ids, counts, unit_texts, names) in enumerate(surveys):
        for model in ids:
            if model in owner:
                raise PhyloLLMError(f"{units[u][0]}: model {model!r} appears twice (also in {units[owner[model]][0]})")
            owner[model] = u
        seen.update(counts)
        for key, text in unit_texts.items():
            texts.setdefault(key, text)
        datasets.update(names)
    keys = sorted(k for k, count in seen.items() if count * 2 > len(owner))
    if not keys:
        raise PhyloLLMError(f"{source}: the models answered different prompts: no prompt is shared by most of them")
    return keys, {k: texts[k] for k in keys}, datasets.most_common(1)[0][0] if datasets else "custom"


def _join_caches(paths: list[Path], cache, dtype: str) -> None:
    """One per-probe cache from the units' caches (held in memory once; refused when it would not fit)."""
    from .._memory import require_memory
    from ..io import load_probes, save_probes
    from ..probes import ProbeEmbeddings

    parts = [load_probes(p) for p in paths]
    size = sum(p.values.nbytes for p in parts)
    require_memory(2 * size, f"joining the per-probe caches ({size / 2**30:.1f} GiB)", "extract without --cache, or in several runs")
    first = parts[0]
    joined = ProbeEmbeddings(tuple(m for p in parts for m in p.ids), np.concatenate([np.asarray(p.values) for p in parts]),
                             first.settings, str(cache))
    save_probes(joined, cache, dtype)
