"""`multipart/form-data` bodies for the emulators whose APIs take file uploads (Yandex Audience,
VK Ads). The standard library's e-mail parser reads the format (it is MIME); `cgi` is gone from
Python 3.13."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import HTTP

from emulators.base import Request


class FormPart:
    def __init__(self, name: str, filename: str | None, data: bytes):
        self.name, self.filename, self.data = name, filename, data

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def form_parts(req: Request) -> dict[str, FormPart] | None:
    """Parts by field name, or None when the request is not multipart/form-data."""
    ctype = req.headers.get("content-type", "")
    if not ctype.lower().startswith("multipart/form-data"):
        return None
    message = message_from_bytes(f"Content-Type: {ctype}\r\n\r\n".encode("latin-1") + req.body, policy=HTTP)
    parts: dict[str, FormPart] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            parts[str(name)] = FormPart(str(name), part.get_filename(), part.get_payload(decode=True) or b"")
    return parts
