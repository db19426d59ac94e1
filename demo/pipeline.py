"""Run the whole chain once, the way the daily job does, and summarise it for a person."""

from __future__ import annotations

import dagster as dg

from cdp.summary import print_summary, summary  # noqa: F401  (the demo's summary)


def materialize_all(env: dict[str, str]) -> dg.ExecuteInProcessResult:
    from orchestration.definitions import build_definitions

    defs = build_definitions()
    job = defs.resolve_job_def("daily_refresh_job")
    with dg.DagsterInstance.ephemeral() as instance:
        return job.execute_in_process(instance=instance, raise_on_error=False)


