"""What can go wrong with the local Superset, as part of the one PipelineError hierarchy."""

from __future__ import annotations

from foundation.errors import PipelineError


class SupersetError(PipelineError):
    """Superset could not be installed, initialised or started, or refused the bundle."""

    exit_code = 11
