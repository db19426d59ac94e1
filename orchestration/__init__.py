"""Dagster wiring: the one Definitions, resources, keys, jobs, schedules and sensors."""
