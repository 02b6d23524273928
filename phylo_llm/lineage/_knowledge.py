"""Loading, validating and querying lineage tables."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import PhyloLLMError
from ..ids import model_key
from ..io import existing
from ..io._formats import table_suffix
from ..io._tables import dimension_columns, read_frame

RELATION_TYPES = ("same_weights", "finetune", "continued_pretraining", "merge", "distillation", "pruning")
MODEL_COLUMNS = ("model", "family", "organization", "architecture")
#: Columns the relation checks add to each file's table (where a row is, which file, its ids' keys), dropped after.
_CHECK_COLUMNS = ("_where", "_file", "_child_key", "_parent_key")
RELATION_COLUMNS = ("child", "parent", "relation")
#: Pseudo-families: not a pretraining lineage, so scoring leaves them out.
PSEUDO_FAMILIES = ("(random weights)", "(unknown)")
#: The knowledge base shipped inside the package (built by ``data/lineage/build.py``).
BUILTIN = Path(__file__).resolve().parent / "builtin"


def real_family(value: object) -> str | None:
    """``value`` when it names a pretraining lineage; ``None`` for empty and pseudo-families like ``(unknown)``.

    Examples
    --------
    >>> real_family("Llama"), real_family("(unknown)"), real_family(float("nan"))
    ('Llama', None, None)
    """
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return None if not text or text in PSEUDO_FAMILIES or text.startswith("(") else text


@dataclass(frozen=True)
class Coverage:
    """How many of a set of models the lineage knows.

    Examples
    --------
    >>> lineage = load_lineage("data/demo")
    >>> coverage = lineage.coverage(["meta-llama/Llama-2-7B", "gpt2"])
    >>> coverage.n_models, list(coverage.matched), coverage.missing
    (2, ['meta-llama/Llama-2-7B'], ('gpt2',))
    """

    n_models: int
    matched: dict[str, str]  # our id -> lineage id
    missing: tuple[str, ...]

    def summary(self, show: int = 5) -> str:
        text = f"lineage metadata for {len(self.matched)} of {self.n_models} models"
        if self.missing:
            more = f" and {len(self.missing) - show} more" if len(self.missing) > show else ""
            text += f"; none for {', '.join(self.missing[:show])}{more}"
        return text


@dataclass(frozen=True)
class Lineage:
    """Validated lineage tables (see the package docstring for the schema).

    Within the tables, ids that differ only by case or folder form are one
    model (:func:`phylo_llm.ids.model_key`); relation ids are written as the
    models table writes them. Data may hold two such ids as two models (an API
    endpoint beside the hub weights): :meth:`among` tells them apart.

    Examples
    --------
    >>> lineage = load_lineage("data/demo")
    >>> lineage.family("meta-llama/Llama-1-7B-Instruct"), lineage.ancestors("lmsys/Llama-1-7B-tune-1")
    ('Llama', ['meta-llama/Llama-1-7B-Instruct', 'meta-llama/Llama-1-7B'])
    """

    models: pd.DataFrame  # indexed by model id
    relations: pd.DataFrame
    #: model_key -> the lineage's own id (derived, for look-ups)
    _keys: dict[str, str] = field(init=False, repr=False, compare=False)
    #: child id -> its documented parents' ids (derived, for ancestors)
    _parents: dict[str, list[str]] = field(init=False, repr=False, compare=False)
    #: "child"/"parent" -> id -> its rows of ``relations`` (derived: a look-up per leaf, not a scan of the table)
    _rows: dict[str, dict[str, list[int]]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys: dict[str, str] = {}
        for model in self.models.index.tolist() + self.relations["child"].tolist() + self.relations["parent"].tolist():
            keys.setdefault(model_key(model), model)
        object.__setattr__(self, "_keys", keys)
        relations = self.relations.copy()
        for column in ("child", "parent"):
            relations[column] = [keys[model_key(m)] for m in relations[column].tolist()]
        object.__setattr__(self, "relations", relations)
        parents: dict[str, list[str]] = {}
        for child, parent in zip(relations["child"].tolist(), relations["parent"].tolist()):
            parents.setdefault(child, []).append(parent)
        object.__setattr__(self, "_parents", parents)
        rows: dict[str, dict[str, list[int]]] = {"child": {}, "parent": {}}
        for column, index in rows.items():
            for row, model in enumerate(relations[column].tolist()):
                index.setdefault(model, []).append(row)
        object.__setattr__(self, "_rows", rows)

    def __repr__(self) -> str:
        return f"Lineage({len(self.models)} models, {len(self.relations)} documented edges)"

    def resolve(self, model: str | None) -> str | None:
        """The lineage's id for one ``model`` on its own (exact, else by :func:`phylo_llm.ids.model_key`), or ``None``."""
        return None if model is None else self._keys.get(model_key(model))

    def resolve_all(self, ids: Iterable[str]) -> dict[str, str | None]:
        """The lineage id of each of ``ids``, telling apart ids that differ only by case or folder form.

        An id takes the lineage model of the same key unless another of
        ``ids`` *is* that model's id (then only that one takes it), or
        another id of the same key also lacks an exact match (ambiguous:
        neither takes it). So two ids of the data are never one node of the
        lineage graph.

        Examples
        --------
        >>> import pandas as pd
        >>> lineage = Lineage(pd.DataFrame({"family": ["Qwen"]}, index=pd.Index(["Qwen/Qwen3-14B"], name="model")),
        ...                   pd.DataFrame(columns=["child", "parent", "relation"]))
        >>> lineage.resolve_all(["qwen/qwen3-14b"])
        {'qwen/qwen3-14b': 'Qwen/Qwen3-14B'}
        >>> lineage.resolve_all(["qwen/qwen3-14b", "Qwen/Qwen3-14B"])
        {'qwen/qwen3-14b': None, 'Qwen/Qwen3-14B': 'Qwen/Qwen3-14B'}
        """
        ids = list(ids)
        by_key: dict[str, list[str]] = {}
        for model in ids:
            by_key.setdefault(model_key(model), []).append(model)
        out: dict[str, str | None] = {}
        for key, group in by_key.items():
            found = self._keys.get(key)
            for model in group:
                if found is None:
                    out[model] = None
                elif len(group) == 1 or model == found:
                    out[model] = found
                else:
                    out[model] = None
        return {model: out[model] for model in ids}

    def among(self, ids: Iterable[str]) -> LineageView:
        """The lineage as seen from a set of models: look-ups by :meth:`resolve_all`."""
        return LineageView(self, self.resolve_all(ids))

    def coverage(self, ids: Iterable[str]) -> Coverage:
        """Which of ``ids`` have a row in ``models``."""
        return self.among(ids).coverage()

    def info(self, model: str | None) -> dict:
        """The ``models`` row of ``model`` as a dict (empty when unknown)."""
        found = self.resolve(model)
        if found is None or found not in self.models.index:
            return {}
        return {k: v for k, v in self.models.loc[found].items() if not _missing(v)}

    def family(self, model: str | None) -> str | None:
        """The documented pretraining family of ``model``; ``None`` when unknown or a pseudo-family."""
        return real_family(self.info(model).get("family"))

    def select(self, ids: Iterable[str], key: str, value: str) -> list[str]:
        """Those of ``ids`` whose ``models`` column ``key`` equals ``value`` (case-insensitive)."""
        return self.among(ids).select(key, value)

    def parents(self, model: str | None) -> pd.DataFrame:
        """Documented parent edges of ``model``."""
        return self._edges("child", self.resolve(model))

    def children(self, model: str | None) -> pd.DataFrame:
        """Documented edges of which ``model`` is the parent."""
        return self._edges("parent", self.resolve(model))

    def _edges(self, column: str, found: str | None) -> pd.DataFrame:
        """The rows of ``relations`` whose ``column`` is ``found``, in table order (a copy)."""
        rows = self._rows[column].get(found, []) if found is not None else []
        return self.relations.iloc[rows] if rows else self.relations.iloc[:0]  # an empty slice costs less than a take

    def ancestors(self, model: str | None) -> list[str]:
        """Every documented ancestor of ``model``, nearest first (breadth-first)."""
        found = self.resolve(model)
        order: list[str] = []
        frontier = [found] if found else []
        while frontier:
            nxt = []
            for node in frontier:
                for parent in self._parents.get(node, []):
                    if parent not in order and parent != found:
                        order.append(parent)
                        nxt.append(parent)
            frontier = nxt
        return order


