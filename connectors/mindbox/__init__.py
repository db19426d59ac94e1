"""Mindbox, a destination only: customers put into a static segmentation through the project's
operations (client.py for the protocol, destination.py for the sync, README.md for the setup a
Mindbox manager does)."""
