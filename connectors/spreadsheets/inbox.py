"""Where the spreadsheets wait: a local folder or an S3 prefix, behind one small interface.

Only the top level is read (files under `<inbox>/archive/` or `s3://b/p/archive/` are ignored), so
people can move processed files aside. A local inbox reads only regular files that are really in
its folder: a symbolic link is skipped (it could point at any file on the machine: a line of a
system file once reached the warehouse that way), and a name is never a path. A file is
identified by its name relative to the inbox; its `stamp` (size and mtime, or size and ETag) is a
cheap "has it changed?" that lets an unchanged S3 object be skipped without downloading it. The
content hash stays the authority.
`modified_at` (the file's modification time, an S3 object's LastModified) is the best date we have
of when the file was exported: it dates the consent a file states without a date column of its own.

Credentials are arguments: the connector never reads the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Protocol

SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls")


@dataclass(frozen=True)
class InboxFile:
    name: str  # relative to the inbox: what positions, state and mapping patterns use
    stamp: str
    modified_at: datetime | None = None  # aware (UTC); None when the store does not say


class Inbox(Protocol):
    location: str

    def files(self) -> Iterator[InboxFile]: ...

    def read(self, name: str) -> bytes: ...


def _utc(value) -> datetime | None:
    """boto3 gives LastModified as an aware datetime; anything else is unknown."""
    if not isinstance(value, datetime):
        return None
    return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _wanted(name: str) -> bool:
    return name.lower().endswith(SUFFIXES) and not name.startswith((".", "~$"))


class LocalInbox:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.location = str(self.folder)

    def files(self) -> Iterator[InboxFile]:
        if not self.folder.is_dir():
            raise FileNotFoundError(f"spreadsheet inbox {self.folder} is not a folder")
        with os.scandir(self.folder) as found:
            entries = sorted(found, key=lambda e: e.name)
        for entry in entries:  # is_file(follow_symlinks=False): a link, even to a file, is not a file here
            if entry.is_file(follow_symlinks=False) and _wanted(entry.name):
                st = entry.stat(follow_symlinks=False)
                yield InboxFile(entry.name, f"{st.st_size}:{st.st_mtime_ns}",
                                datetime.fromtimestamp(st.st_mtime, tz=timezone.utc))

    def read(self, name: str) -> bytes:
        """The file `name` in the folder itself; O_NOFOLLOW refuses a link swapped in after listing."""
        if name != Path(name).name or name in ("", ".", ".."):
            raise ValueError(f"{name!r} is not a file name in the inbox")
        fd = os.open(self.folder / name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            return handle.read()


class S3Inbox:
    """`s3://bucket/prefix/` on any S3-compatible store (Yandex Object Storage, MinIO, moto)."""

    def __init__(self, url: str, *, endpoint_url: str | None, access_key_id: str | None,
                 secret_access_key: str | None, region: str | None = None, client=None):
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise ValueError(f"{url!r} is not an s3://bucket/prefix/ address")
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self.location = f"s3://{bucket}/{self.prefix}"
        self.client = client or make_s3_client(endpoint_url, access_key_id, secret_access_key, region)

    def files(self) -> Iterator[InboxFile]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix, Delimiter="/"):
            for obj in page.get("Contents", []):
                name = obj["Key"][len(self.prefix):]
                if name and _wanted(name):
                    yield InboxFile(name, f"{obj['Size']}:{obj['ETag'].strip(chr(34))}", _utc(obj.get("LastModified")))

    def read(self, name: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self.prefix + name)["Body"].read()


def make_s3_client(endpoint_url: str | None, access_key_id: str | None, secret_access_key: str | None,
                   region: str | None = None):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region or "us-east-1",
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        # Path-style works on every S3-compatible store; retries cover throttling and 5xx.
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"}),
    )


def open_inbox(location: str, *, s3_endpoint_url: str | None = None, s3_access_key_id: str | None = None,
               s3_secret_access_key: str | None = None, s3_region: str | None = None) -> Inbox:
    if location.startswith("s3://"):
        return S3Inbox(location, endpoint_url=s3_endpoint_url, access_key_id=s3_access_key_id,
                       secret_access_key=s3_secret_access_key, region=s3_region)
    return LocalInbox(location)