@dataclass(frozen=True)
class LineageView:
    """A lineage seen from a set of models (:meth:`Lineage.among`).

    Two ids of the set that differ only by case or folder form are two
    models. The lineage's descriptive facts (family, organization, ...)
    hold for both; its graph (parents, children, ancestors) belongs to the
    one whose id is the lineage's exactly (:meth:`Lineage.resolve_all`), so a
    model is never documented as its own relative.

    Examples
    --------
    >>> view = load_lineage("data/demo").among(["meta-llama/Llama-2-7B", "META-LLAMA/llama-2-7b", "gpt2"])
    >>> view.resolved
    {'meta-llama/Llama-2-7B': 'meta-llama/Llama-2-7B', 'META-LLAMA/llama-2-7b': None, 'gpt2': None}
    """

    lineage: Lineage
    resolved: dict[str, str | None]

    def resolve(self, model: str) -> str | None:
        """The lineage node of ``model``: as resolved among the set; an id outside the set on its own."""
        if model in self.resolved:
            return self.resolved[model]
        return self.lineage.resolve(model)

    def coverage(self) -> Coverage:
        """Which models of the set the lineage describes."""
        matched = {}
        for model in self.resolved:
            found = self.lineage.resolve(model)
            if found is not None and found in self.lineage.models.index:
                matched[model] = found
        return Coverage(len(self.resolved), matched, tuple(m for m in self.resolved if m not in matched))

    def info(self, model: str) -> dict:
        """What the lineage describes of ``model`` (shared with ids that differ only by case)."""
        return self.lineage.info(model)

    def family(self, model: str) -> str | None:
        return self.lineage.family(model)

    def parents(self, model: str) -> pd.DataFrame:
        return self.lineage.parents(self.resolve(model))

    def children(self, model: str) -> pd.DataFrame:
        return self.lineage.children(self.resolve(model))

    def ancestors(self, model: str) -> list[str]:
        return self.lineage.ancestors(self.resolve(model))

    def select(self, key: str, value: str) -> list[str]:
        """The models of the set whose ``models`` column ``key`` equals ``value`` (case-insensitive)."""
        if key not in self.lineage.models.columns:
            raise PhyloLLMError(f"the lineage has no column {key!r} (columns: {', '.join(self.lineage.models.columns)})")
        wanted = str(value).strip().lower()
        return [m for m in self.resolved if str(self.info(m).get(key, "")).strip().lower() == wanted]


