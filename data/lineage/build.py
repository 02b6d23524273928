"""Rebuild the shipped lineage knowledge base (``models.csv``, ``relations.csv``).

    python data/lineage/build.py ../shared/data/lineage [--output phylo_llm/lineage/builtin]

Writes the package's shipped files (``phylo_llm/lineage/builtin/``) unless
``--output`` names another folder.

Inputs: the curated seed (``models.csv`` and ``relations-dev.csv`` of the
shared lineage folder), the hand curation in ``curation/``, and two naming
rules, each edge marked with its evidence. Output is deterministic.

Rules (evidence ``name``, confidence ``medium``), applied only to models
that have no documented parent in the seed:

* a quantized or precision re-upload, ``X-GPTQ``/``-AWQ``/``-NVFP4``/``-bnb-4bit``
  /``-4bit``/``-8bit``/``-fp8``/``-bf16``/``-mlx``..., of a model ``X`` present in the
  data and not itself quantized: ``same_weights``;
* a same-name re-upload by ``unsloth`` or ``NousResearch`` (who mirror
  official weights) of a model of another organisation: ``same_weights``.

Fills, marked in ``source`` columns: ``organization`` from the hub namespace
when empty; ``family`` ``(random weights)`` for randomly initialised test
models (``tiny-random``, ``unit-test``, ``dummy`` ... in the name) and
``(unknown)`` when nothing is documented; ``architecture`` ``(unknown)``
when nothing is documented.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
QUANTIZED = re.compile(
    r"^(?P<stem>.+?)[-_.](gptq|awq|nvfp4|bnb-4bit|4bit|8bit|int4|int8|fp8|bf16|fp16|mlx(-\w+)?|exl2)$", re.IGNORECASE
)
RANDOM_WEIGHTS = re.compile(r"tiny[-_]random|random[-_]|[-_]random\b|unit-test|dummy|tiny[-_]dummy", re.IGNORECASE)
MIRRORS = ("unsloth", "NousResearch")


BUILTIN = HERE.parents[1] / "phylo_llm" / "lineage" / "builtin"


def main(seed_folder: str, output: Path = BUILTIN) -> None:
    seed = Path(seed_folder)
    models = pd.read_csv(seed / "models.csv", dtype=str, keep_default_na=False)
    relations = pd.read_csv(seed / "relations-dev.csv", dtype=str, keep_default_na=False)
    models = apply_curation(models, pd.read_csv(HERE / "curation" / "models.csv", dtype=str, keep_default_na=False))
    models = fill_gaps(models)
    added = rule_edges(models, relations)
    relations = pd.concat([relations, added], ignore_index=True)
    relations = relations.sort_values(["child", "parent", "relation"], key=lambda s: s.str.lower(), kind="stable")
    output.mkdir(parents=True, exist_ok=True)
    models.to_csv(output / "models.csv", index=False, lineterminator="\n")
    relations.to_csv(output / "relations.csv", index=False, lineterminator="\n")
    print(f"{len(models)} models, {len(relations)} edges ({len(added)} from naming rules) -> {output}")


def apply_curation(models: pd.DataFrame, curation: pd.DataFrame) -> pd.DataFrame:
    models = models.set_index("model")
    for row in curation.itertuples(index=False):
        for column in ("family", "organization", "architecture"):
            value = getattr(row, column)
            if value:
                models.loc[row.model, column] = value
                models.loc[row.model, f"{column}_source"] = "curation"
    return models.reset_index().fillna("")


def fill_gaps(models: pd.DataFrame) -> pd.DataFrame:
    models = models.copy()
    for column in ("family_source", "organization_source", "architecture_source"):
        if column not in models.columns:
            models[column] = ""
    for i, row in models.iterrows():
        if not row["organization"]:
            models.at[i, "organization"] = row["model"].split("/")[0] if "/" in row["model"] else "(unknown)"
            models.at[i, "organization_source"] = "hub namespace" if "/" in row["model"] else "none"
        if not row["family"]:
            random = bool(RANDOM_WEIGHTS.search(row["model"]))
            models.at[i, "family"] = "(random weights)" if random else "(unknown)"
            models.at[i, "family_source"] = "name (random-weight test model)" if random else "none"
        if not row["architecture"]:
            models.at[i, "architecture"] = "(unknown)"
            models.at[i, "architecture_source"] = "none"
    return models


def rule_edges(models: pd.DataFrame, relations: pd.DataFrame) -> pd.DataFrame:
    documented = set(relations["child"].str.lower())
    by_name: dict[str, list[str]] = {}
    for model in models["model"]:
        by_name.setdefault(model.split("/")[-1].lower(), []).append(model)
    rows = []
    for model in models["model"]:
        if model.lower() in documented or "/" not in model:
            continue
        org, name = model.split("/", 1)
        match = QUANTIZED.match(name)
        if match:
            parents = [p for p in by_name.get(match.group("stem").lower(), []) if p != model and not QUANTIZED.match(p.split("/")[-1])]
            if len({p.lower() for p in parents}) == 1:
                rows.append((model, parents[0], "same_weights", "quantized or precision re-upload (name suffix)"))
            continue
        if org in MIRRORS:
            parents = [p for p in by_name.get(name.lower(), []) if p.split("/")[0] not in MIRRORS]
            if len({p.lower() for p in parents}) == 1:
                rows.append((model, parents[0], "same_weights", f"re-upload of the official weights by {org} (same name)"))
    frame = pd.DataFrame(rows, columns=["child", "parent", "relation", "note"])
    frame["evidence"] = "name"
    frame["confidence"] = "medium"
    return frame[["child", "parent", "relation", "evidence", "confidence", "note"]]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("seed", nargs="?", default=str(HERE.parents[2] / "shared" / "data" / "lineage"),
                        help="the shared lineage folder (models.csv, relations-dev.csv)")
    parser.add_argument("--output", type=Path, default=BUILTIN, help="folder to write (default: the shipped one)")
    arguments = parser.parse_args()
    main(arguments.seed, arguments.output)
