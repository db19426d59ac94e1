"""One package per outside system, both directions (extract as dlt sources, send as clients).

Nothing here imports Dagster: every source runs on its own with plain dlt.
"""