def load_lineage(*paths: str | os.PathLike) -> Lineage:
    """Load and validate lineage tables.

    Parameters
    ----------
    *paths : str or Path
        Folders of CSV files (``models.csv``, ``relations.csv``,
        ``relations-dev.csv``, ...) or single CSV files; each file is a
        models or a relations table, recognised by its columns. Later sources add to earlier ones; a
        model row given twice keeps the later values where they are set; an edge a later file repeats
        (same child, parent and relation, up to case) is one edge, as the first file wrote it.
        No path, or the word ``"builtin"``: the knowledge base shipped in
        ``data/lineage/``.

    Raises
    ------
    PhyloLLMError
        Missing columns, unknown relation types, blank ids, self-loops, an
        edge given twice in one file, cycles (a model that is its own
        ancestor) and a DNA table among the files, naming the rows; a
        compressed file is refused once it expands past memory.

    Examples
    --------
    >>> load_lineage("data/demo")
    Lineage(70 models, 75 documented edges)
    """
    models: list[pd.DataFrame] = []
    relations: list[pd.DataFrame] = []
    for path in paths or ("builtin",):
        for file in _csv_files(BUILTIN if str(path) == "builtin" else Path(path)):
            frame = _read_csv(file)
            if "child" in frame.columns or "parent" in frame.columns:
                relations.append(_check_relations(frame, file).assign(_file=len(relations)))  # which source
            elif "model" in frame.columns:
                dims = dimension_columns(frame)
                if len(dims) >= 2:  # a DNA table beside the lineage files: its metadata would pass for lineage facts
                    raise PhyloLLMError(f"{file}: a DNA table (columns {dims[0]}, {dims[1]}, ...), not a lineage table; "
                                        "give the lineage files (models.csv, relations.csv) themselves")
                models.append(_check_models(frame, file))
            else:
                raise PhyloLLMError(f"{file}: neither a models table (column 'model') nor a relations table (columns child, parent, relation)")
    model_table = _merge_models(models)
    relation_table = (
        pd.concat(relations, ignore_index=True) if relations else pd.DataFrame(columns=[*RELATION_COLUMNS, "evidence", "confidence", "note", *_CHECK_COLUMNS])
    )
    relation_table = _check_duplicates_and_cycles(relation_table)
    return Lineage(model_table, relation_table.drop(columns=list(_CHECK_COLUMNS)).reset_index(drop=True))


