"""S3 buckets per service, with names derived from the operator's slug."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from fedipanel.core.resources import S3Settings

# S3 and Garage accept 3-63 lowercase letters, digits and inner hyphens (dots are allowed by S3
# but break virtual-host TLS, so they are never generated).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_FORBIDDEN_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_FORBIDDEN_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3")


@dataclass(frozen=True)
class BucketSpec:
    """One bucket a service stores into; public ones are read by browsers (CORS on)."""

    purpose: str
    public_read: bool


@dataclass(frozen=True)
class Bucket:
    """One bucket of one service; `purpose` says what the service stores in it."""

    name: str
    service: str
    purpose: str
    public_read: bool
    # A pre-configured bucket: one for all of the service's purposes, never created or deleted.
    assigned: bool = False

    @property
    def cors(self) -> bool:
        # Browsers fetch public media (images, HLS segments) from the bucket's origin.
        return self.public_read


def is_valid_bucket_name(name: str) -> bool:
    """Tell whether S3 and Garage both accept a bucket name."""
    return (
        bool(_BUCKET.fullmatch(name))
        and not name.startswith(_FORBIDDEN_PREFIXES)
        and not name.endswith(_FORBIDDEN_SUFFIXES)
    )


def bucket_name(slug: str, service: str, purpose: str) -> str:
    """Return the bucket name for a slug, service and purpose, shortened with a hash if needed."""
    suffix = service if purpose == "media" else f"{service}-{purpose}"
    name = f"{slug}-{suffix}"
    if is_valid_bucket_name(name):
        return name
    digest = hashlib.sha256(slug.encode()).hexdigest()[:8]
    room = 63 - len(suffix) - len(digest) - 2
    head = re.sub(r"[^a-z0-9-]", "", slug.lower())
    for prefix in _FORBIDDEN_PREFIXES:
        head = head.removeprefix(prefix)
    head = head[:room].strip("-")
    return f"{head}-{digest}-{suffix}" if head else f"fp{digest}-{suffix}"


def buckets_for(slug: str, service: str, specs: Iterable[BucketSpec]) -> list[Bucket]:
    """Return the buckets a service needs, named after the operator's slug."""
    return [
        Bucket(bucket_name(slug, service, spec.purpose), service, spec.purpose, spec.public_read)
        for spec in specs
    ]


def assigned_buckets_for(service: str, bucket: str, specs: Iterable[BucketSpec]) -> list[Bucket]:
    """Return the service's buckets when the provider gave it one existing bucket."""
    return [Bucket(bucket, service, spec.purpose, False, True) for spec in specs]


def public_bucket_url(s3: S3Settings, bucket: str) -> str:
    """Return the URL browsers fetch a public bucket's objects from.

    `public_url` may contain `{bucket}` (virtual-host or website style); otherwise the bucket is
    appended as a path, as is the S3 endpoint itself when no public URL is set.
    """
    base = (s3.public_url or s3.endpoint).rstrip("/")
    if "{bucket}" in base:
        return base.replace("{bucket}", bucket)
    return f"{base}/{bucket}"
