"""1C standard OData and CommerceML constants (../shared/specs/sources.md §4)."""

ODATA_ROOT = "/odata/standard.odata"
COUNTERPARTIES = "Catalog_Контрагенты"
PRODUCTS = "Catalog_Номенклатура"
SALES = "Document_РеализацияТоваровУслуг"
SALE_LINES = "Товары"  # the table part embedded in each sales document

# Public clients page 500-5000 rows; 1000 keeps one page well under a second on a real server.
PAGE_SIZE = 1000
# A dedicated infobase user with read rights on the published objects; the password is the secret.
DEFAULT_USER = "odata"
# Documents are re-read this far behind the newest `Date` seen: 1C lets users edit, unpost,
# mark for deletion and back-date documents, and nothing in OData says which ones changed.
SALES_LOOKBACK_DAYS = 30
# The first run reads every document dated after this (1C 8 appeared in 2003).
SALES_SINCE = "1900-01-01T00:00:00"
# 1C's empty date: a document carrying it cannot be windowed, so every run asks for those too.
EMPTY_DATE = "0001-01-01T00:00:00"
EMPTY_REF = "00000000-0000-0000-0000-000000000000"
# The first request after an idle spell waits for 1C to start a session (30 s and more).
TIMEOUT_SECONDS = 90.0

# Fields staging reads personal data and deletion flags from: if 1C stops sending one (a renamed
# attribute, an object dropped from the OData composition), the run stops instead of loading NULLs.
COUNTERPARTY_FIELDS = ("Ref_Key", "DataVersion", "DeletionMark", "IsFolder", "Code", "Description",
                       "ЮридическоеФизическоеЛицо", "КонтактнаяИнформация")
SALES_FIELDS = ("Ref_Key", "DataVersion", "DeletionMark", "Number", "Date", "Posted", "Контрагент_Key",
                "СуммаДокумента", SALE_LINES)
PRODUCT_FIELDS = ("Ref_Key", "DataVersion", "DeletionMark", "Description")
