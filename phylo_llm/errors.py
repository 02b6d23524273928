"""The one error type of the package, and its warning category."""

from __future__ import annotations


class PhyloLLMError(ValueError):
    """Bad input or an impossible request.

    The message names the file and the row, model or value at fault; the
    command-line interface prints it as a single line and exits with code 2.
    """


class PhyloLLMWarning(UserWarning):
    """Something the user should know that does not stop the run."""
