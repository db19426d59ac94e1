"""Yandex Audience (api-audience.yandex.ru): CRM segments of SHA-256 hashes as an activation
destination. `client.py` speaks the management API; `destination.py` is the sync engine's client."""
