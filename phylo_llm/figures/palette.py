"""One colour per meaning, the same in every figure and in the explorer.

* **Families** have fixed colours, in a fixed order: the 16 largest
  pretraining families of the built-in knowledge base when this table was
  made (models per family, ties by name), frozen here so that a colour never
  changes meaning when data or knowledge base change. Other real families
  share :data:`OTHER_FAMILY`; models with no documented family are
  :data:`UNKNOWN`, always.
* **Relations** (``same_weights``, ``finetune``, ...) have their own
  palette, disjoint in hue order from the families' first colours, and
  ``unrelated`` is :data:`UNKNOWN`.

Colours: Paul Tol's colour-blind-safe "muted" (9) and "light" (7) schemes
for families, his "bright" scheme for relations. Pure data, no plotting
library: the explorer and the figures read the same table.

Examples
--------
>>> family_colour("Qwen"), family_colour("Some new family"), family_colour(None)
('#332288', '#777777', '#BBBBBB')
"""

from __future__ import annotations

#: The families that get their own colour, in the order colours are given (frozen: see the module docstring).
FAMILY_ORDER: tuple[str, ...] = (
    "Qwen", "Llama", "Mistral", "Gemma", "Yi", "Phi", "Pythia", "Granite",
    "DeepSeek", "OLMo", "GPT", "Falcon", "TinyLlama", "GPT-2", "Nemotron", "SmolLM",
)

_MUTED = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499")
_LIGHT = ("#77AADD", "#EE8866", "#EEDD88", "#FFAABB", "#99DDFF", "#44BB99", "#AAAA00")

#: Family -> colour.
FAMILY_COLOURS: dict[str, str] = dict(zip(FAMILY_ORDER, (*_MUTED, *_LIGHT)))
#: Any other documented family.
OTHER_FAMILY = "#777777"
#: No documented family (and "unrelated" pairs): always this grey.
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


def family_colour(family: str | None) -> str:
    """The colour of a family: its own, :data:`OTHER_FAMILY`, or :data:`UNKNOWN` when there is none."""
    if family is None or family != family or not str(family).strip() or str(family).startswith("("):
        return UNKNOWN
    return FAMILY_COLOURS.get(str(family), OTHER_FAMILY)


def relation_colour(relation: str | None) -> str:
    """The colour of a relation type (:data:`UNKNOWN` for none or an unknown one)."""
    return RELATION_COLOURS.get(str(relation), UNKNOWN) if relation else UNKNOWN
