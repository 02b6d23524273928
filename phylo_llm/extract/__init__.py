"""Re-sequencing: DNA computed from models' raw answers."""

from .encoders import HashingEncoder, make_encoder
from .pipeline import Extraction, dna_from_probes, extract, extract_dna, extract_like, project, project_probes, projection_block, prompt_fingerprint
from .responses import AnswerStats, iter_answers

__all__ = ["AnswerStats", "Extraction", "HashingEncoder", "dna_from_probes", "extract", "extract_dna", "extract_like", "project_probes", "iter_answers", "make_encoder", "project", "projection_block", "prompt_fingerprint"]
