"""Production ingest: run the Airbyte connection that writes bronze.

Public API (used by ``dvdrental ingest --via airbyte`` and
``dvdrental airbyte check``)::

    from ingest.airbyte import AirbyteSettings, run_sync, check_connection
    result = run_sync()            # settings from AIRBYTE_* / .env
    print(result.summary())

Helpers live in small modules: :mod:`.settings` (the typed config),
:mod:`.auth` (access tokens), :mod:`.transport` (the one place that calls
HTTP: timeouts, retries, authentication), :mod:`.retry` (when to try again),
:mod:`.client` (one typed method per endpoint), :mod:`.jobs` (lenient job
parsing), :mod:`.contract` (is the connection what the models expect?),
:mod:`.sync` (the workflow: start or attach, wait, cancel) and :mod:`.errors`
(exit codes). See docs/airbyte.md.
"""

from ingest.airbyte.client import AirbyteClient
from ingest.airbyte.errors import (
    AirbyteAuthError,
    AirbyteConnectionNotFound,
    AirbyteContractError,
    AirbyteError,
    AirbyteInterrupted,
    AirbyteJobFailed,
    AirbyteTerminated,
    AirbyteTimeout,
)
from ingest.airbyte.settings import AirbyteSettings
from ingest.airbyte.sync import SyncResult, check_connection, run_sync

__all__ = [
    "AirbyteAuthError",
    "AirbyteClient",
    "AirbyteConnectionNotFound",
    "AirbyteContractError",
    "AirbyteError",
    "AirbyteInterrupted",
    "AirbyteJobFailed",
    "AirbyteSettings",
    "AirbyteTerminated",
    "AirbyteTimeout",
    "SyncResult",
    "check_connection",
    "run_sync",
]
