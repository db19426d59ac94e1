"""Per-system demo data builders beyond the core three (RetailCRM, loyalty spreadsheet, Unisender).

Each module `demo/sources/<system>.py` defines `build(world: World) -> SourceData`: it picks which
people the system knows (with its own random stream, so adding a system never changes the data of
the others), writes the files its emulator serves under `world.out / "<system>"`, and returns the
ground truth rows (`source_system`, `source_record_id`, `person_id`) plus row counts for
`ground_truth/meta.json`. `source_record_id` must be exactly what staging calls the record's id,
because the identity quality command joins on it.

Modules are listed in `demo.generate.SOURCE_MODULES`; the order there is the build order.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

if TYPE_CHECKING:
    from demo.generate import Config, Persons


@dataclass
class World:
    """Everything a builder may read: the people and what the core systems already hold."""

    cfg: "Config"
    persons: "Persons"
    out: Path
    crm_customers: pd.DataFrame  # flat RetailCRM customers (see demo.generate.build_crm)
    crm_orders: pa.Table  # Arrow: only written out and read for their largest ids
    crm_items: pa.Table
    unisender_contacts: pd.DataFrame
    extra: dict[str, Any] = field(default_factory=dict)  # what earlier builders chose to share

    def rng(self, system: str) -> np.random.Generator:
        """A random stream of the system's own, derived from the seed and the system's name."""
        return np.random.default_rng([self.cfg.seed, zlib.crc32(system.encode())])

    def dir(self, system: str) -> Path:
        path = self.out / system
        path.mkdir(parents=True, exist_ok=True)
        return path


@dataclass
class SourceData:
    truth: pd.DataFrame  # source_system, source_record_id, person_id
    rows: dict[str, int]  # "<system>.<table>": count, for meta.json and the demo summary
    revoked_emails: pd.DataFrame | None = None  # email, revoked_in: who unsubscribed there
