"""What a dlt run extracted, for the connectors' tests."""

from __future__ import annotations


def extracted_formats(pipeline) -> dict[str, set[str]]:
    """The file format of each table's extracted jobs in the pipeline's last run: `parquet` for
    Arrow items, `typed-jsonl` for dict rows, which dlt's row normaliser then reads back one by one."""
    found: dict[str, set[str]] = {}
    for package in pipeline.last_trace.last_extract_info.load_packages:
        for job in package.jobs["new_jobs"]:
            found.setdefault(job.job_file_info.table_name, set()).add(job.job_file_info.file_format)
    return found
