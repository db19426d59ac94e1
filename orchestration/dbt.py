"""The dbt project handle, and a manifest that is always there and current.

Dagster needs `target/manifest.json` at import (PITFALLS: DagsterDbtManifestNotFoundError), and
`prepare_if_dev()` only helps under `dagster dev`. So we parse whenever the manifest is missing
or older than any model, macro, seed or YAML file: a few seconds, and only when something changed.
"""

from __future__ import annotations

from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def _newest_source_mtime() -> float:
    newest = 0.0
    for folder in ("models", "macros", "seeds", "tests"):
        for path in (DBT_PROJECT_DIR / folder).rglob("*"):
            if path.is_file():
                newest = max(newest, path.stat().st_mtime)
    for name in ("dbt_project.yml", "profiles.yml"):
        newest = max(newest, (DBT_PROJECT_DIR / name).stat().st_mtime)
    return newest


def ensure_manifest() -> Path:
    manifest = dbt_project.manifest_path
    if not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime():
        from dbt.cli.main import dbtRunner

        result = dbtRunner().invoke(["parse", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--quiet"])
        if not result.success:
            raise RuntimeError(f"dbt parse failed: {result.exception}")
    return manifest
