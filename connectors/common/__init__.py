"""Pieces every connector shares: an HTTP session with retries, and the quarantine."""
