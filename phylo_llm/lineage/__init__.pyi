# Public names of phylo_llm.lineage, loaded lazily (lazy_loader.attach_stub reads this file).
from ._knowledge import BUILTIN as BUILTIN
from ._knowledge import PSEUDO_FAMILIES as PSEUDO_FAMILIES
from ._knowledge import RELATION_TYPES as RELATION_TYPES
from ._knowledge import Coverage as Coverage
from ._knowledge import Lineage as Lineage
from ._knowledge import LineageLike as LineageLike
from ._knowledge import LineageView as LineageView
from ._knowledge import as_lineage as as_lineage
from ._knowledge import load_lineage as load_lineage
from ._knowledge import real_family as real_family
