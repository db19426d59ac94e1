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
import uuid
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

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


def invocation_target(manifest: Path, name: str) -> Path:
    """A fresh target folder for one dbt command (`<name>-<random>` under target/, as dagster-dbt
    names its own), holding the partial-parse file of `manifest`'s folder, so dbt reads only what
    changed since that parse. Without it every build parsed the whole project again: dagster-dbt
    seeds a command's folder only from `target/partial_parse.msgpack`, and ours live per settings
    (ensure_manifest). A full parse is 6.9 s of a command against 3.5 s with the file (`dbt parse`
    on the demo project, this machine); dbt itself checks that the file matches the project, the
    variables and the profile (the warehouse path among them), and parses in full when it does
    not. `keep_parse` hands the command's own file back, so the next command on the same
    warehouse finds one that matches."""
    target = DBT_PROJECT_DIR / "target" / f"{name}-{uuid.uuid4().hex[:12]}"
    target.mkdir(parents=True, exist_ok=True)
    parsed = manifest.parent / "partial_parse.msgpack"
    if parsed.exists():
        shutil.copy2(parsed, target / "partial_parse.msgpack")
    return target


def keep_parse(target: Path, manifest: Path) -> None:
    """The partial-parse file a command wrote, kept beside `manifest` for the next command (one
    rename, so a reader never sees half a file)."""
    parsed = target / "partial_parse.msgpack"
    if not parsed.exists():
        return
    scratch = manifest.parent / f"partial_parse.msgpack.{os.getpid()}-{uuid.uuid4().hex[:6]}"
    shutil.copy2(parsed, scratch)
    os.replace(scratch, manifest.parent / "partial_parse.msgpack")


class DbtCli(DbtCliResource):
    """dagster-dbt's resource without two things it does in each run before dbt starts: in a 100k
    change run's dbt step, the command was launched 2.9 s after the step's preparation ended, and
    0.35 s after without them:

    - it builds a dbt adapter in our process (the profile, the project and dbt's macros, 0.9 s).
      The adapter serves only `fetch_row_counts` and `fetch_column_metadata`, which we do not call;
      dagster-dbt carries on with None where building it fails, so None is a state it expects;
    - it runs `dbt --version` in a new process to learn the version (2.0 s): our executable is the
      dbt-core installed beside us (cdp/dbt_cli.py), so its package version is the answer (a test
      compares the two)."""

    def _initialize_dbt_core_adapter(self, args):  # noqa: ARG002 (dagster-dbt's signature)
        return None

    @cached_property
    def _cli_version(self):
        from importlib.metadata import version as installed
        from packaging.version import parse

        return parse(installed("dbt-core"))