#: What public functions accept as a lineage (see :func:`as_lineage`).
LineageLike = Lineage | str | os.PathLike | None


def as_lineage(lineage: LineageLike) -> Lineage:
    """A :class:`Lineage` from what a function was given: a Lineage, a path (:func:`load_lineage`), or None (built-in).

    The one place where public functions taking a lineage accept a folder or
    file as well, so ``score(dna, "my-lineage/")`` means what it says instead
    of failing deep inside on a string.

    Examples
    --------
    >>> as_lineage("data/demo")
    Lineage(70 models, 75 documented edges)
    >>> lineage = load_lineage("data/demo")
    >>> as_lineage(lineage) is lineage
    True
    """
    if isinstance(lineage, Lineage):
        return lineage
    if lineage is None:
        return load_lineage()
    if isinstance(lineage, (str, os.PathLike)):
        return load_lineage(lineage)
    raise PhyloLLMError(f"a lineage is a Lineage (pl.load_lineage), a folder or CSV file, or None for the built-in one; "
                        f"got {type(lineage).__name__}")


def _csv_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            raise PhyloLLMError(f"{path}: no lineage CSV files (models.csv, relations.csv) in this folder")
        return files
    return [existing(path)]


def _read_csv(file: Path) -> pd.DataFrame:
    """The table of one lineage CSV file (compressed too), every cell text; an empty cell is missing.

    Read by :func:`phylo_llm.io._tables.read_frame`: a compressed file is
    refused while it expands past memory, and a truncated one is one line.
    """
    if table_suffix(file) == ".parquet":
        raise PhyloLLMError(f"{file}: a lineage table is a CSV file (models.csv, relations.csv), not parquet")
    return read_frame(file, sep=",", dtype=str, keep_default_na=False, na_values=[""])


