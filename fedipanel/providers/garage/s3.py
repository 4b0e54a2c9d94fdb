"""S3 through boto3, the way Garage accepts it: SigV4, path-style, one region, no ACLs."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, SSLError

PROBE_PREFIX = ".fedipanel-probe-"
# One session for the process: it caches botocore's service models, which take longer to load
# than most requests take; creating clients from it is guarded because sessions are not
# thread-safe.
_session: boto3.session.Session | None = None
_session_lock = threading.Lock()


class S3Error(Exception):
    """S3 refused or could not be reached; the message says which and why (never a secret)."""


@dataclass(frozen=True)
class Credentials:
    """Where a bucket lives and the key that opens it."""

    endpoint: str
    region: str
    access_key_id: str
    secret_access_key: str

    def __repr__(self) -> str:  # keep the secret out of tracebacks and logs
        return f"Credentials({self.endpoint!r}, {self.region!r}, {self.access_key_id!r}, ***)"


def client(creds: Credentials, timeout: float = 10.0) -> Any:
    """Return a boto3 S3 client for Garage."""
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        region_name=creds.region,
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"max_attempts": 2, "mode": "standard"},
        # boto3 >= 1.36 adds checksums Garage does not understand unless told otherwise.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    global _session
    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        s3 = _session.client(
            "s3",
            endpoint_url=creds.endpoint,
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            config=config,
        )

    def same_region(request: Any, **_kwargs: Any) -> None:
        # boto3 silently retries in the region an error names; the services would not, so a
        # wrong region must fail here rather than work for the panel only.
        region = request.context.get("signing", {}).get("region")
        if region and region != creds.region:
            raise S3Error(
                f"S3 at {creds.endpoint} serves region {region!r}, not {creds.region!r}: "
                "set FEDIPANEL_S3_REGION (or the bucket's region) to match"
            )

    s3.meta.events.register("before-sign.s3", same_region)
    return s3


def explain(exc: Exception, creds: Credentials, bucket: str | None = None) -> str:
    """Turn a boto3 failure into a plain sentence."""
    where = f"S3 at {creds.endpoint}" + (f", bucket {bucket}" if bucket else "")
    if isinstance(exc, SSLError):
        return f"{where}: TLS failed; check the endpoint's scheme and certificate"
    if isinstance(exc, EndpointConnectionError):
        return f"{where} is unreachable"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "?"))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        hints = {
            "InvalidAccessKeyId": f"the access key {creds.access_key_id} is unknown",
            "SignatureDoesNotMatch": "the secret access key is wrong",
            "AuthorizationHeaderMalformed": f"the region {creds.region!r} is wrong",
            "AccessDenied": f"the key {creds.access_key_id} may not do this",
            "NoSuchBucket": "the bucket does not exist",
        }
        detail = hints.get(code) or str(error.get("Message") or code)
        if code in ("AuthorizationHeaderMalformed",) or "region" in detail.lower():
            detail = f"the region {creds.region!r} is wrong ({error.get('Message', code)})"
        return f"{where}: {detail} ({status} {code})"
    return f"{where}: {type(exc).__name__}: {exc}"


def probe(creds: Credentials, bucket: str) -> None:
    """Prove the key can write, read and delete in the bucket."""
    s3 = client(creds)
    key = f"{PROBE_PREFIX}{uuid.uuid4().hex}"
    body = b"fedipanel probe"
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        got = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        s3.delete_object(Bucket=bucket, Key=key)
    except (BotoCoreError, ClientError) as exc:
        raise S3Error(explain(exc, creds, bucket)) from None
    if got != body:
        raise S3Error(f"S3 at {creds.endpoint}, bucket {bucket}: read back something else")


def list_buckets(creds: Credentials) -> list[str]:
    """Return the buckets the key can see (the connection test's S3 check)."""
    try:
        answer = client(creds).list_buckets()
    except (BotoCoreError, ClientError) as exc:
        raise S3Error(explain(exc, creds)) from None
    return [b["Name"] for b in answer.get("Buckets", [])]


def empty(creds: Credentials, bucket: str) -> int:
    """Delete every object (and unfinished upload) in a bucket; return how many objects."""
    s3 = client(creds)
    deleted = 0
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for page in pages:
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
                deleted += len(keys)
        uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        for upload in uploads:
            s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
            return deleted
        raise S3Error(explain(exc, creds, bucket)) from None
    except BotoCoreError as exc:
        raise S3Error(explain(exc, creds, bucket)) from None
    return deleted


def set_cors(creds: Credentials, bucket: str) -> None:
    """Let browsers on any origin GET the bucket's public media."""
    rules = {
        "CORSRules": [
            {
                "AllowedOrigins": ["*"],
                "AllowedMethods": ["GET", "HEAD"],
                "AllowedHeaders": ["*"],
                "MaxAgeSeconds": 3600,
            }
        ]
    }
    try:
        client(creds).put_bucket_cors(Bucket=bucket, CORSConfiguration=rules)
    except (BotoCoreError, ClientError) as exc:
        raise S3Error(explain(exc, creds, bucket)) from None
