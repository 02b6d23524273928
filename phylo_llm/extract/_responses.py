"""Model answers on disk: the llm-dna folder layout, or one JSONL file of {model, prompt, response} rows."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PhyloLLMError
from ..ids import lone_surrogate, published_model_id
from ..io import existing, json_value, read_json, read_lines

#: File names that hold answers: JSON lines of {model, prompt, response}, or one model's responses.json.
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson")
RESPONSES_SUFFIXES = (".json", ".json.gz")

#: Answers that are an error message from the serving stack rather than the model's behaviour.
ERROR_TEXT = re.compile(r"^\s*(\[?error\]?\s*[:\-]|error code|api error|exception:|traceback \(most recent call last\))", re.IGNORECASE)


@dataclass
class ModelAnswers:
    """One model's answers: prompt text -> answer (``None`` for a null answer).

    Examples
    --------
    >>> path = "data/demo/answers.jsonl"  # 2 models (a/x, b/y) answering 3 prompts ("prompt 0": "a/x says 0", ...)
    >>> answers = next(iter_answers(path))
    >>> answers.model, answers.answers["prompt 0"]
    ('a/x', 'a/x says 0')
    """

    model: str
    answers: dict[str, str | None]
    source: str
    dataset: str | None = None


@dataclass
class AnswerStats:
    """Counts reported after extraction.

    Examples
    --------
    >>> path = "data/demo/answers.jsonl"  # 2 models (a/x, b/y) answering 3 prompts ("prompt 0": "a/x says 0", ...)
    >>> from phylo_llm.extract import extract
    >>> extract(path, dim=16).stats
    AnswerStats(models=2, answers=6, empty=0, null=0, errors=0, examples=Counter())
    """

    models: int = 0
    answers: int = 0
    empty: int = 0
    null: int = 0
    errors: int = 0
    examples: Counter = field(default_factory=Counter)

    def add(self, answer: str | None) -> None:
        self.answers += 1
        if answer is None:
            self.null += 1
        elif not answer.strip():
            self.empty += 1
        elif ERROR_TEXT.match(answer):
            self.errors += 1
            self.examples[answer.strip()[:60]] += 1


def prompt_key(prompt: str) -> str:
    """A short stable key for a prompt text.

    Examples
    --------
    >>> prompt_key("What is 2+2?")
    '52cb6b5e4a038af1756708f98afb718a'
    """
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:32]


def is_answers(path: str | Path) -> bool:
    """True when ``path`` names models' answers: a JSON-lines or responses file, or a folder of model folders with them.

    Examples
    --------
    >>> path = "data/demo/answers.jsonl"  # 2 models (a/x, b/y) answering 3 prompts ("prompt 0": "a/x says 0", ...)
    >>> is_answers(path), is_answers("data/demo/dna.parquet")
    (True, False)
    """
    path = Path(path)
    if path.is_file():
        return path.name.lower().endswith(JSONL_SUFFIXES + RESPONSES_SUFFIXES)
    if path.is_dir():
        return any(_is_shard(entry) or entry.is_dir() and any((entry / name).is_file() for name in ("responses.json.gz", "responses.json"))
                   for entry in path.iterdir())
    return False


def _is_shard(path: Path) -> bool:
    """A JSON-lines file of answers inside a folder (one shard of many)."""
    return path.is_file() and path.name.lower().endswith(JSONL_SUFFIXES)


def iter_answers(path: str | Path | list | tuple) -> Iterator[ModelAnswers]:
    """Models' answers, one model at a time (a folder is read one model folder or JSON-lines shard at a time;
    a list of paths is read path by path).

    Examples
    --------
    >>> path = "data/demo/answers.jsonl"  # 2 models (a/x, b/y) answering 3 prompts ("prompt 0": "a/x says 0", ...)
    >>> [(a.model, len(a.answers)) for a in iter_answers(path)]
    [('a/x', 3), ('b/y', 3)]
    """
    if isinstance(path, (list, tuple)):
        for one in path:
            yield from iter_answers(one)
        return
    path = existing(path)
    name = path.name.lower()
    if path.is_dir():
        yield from _iter_folder(path)
    elif name.endswith(JSONL_SUFFIXES):
        yield from _iter_jsonl(path)
    elif name.endswith(RESPONSES_SUFFIXES):
        yield _read_responses_file(path, path.parent.name)
    else:
        raise PhyloLLMError(f"{path}: expected a folder of model folders, a .jsonl file or a responses.json(.gz)")


def answer_units(path: str | Path) -> list[Path]:
    """The pieces a folder of answers is read in: its model folders' responses files and its JSON-lines shards, sorted."""
    path = Path(path)
    if not path.is_dir():
        return [path]
    units = []
    for entry in sorted(path.iterdir()):
        if _is_shard(entry):
            units.append(entry)
        elif entry.is_dir():
            units += [entry / name for name in ("responses.json.gz", "responses.json") if (entry / name).is_file()][:1]
    return units


