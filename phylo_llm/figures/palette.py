"""One colour per meaning, the same in every figure and in the explorer.

* **Families** have fixed colours, in a fixed order: the 16 largest
  pretraining families of the built-in knowledge base when this table was
  made (models per family, ties by name), then the other families with five
  or more models in the published paper set (BLOOM) or the demo data (T5),
  frozen here so that a colour never changes meaning when data or knowledge
  base change. New families are appended, never inserted. Other real
  families share :data:`OTHER_FAMILY`; models with no documented family are
  :data:`UNKNOWN`, always.
* **Relations** (``same_weights``, ``finetune``, ...) have their own
  palette, and ``unrelated`` is :data:`UNKNOWN`.
* **Release dates** use the sequential map :data:`RELEASE_CMAP` (unknown
  dates are :data:`UNKNOWN`).

Colours: Paul Tol's colour-blind-safe "muted" scheme for the nine largest
families, then colours from his "vibrant", "light" and "dark" schemes chosen
so that every two family colours (and the two greys) differ by at least 22
CIELAB units (the old table had pairs 6 units apart: Llama and GPT-2, Phi
and Falcon); his "bright" scheme for relations. Pure data, no plotting
library: the explorer and the figures read the same table.

Examples
--------
>>> family_colour("Qwen"), family_colour("Some new family"), family_colour(None)
('#332288', '#777777', '#BBBBBB')
>>> ordered_families(["Yi", "Qwen", None, "Acme", "Qwen"])
['Qwen', 'Yi', 'Acme']
"""

from __future__ import annotations

from collections.abc import Iterable

#: The families that get their own colour, in the order colours are given (frozen: see the module docstring).
FAMILY_ORDER: tuple[str, ...] = (
    "Qwen", "Llama", "Mistral", "Gemma", "Yi", "Phi", "Pythia", "Granite",
    "DeepSeek", "OLMo", "GPT", "Falcon", "TinyLlama", "GPT-2", "Nemotron", "SmolLM",
    "BLOOM", "T5",
)

_MUTED = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499")
# orange, blue, red (vibrant); pink, pear (light); dark red, brown, dark teal (dark); magenta (vibrant)
_MORE = ("#EE7733", "#0077BB", "#CC3311", "#FFAABB", "#BBCC33", "#663333", "#994F00", "#225555", "#EE3377")

#: Family -> colour.
FAMILY_COLOURS: dict[str, str] = dict(zip(FAMILY_ORDER, (*_MUTED, *_MORE)))
#: Any other documented family.
OTHER_FAMILY = "#777777"
#: No documented family (and "unrelated" pairs, unknown release dates): always this grey.
UNKNOWN = "#BBBBBB"

#: Relation type -> colour (Tol "bright"); the types of :data:`phylo_llm.lineage.RELATION_TYPES`.
RELATION_COLOURS: dict[str, str] = {
    "same_weights": "#4477AA",
    "finetune": "#EE6677",
    "continued_pretraining": "#228833",
    "merge": "#CCBB44",
    "distillation": "#66CCEE",
    "pruning": "#AA3377",
    "unrelated": UNKNOWN,
}

#: Sequential colour map (a matplotlib name) for release dates: perceptually uniform and colour-blind safe.
RELEASE_CMAP = "cividis"


def _no_family(family) -> bool:
    return family is None or family != family or not str(family).strip() or str(family).startswith("(")


def family_colour(family: str | None) -> str:
    """The colour of a family: its own, :data:`OTHER_FAMILY`, or :data:`UNKNOWN` when there is none.

    Examples
    --------
    >>> family_colour("Llama"), family_colour(None) == UNKNOWN
    ('#88CCEE', True)
    """
    if _no_family(family):
        return UNKNOWN
    return FAMILY_COLOURS.get(str(family), OTHER_FAMILY)


def relation_colour(relation: str | None) -> str:
    """The colour of a relation type (:data:`UNKNOWN` for none or an unknown one).

    Examples
    --------
    >>> relation_colour("finetune"), relation_colour("no such relation") == UNKNOWN
    ('#EE6677', True)
    """
    return RELATION_COLOURS.get(str(relation), UNKNOWN) if relation else UNKNOWN


def ordered_families(families: Iterable[str | None]) -> list[str]:
    """The distinct real families among ``families``: those with a colour in :data:`FAMILY_ORDER`, then the others by name.

    The order legends list families in, the same everywhere.

    Examples
    --------
    >>> ordered_families(["Qwen", None, "Llama", "zzz", "Qwen"])
    ['Qwen', 'Llama', 'zzz']
    """
    present = {str(f) for f in families if not _no_family(f)}
    rank = {f: k for k, f in enumerate(FAMILY_ORDER)}
    return sorted(present, key=lambda f: (rank.get(f, len(rank)), f))
