"""RetailCRM API v5 constants (../shared/specs/sources.md §1)."""

API_PREFIX = "/api/v5"
# 20/50/100 are accepted everywhere; 250 only on some endpoints (unconfirmed), so 100.
PAGE_LIMIT = 100
