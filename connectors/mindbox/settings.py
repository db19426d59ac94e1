"""Mindbox API constants (../shared/specs/destinations.md §3; mindbox-cloud/php-sdk
`MindboxClientV3`, `AbstractMindboxClient`, `docs/bitrix/*`)."""

SYNC_PATH = "/v3/operations/sync"  # ?endpointId=E&operation=<Op>[&transactionId=T]

# Auth schemes: the SDK sends `SecretKey <key>` since 2024-03; the docs' async and bulk examples
# still show `Mindbox secretKey="<key>"`. Both are accepted by the API.
AUTH_SCHEMES = {"SecretKey": "SecretKey {key}", "Mindbox": 'Mindbox secretKey="{key}"'}

# Operation system names are defined per project by the Mindbox manager; these are the names our
# README asks them to create. Each can be overridden (MINDBOX_OPERATION_* settings).
DEFAULT_OPERATIONS = {
    "import": "CdpLite.ImportCustomer",  # edit-or-create a customer with its subscriptions
    "segment": "CdpLite.ChangeCustomerSegment",  # put a customer into / take out of a static segmentation
    "export": "CdpLite.ExportSegmentCustomers",  # export a segmentation's customers (read-back); "" = none
}

POINT_OF_CONTACT = {"email": "Email", "phone": "Sms"}  # our address type -> Mindbox point of contact
CUSTOMER_FIELDS = {"first_name": "firstName", "given_name": "firstName", "last_name": "lastName",
                   "middle_name": "middleName"}

SEGMENT_IN = "in"  # each audience's segmentation has one segment, "in"; no segment = not in it
BATCH = 500  # contacts per add/remove call from the engine; each contact is its own sync call (see destination.py)
# Contacts in flight at once within a batch. Mindbox publishes no per-endpoint rate for sync calls;
# four keeps a modest footprint, and a 429 is backed off (Retry-After) by the session.
CONCURRENT_CALLS = 4
EXPORT_POLL_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)  # the last repeated
EXPORT_TIMEOUT_SECONDS = 900.0
