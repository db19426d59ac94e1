"""The dbt project handle, and a manifest that is always there and current for the business settings.

Dagster needs a manifest at import (PITFALLS: DagsterDbtManifestNotFoundError), and
`prepare_if_dev()` only helps under `dagster dev`. The manifest also depends on the settings (the
enabled systems decide which staging models and unions exist), so each distinct settings gets its
own: `target/settings_<digest>/manifest.json`, the digest covering the `--vars` dbt receives and the
spreadsheet mapping file. We parse when that manifest is missing or older than any model, macro,
seed or YAML file: a few seconds, and only when something changed. Two processes with different
settings (the demo's UI and a test enabling one system) never overwrite each other's manifest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from dagster_dbt import DbtProject

from cdp.dbt_cli import dbt_args, dbt_vars_json
from cdp.settings import BusinessSettings, load_settings

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


def settings_digest(settings: BusinessSettings) -> str:
    """What the parsed manifest depends on besides the dbt files: the variables, and the mapping
    file's bytes (its entries are source systems of their own)."""
    digest = hashlib.sha256(dbt_vars_json(settings).encode())
    mapping = settings.mapping_path()
    if mapping and Path(mapping).is_file():
        digest.update(Path(mapping).read_bytes())
    return digest.hexdigest()[:16]


def manifest_dir(settings: BusinessSettings) -> Path:
    return DBT_PROJECT_DIR / "target" / f"settings_{settings_digest(settings)}"


def ensure_manifest(settings: BusinessSettings | None = None) -> Path:
    """The manifest parsed with these settings' `--vars` (default: `load_settings()`)."""
    settings = settings or load_settings()
    folder = manifest_dir(settings)
    manifest = folder / "manifest.json"
    if manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime():
        return manifest
    from dbt.cli.main import dbtRunner

    # Parse beside, then move the manifest in with one rename: a reader never sees half a file.
    scratch = folder.with_name(f"{folder.name}.parsing-{os.getpid()}")
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        if (folder / "partial_parse.msgpack").exists():
            shutil.copy2(folder / "partial_parse.msgpack", scratch / "partial_parse.msgpack")
        result = dbtRunner().invoke(dbt_args(["parse", "--target-path", str(scratch), "--quiet"], settings, environ={}))
        if not result.success:
            raise RuntimeError(f"dbt parse failed (settings: {settings.origin}): {result.exception}")
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("partial_parse.msgpack", "manifest.json"):  # the manifest last: it marks the folder current
            if (scratch / name).exists():
                os.replace(scratch / name, folder / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return manifest