def _require(frame: pd.DataFrame, columns, file: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise PhyloLLMError(f"{file}: missing column(s) {', '.join(missing)} (found: {', '.join(frame.columns)})")


def _check_models(frame: pd.DataFrame, file: Path) -> pd.DataFrame:
    _require(frame, ("model",), file)
    blank = _blank(frame["model"])
    if blank.any():
        raise PhyloLLMError(f"{file}: line {_first(blank) + 2} has no model id")
    keys = frame["model"].map(model_key)
    dup = keys.duplicated()
    if dup.any():
        line = _first(dup)
        raise PhyloLLMError(f"{file}: model {frame['model'].iat[line]!r} appears twice (line {line + 2})")
    return frame


def _check_relations(frame: pd.DataFrame, file: Path) -> pd.DataFrame:
    _require(frame, RELATION_COLUMNS, file)
    frame = frame.copy()
    # Whole columns at once, then the first row that fails any check is named: a table of millions of rows (a
    # compressed file a few kB large) is checked in seconds, not row by row.
    missing = frame["child"].isna() | frame["parent"].isna()
    blank = ~missing & (_blank(frame["child"]) | _blank(frame["parent"]))
    unknown = ~frame["relation"].isin(RELATION_TYPES)
    child_keys, parent_keys = frame["child"].map(model_key, na_action="ignore"), frame["parent"].map(model_key, na_action="ignore")
    loop = ~missing & ~blank & (child_keys == parent_keys)
    bad = missing | blank | unknown | loop
    if bad.any():
        row = _first(bad)
        where = f"{file}, line {row + 2}"
        child, parent, relation = frame["child"].iat[row], frame["parent"].iat[row], frame["relation"].iat[row]
        if missing.iat[row]:
            raise PhyloLLMError(f"{where}: an edge needs both child and parent")
        if blank.iat[row]:
            raise PhyloLLMError(f"{where}: an edge needs both child and parent, not blank ids ({child!r}, {parent!r})")
        if unknown.iat[row]:
            raise PhyloLLMError(f"{where}: unknown relation type {relation!r} (known: {', '.join(RELATION_TYPES)})")
        raise PhyloLLMError(f"{where}: {child!r} is its own parent")
    frame["_where"] = [f"{file}, line {i + 2}" for i in range(len(frame))]
    frame["_child_key"], frame["_parent_key"] = child_keys, parent_keys  # for the duplicate and cycle checks
    for column in ("evidence", "confidence", "note"):
        if column not in frame.columns:
            frame[column] = pd.NA
    return frame


def _blank(column: pd.Series) -> pd.Series:
    """Cells that are missing or only white space: no model id."""
    return column.isna() | (column.fillna("").str.strip() == "")


def _first(mask: pd.Series) -> int:
    """The position of the first true cell of ``mask``."""
    return int(mask.to_numpy().argmax())


def _merge_models(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(columns=list(MODEL_COLUMNS[1:]), index=pd.Index([], name="model"))
    merged = frames[0].set_index("model")
    for frame in frames[1:]:
        frame = frame.set_index("model")
        # Match ids case-insensitively: a later row updates the earlier one where it has values.
        known = {model_key(m): m for m in merged.index}
        frame.index = [known.get(model_key(m), m) for m in frame.index]
        merged = frame.combine_first(merged)[list(dict.fromkeys([*merged.columns, *frame.columns]))]
    merged.index.name = "model"
    for column in MODEL_COLUMNS[1:]:
        if column not in merged.columns:
            merged[column] = pd.NA
    return merged.sort_index(key=lambda idx: idx.str.lower())


def _check_duplicates_and_cycles(relations: pd.DataFrame) -> pd.DataFrame:
    """``relations`` without the edges a later file repeats; an edge given twice in one file, or a cycle, refused."""
    keys = pd.DataFrame({"child": relations["_child_key"], "parent": relations["_parent_key"], "relation": relations["relation"]})
    within = keys.assign(file=relations["_file"].to_numpy()).duplicated()
    if within.any():
        row = _first(within)
        first = _first((keys == keys.iloc[row]).all(axis=1) & (relations["_file"] == relations["_file"].iat[row]))
        child, parent, relation, where = relations[["child", "parent", "relation", "_where"]].iloc[row]
        raise PhyloLLMError(f"{where}: duplicate edge {child} -> {parent} ({relation}), first at {relations['_where'].iat[first]}")
    # Stacked sources (yours on the built-in one) may both document an edge: the same fact, kept once.
    repeated = keys.duplicated().to_numpy()
    relations, keys = relations[~repeated], keys[~repeated]
    graph: dict[str, list[tuple[str, str]]] = {}
    spelling: dict[str, str] = {}  # matching key -> the id as first written, for the message
    for child, parent, child_key, parent_key, where in zip(*(column.tolist() for column in (
            relations["child"], relations["parent"], keys["child"], keys["parent"], relations["_where"]))):
        graph.setdefault(child_key, []).append((parent_key, where))
        spelling.setdefault(child_key, child)
        spelling.setdefault(parent_key, parent)
    # Iterative depth-first search for a cycle (a model that is its own ancestor).
    state: dict[str, int] = {}
    for start in sorted(graph):
        if state.get(start):
            continue
        stack = [(start, iter(graph.get(start, [])))]
        path = [start]
        state[start] = 1
        while stack:
            node, edges = stack[-1]
            step = next(edges, None)
            if step is None:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            parent, where = step
            if state.get(parent) == 1:
                cycle = [spelling[key] for key in path[path.index(parent):] + [parent]]
                raise PhyloLLMError(f"{where}: cycle in the lineage: {' -> '.join(cycle)} (a model cannot be its own ancestor)")
            if not state.get(parent):
                state[parent] = 1
                path.append(parent)
                stack.append((parent, iter(graph.get(parent, []))))
    return relations


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
