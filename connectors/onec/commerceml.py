"""A folder of CommerceML 2 exchange files as a dlt source `commerceml`.

The folder is where 1C (or the site) drops its exchange files: the catalogue (`import.xml` or the
2.09+ split `import___*.xml`), offers with prices and stock (`offers.xml`, or `offers___*`,
`prices___*`, `rests___*`) and order documents (sale-query answers, usually windows-1251). Files
are told apart by what they contain, not by name, and decoded as their XML declaration says.

Each file is read once per content hash (kept per table in dlt state, committed only with a
successful load): an unchanged file is skipped, a changed one is read again and its rows merged
on their ids. A file that is not well-formed (a cut upload) or not CommerceML goes to
`quarantine` whole, with the file name and the parser's reason, and none of its rows load; a
document that cannot be used (no Ид, no date, a sum that is not a number) goes to `quarantine`
with its position and XML; everything else loads. `exchange_files` lists every file seen, with
its hash, encoding, schema version, sections and status, and is the table that reports problems
(it reads every file anyway; the other tables skip what it quarantines). dlt gives a quarantine
row the column hints of the resource that yields it, so keeping that to one resource keeps the
quarantine table narrow.

Tables: `products`, `offers`, `offer_prices`, `offer_stocks`, `orders`, `order_items`,
`counterparties` (the buyers of the orders), `exchange_files`, `quarantine`. Values stay text as
in the file; staging casts them.

Standalone:  python -m connectors.onec commerceml --exchange-dir data/demo/onec/exchange
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable, Iterator

import dlt

from connectors.common.arrow import keep_dlt_columns, rows_as_arrow
from connectors.common.contracts import PII_CONTRACT
from connectors.common.quarantine import quarantine_resource, quarantined
from connectors.onec.cml import (
    COLUMNS, BadDocument, CmlFileError, FileInfo, Row, declared_encoding, parse, rows_of, sniff_sections,
)

SYSTEM = "commerceml"


def _file_problem(path: Path, digest: str, data: bytes, reason: str) -> Any:
    encoding = declared_encoding(data)
    try:
        head = data[:400].decode(encoding, "replace")
    except LookupError:  # an encoding Python does not know: show the bytes as UTF-8 would
        head = data[:400].decode("utf-8", "replace")
    return quarantined(SYSTEM, path.name, reason, {
        "file": path.name, "sha256": digest, "bytes": len(data), "encoding": encoding, "head": head,
    })


def _new_files(folder: Path, sections: set[str] | None) -> Iterator[tuple[Path, str, bytes, set[str]]]:
    """Files not yet read by the calling table (by content hash) that may hold its sections; the
    hash is recorded once the table has taken every row of the file."""
    seen: dict[str, str] = dlt.current.resource_state().setdefault("file_hashes", {})
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".xml" and not p.name.startswith(".")):
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if seen.get(path.name) == digest:
            continue
        found = sniff_sections(data, declared_encoding(data))
        if sections is None or found & sections or not found:  # no known section: let the parser say why
            yield path, digest, data, found
        seen[path.name] = digest


class _ParsedFiles:
    """Each file parsed once for all the tables that read it. Every table is its own dlt resource
    (one asset each), and an order file feeds four of them: parsing it four times was three
    quarters of a CommerceML read (19.5 of 26 s at 100,000 people). A parsed file is kept until
    every table that reads files with its sections has taken it, then dropped, so memory follows
    how far apart dlt lets the tables run (it takes their items in turn), not the folder. A table
    asking again for a file already dropped (its state was reset alone) gets it parsed anew."""

    def __init__(self) -> None:
        self._readers: list[set[str] | None] = []
        self._kept: dict[tuple[str, str], list[Any]] = {}  # (name, digest) -> [result, takers left]

    def register(self, sections: set[str] | None) -> None:
        """A table that reads files with these sections (None: every file)."""
        self._readers.append(sections)

    def _takers(self, found: set[str]) -> int:
        return sum(1 for sections in self._readers if sections is None or not found or found & sections)

    def parse(self, data: bytes, name: str, digest: str, found: set[str]) -> tuple[FileInfo, list[Row | BadDocument]]:
        key = (name, digest)
        kept = self._kept.get(key)
        if kept is None:
            try:
                result: Any = parse(data, name)
            except CmlFileError as exc:
                result = exc
            kept = self._kept[key] = [result, self._takers(found)]
        kept[1] -= 1
        if kept[1] <= 0:
            del self._kept[key]
        if isinstance(kept[0], CmlFileError):
            raise kept[0]
        return kept[0]


def _table(folder: Path, sections: set[str], kind: str, parsed: _ParsedFiles) -> Callable[[], Iterator[Any]]:
    """Rows of one kind from every new file that has the section; unreadable files and documents
    are skipped here and reported by `exchange_files` (which parses every file anyway)."""
    hints = _columns(kind)
    parsed.register(sections)

    def rows() -> Iterator[Any]:
        for path, digest, data, found in _new_files(folder, sections):
            try:
                info, items = parsed.parse(data, path.name, digest, found)
            except CmlFileError:
                continue
            meta = {"source_file": path.name, "file_sha256": digest, "schema_version": info.schema_version}
            batch = [{**row, **meta} for row in rows_of(items, kind)]
            if batch:
                yield rows_as_arrow(batch, hints)  # every column declared: Arrow skips dlt's row normaliser
    return rows


FILE_COLUMNS = {"source_file": "text", "file_sha256": "text", "schema_version": "text"}


def _columns(kind: str | dict[str, str], **extra: dict) -> dict[str, dict]:
    """Typed hints for every column of a table (one fresh dict per column: dlt writes the name
    into it), so a column empty in every file so far still exists for staging."""
    types = kind if isinstance(kind, dict) else {**COLUMNS[kind], **FILE_COLUMNS}
    return {name: {"data_type": t, **extra.get(name, {})} for name, t in types.items()}


@dlt.source(name=SYSTEM, max_table_nesting=0)
def commerceml_source(exchange_dir: str = dlt.config.value):
    dlt.current.source_schema().remove_type_detection("iso_timestamp")
    keep_dlt_columns()  # table rows arrive as Arrow tables
    folder = Path(exchange_dir)
    catalog, offers, documents = {"catalog"}, {"offers"}, {"documents"}
    parsed = _ParsedFiles()
    parsed.register(None)  # exchange_files reads every file

    @dlt.resource(name="exchange_files", primary_key=("file_name", "file_sha256"), write_disposition="merge",
                  columns=_columns({"file_name": "text", "file_sha256": "text", "bytes": "bigint", "encoding": "text",
                                    "status": "text", "reason": "text", "schema_version": "text", "generated_at": "text",
                                    "sections": "text", "only_changes": "bool", "documents": "bigint"}))
    def exchange_files() -> Iterator[Any]:
        for path, digest, data, found in _new_files(folder, None):
            row = {"file_name": path.name, "file_sha256": digest, "bytes": len(data), "encoding": declared_encoding(data)}
            try:
                info, items = parsed.parse(data, path.name, digest, found)
            except CmlFileError as exc:
                yield _file_problem(path, digest, data, str(exc))
                yield {**row, "status": "quarantined", "reason": str(exc)}
                continue
            for bad in (i for i in items if isinstance(i, BadDocument)):
                yield quarantined(SYSTEM, bad.position, bad.reason, bad.payload)
            yield {**row, "status": "read", "schema_version": info.schema_version, "generated_at": info.generated_at,
                   "sections": ",".join(info.sections), "only_changes": info.only_changes,
                   "documents": sum(isinstance(i, BadDocument) or i.kind == "order" for i in items)}

    products = dlt.resource(_table(folder, catalog, "product", parsed), name="products", primary_key="product_id",
                            write_disposition="merge", columns=_columns("product"))
    offer_rows = dlt.resource(_table(folder, offers, "offer", parsed), name="offers", primary_key="offer_id",
                              write_disposition="merge", columns=_columns("offer"))
    offer_prices = dlt.resource(_table(folder, offers, "offer_price", parsed), name="offer_prices",
                                primary_key=("offer_id", "price_type_id"), merge_key="offer_id",
                                write_disposition="merge", columns=_columns("offer_price"))
    offer_stocks = dlt.resource(_table(folder, offers, "offer_stock", parsed), name="offer_stocks",
                                primary_key=("offer_id", "warehouse_id"), merge_key="offer_id",
                                write_disposition="merge", columns=_columns("offer_stock"))
    orders = dlt.resource(_table(folder, documents, "order", parsed), name="orders", primary_key="order_id",
                          write_disposition="merge", columns=_columns("order"))
    order_items = dlt.resource(_table(folder, documents, "order_item", parsed), name="order_items",
                               primary_key=("order_id", "line_number"), merge_key="order_id", write_disposition="merge",
                               columns=_columns("order_item"))
    counterparties = dlt.resource(_table(folder, documents, "counterparty", parsed), name="counterparties",
                                  primary_key="counterparty_id", write_disposition="merge", schema_contract=PII_CONTRACT,
                                  columns=_columns("counterparty", order_date={"dedup_sort": "desc"}))
    return (exchange_files, products, offer_rows, offer_prices, offer_stocks, orders, order_items, counterparties,
            quarantine_resource())