def _iter_folder(path: Path) -> Iterator[ModelAnswers]:
    found = False
    for shard in sorted(p for p in path.iterdir() if _is_shard(p)):
        found = True
        yield from _iter_jsonl(shard)
    for folder in sorted(p for p in path.iterdir() if p.is_dir()):
        for name in ("responses.json.gz", "responses.json"):
            file = folder / name
            if file.is_file():
                found = True
                yield _read_responses_file(file, folder.name)
                break
    if not found:
        raise PhyloLLMError(f"{path}: no model folder holds a responses.json or responses.json.gz, and no .jsonl shard is here")


def _read_responses_file(path: Path, folder: str) -> ModelAnswers:
    record = read_json(path)
    items = record.get("items") if isinstance(record, dict) else None
    if not isinstance(items, list):
        raise PhyloLLMError(f"{path}: expected an object with an 'items' list of {{prompt, response}}")
    model = _text(record.get("model"), f"{path}: 'model'") or None  # empty: the folder names the model
    dataset = _text(record.get("dataset"), f"{path}: 'dataset'")
    answers: dict[str, str | None] = {}
    for row, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("prompt"), str):
            raise PhyloLLMError(f"{path}: item {row} has no 'prompt' text")
        prompt = _unicode(item["prompt"], f"{path}: item {row}: 'prompt'")
        _add_answer(answers, prompt, _text(item.get("response"), f"{path}: item {row}: 'response'"), f"{path}: item {row}")
    return ModelAnswers(published_model_id(model, folder), answers, str(path), dataset)


def _iter_jsonl(path: Path) -> Iterator[ModelAnswers]:
    models: dict[str, dict[str, str | None]] = {}
    datasets: dict[str, str] = {}  # optional "dataset" of a row: the probe set's name, as in responses.json
    for line_number, line in read_lines(path):
        if not line.strip():
            continue
        where = f"{path}: line {line_number}"
        row = json_value(line, f"{where} is")
        if not isinstance(row, dict) or not isinstance(row.get("model"), str) or not isinstance(row.get("prompt"), str):
            raise PhyloLLMError(f"{where} needs 'model' and 'prompt' text")
        model, prompt = _unicode(row["model"], f"{where}: 'model'"), _unicode(row["prompt"], f"{where}: 'prompt'")
        _add_answer(models.setdefault(model, {}), prompt, _text(row.get("response"), f"{where}: 'response'"), f"{where}: model {model!r}")
        dataset = _text(row.get("dataset"), f"{where}: 'dataset'")
        if dataset is not None:
            datasets.setdefault(model, dataset)
    if not models:
        raise PhyloLLMError(f"{path}: no answers found")
    for model in sorted(models):
        yield ModelAnswers(model, models[model], str(path), datasets.get(model))


def _text(value: object, where: str) -> str | None:
    """``value`` if it is text (or null), refused otherwise: a number, a list, a lone surrogate (:func:`_unicode`)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise PhyloLLMError(f"{where} is not text or null ({type(value).__name__} {str(value)[:40]!r})")
    return _unicode(value, where)


def _unicode(text: str, where: str) -> str:
    """``text``, refused when it holds a lone surrogate: ``"\\ud800"`` is valid JSON but no Unicode text (it cannot
    be written to a UTF-8 file, nor hashed into a prompt key)."""
    surrogate = lone_surrogate(text)
    if surrogate is not None:
        raise PhyloLLMError(f"{where} holds {text[surrogate]!r} at character {surrogate + 1}, a lone surrogate: not Unicode text")
    return text


def _add_answer(answers: dict[str, str | None], prompt: str, response: str | None, where: str) -> None:
    """Record one answer; a prompt answered twice is refused (which of two answers is the model's is unknowable)."""
    if prompt in answers:
        raise PhyloLLMError(f"{where} answers prompt {prompt[:60]!r} a second time")
    answers[prompt] = response
