"""Dagster assets by step: ingest (dlt), transform (dbt), activate (segments to destinations)."""
