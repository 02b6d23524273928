"""Re-sequencing: DNA computed from models' raw answers."""

from .encoders import HashingEncoder, make_encoder
from .pipeline import extract_dna, project, projection_block, prompt_fingerprint
from .responses import AnswerStats, iter_answers

__all__ = ["AnswerStats", "HashingEncoder", "extract_dna", "iter_answers", "make_encoder", "project", "projection_block", "prompt_fingerprint"]
