"""The seam between the application and the warehouse.

* :mod:`.gateways` — what each SQLMesh gateway of config.yaml needs (settings, drivers, probes);
* :mod:`.context` — a SQLMesh context's life cycle: open, plan/run prod, release;
* :mod:`.console` — what SQLMesh did, observed through its console interface;
* :mod:`.failures` — SQLMesh errors and failed audits as one :class:`PipelineError`;
* :mod:`.lock` — one pipeline run at a time per warehouse;
* :mod:`.reader` — one read-only way to query the warehouse, closed on exit.
"""
