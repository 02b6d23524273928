"""Re-sequencing: DNA computed from models' raw answers."""

from .._deprecation import install_module_aliases as _install_module_aliases
from ._encoders import EMPTY_ANSWER, HashingEncoder, encoder_spec, make_encoder
from ._pipeline import (
    Extraction,
    dna_from_probes,
    extract,
    extract_dna,
    extract_like,
    project,
    project_probes,
    projection_block,
    prompt_fingerprint,
    prompt_set,
)
from ._responses import AnswerStats, ModelAnswers, is_answers, iter_answers, prompt_key

__all__ = [
    "EMPTY_ANSWER", "AnswerStats", "Extraction", "HashingEncoder", "ModelAnswers", "dna_from_probes", "encoder_spec", "extract",
    "extract_dna", "extract_like", "is_answers", "iter_answers", "make_encoder", "project", "project_probes", "projection_block",
    "prompt_fingerprint", "prompt_key", "prompt_set",
]
_install_module_aliases(__name__)
