"""A fake Garage: the admin API v2 and an S3 front that enforces each key's permissions.

Both are real HTTP servers on loopback. The admin API checks every request against
`tests/reference/garage_admin_v2_subset.json` (unknown operation, query parameter or body
field -> 400, as Garage does), answers Garage's error shape `{code, message, region, path}` with
404 for unknown ids and 409 for conflicts, and checks its own answers against the reference's
response schemas. Buckets live in a moto S3 server (named after their global alias); the S3
front verifies each request's SigV4 signature with the key's secret, the region, and the key's
read / write / owner permission on the bucket before forwarding the request to moto, since moto
itself accepts any key. `faults` (tests/fakes/faults.py) makes a seeded share of admin API calls
fail transiently, some after the work was done.
"""

from __future__ import annotations

import http.client
import json
import secrets
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from tests.fakes import faults as fault_kinds
from tests.fakes.faults import Faults

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
SPEC: dict[str, Any] = json.loads((REFERENCE / "garage_admin_v2_subset.json").read_text())[
    "operations"
]
REGION = "garage"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class FakeBucket:
    id: str
    alias: str
    created: str
    website: bool = False
    quotas: dict[str, Any] = field(default_factory=lambda: {"maxSize": None, "maxObjects": None})


@dataclass
class FakeKey:
    id: str
    name: str
    secret: str
    created: str
    perms: dict[str, dict[str, bool]] = field(default_factory=dict)  # bucket id -> flags


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


# -- a small JSON Schema check, enough for the reference's request and response schemas ------


def check_schema(value: Any, schema: dict[str, Any] | None, where: str, strict: bool) -> None:
    """Raise ValueError when `value` does not match `schema` (strict: no unknown fields)."""
    if not schema:
        return
    if "oneOf" in schema:
        errors = []
        for option in schema["oneOf"]:
            try:
                check_schema(value, option, where, strict)
                return
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError(f"{where}: matches none of the allowed shapes ({'; '.join(errors)})")
    types = schema.get("type")
    types = [types] if isinstance(types, str) else (types or [])
    python = {
        "object": dict,
        "array": list,
        "string": str,
        "boolean": bool,
        "integer": int,
        "null": type(None),
    }
    if types and not any(
        isinstance(value, python[t]) and not (t == "integer" and isinstance(value, bool))
        for t in types
    ):
        raise ValueError(f"{where}: expected {'/'.join(types)}, got {type(value).__name__}")
    if isinstance(value, dict) and "properties" in schema:
        for name in schema.get("required", []):
            if name not in value:
                raise ValueError(f"{where}: missing field `{name}`")
        for name, item in value.items():
            if name not in schema["properties"]:
                if strict:
                    raise ValueError(f"{where}: unknown field `{name}`")
                continue
            check_schema(item, schema["properties"][name], f"{where}.{name}", strict)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            check_schema(item, schema["items"], f"{where}[{i}]", strict)
    if isinstance(value, int) and "minimum" in schema and value < schema["minimum"]:
        raise ValueError(f"{where}: below {schema['minimum']}")


class FakeGarage:
    """The cluster state plus the two servers."""

    def __init__(self, moto_url: str, token: str = "admin-token-for-tests") -> None:  # noqa: S107
        self.moto_url = moto_url.rstrip("/")
        self.token = token
        self.buckets: dict[str, FakeBucket] = {}
        self.keys: dict[str, FakeKey] = {}
        self.calls: list[tuple[str, dict[str, str], Any]] = []
        self.lock = threading.RLock()
        self.fail_next: dict[str, tuple[int, str]] = {}  # operation -> (status, code)
        self.faults: Faults | None = None
        self.root = boto3.client(
            "s3",
            endpoint_url=self.moto_url,
            region_name=REGION,
            aws_access_key_id="moto-root",
            aws_secret_access_key="moto-root",
            config=Config(
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
        self.admin_server = _serve(_AdminHandler, self)
        self.s3_server = _serve(_S3Handler, self)

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_server.server_address[1]}"

    @property
    def s3_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_server.server_address[1]}"

    def close(self) -> None:
        for server in (self.admin_server, self.s3_server):
            server.shutdown()
            server.server_close()

    # -- views for tests --------------------------------------------------------------------

    def operations(self) -> list[str]:
        return [name for name, _query, _body in self.calls]

    def bucket_named(self, alias: str) -> FakeBucket | None:
        return next((b for b in self.buckets.values() if b.alias == alias), None)

    def key_named(self, name: str) -> FakeKey | None:
        return next((k for k in self.keys.values() if k.name == name), None)

    def objects(self, alias: str) -> list[str]:
        answer = self.root.list_objects_v2(Bucket=alias)
        return [item["Key"] for item in answer.get("Contents", [])]

    # -- admin operations -------------------------------------------------------------------

    def dispatch(self, operation: str, query: dict[str, str], body: Any) -> Any:
        with self.lock:
            self.calls.append((operation, query, body))
            if operation in self.fail_next:
                status, code = self.fail_next.pop(operation)
                raise ApiError(status, code, f"injected failure of {operation}")
            return getattr(self, f"op_{operation}")(query, body)

    def _bucket_info(self, bucket: FakeBucket) -> dict[str, Any]:
        objects = self.root.list_objects_v2(Bucket=bucket.alias).get("Contents", [])
        return {
            "id": bucket.id,
            "created": bucket.created,
            "globalAliases": [bucket.alias],
            "websiteAccess": bucket.website,
            "websiteConfig": {"indexDocument": "index.html", "errorDocument": None}
            if bucket.website
            else None,
            "keys": [
                {
                    "accessKeyId": key.id,
                    "name": key.name,
                    "permissions": dict(key.perms[bucket.id]),
                    "bucketLocalAliases": [],
                }
                for key in self.keys.values()
                if bucket.id in key.perms
            ],
            "objects": len(objects),
            "bytes": sum(int(o["Size"]) for o in objects),
            "unfinishedUploads": 0,
            "unfinishedMultipartUploads": 0,
            "unfinishedMultipartUploadParts": 0,
            "unfinishedMultipartUploadBytes": 0,
            "quotas": dict(bucket.quotas),
        }

    def _key_info(self, key: FakeKey, show_secret: bool) -> dict[str, Any]:
        return {
            "accessKeyId": key.id,
            "name": key.name,
            "created": key.created,
            "expiration": None,
            "expired": False,
            "permissions": {"createBucket": False},
            "secretAccessKey": key.secret if show_secret else None,
            "buckets": [
                {
                    "id": bid,
                    "globalAliases": [self.buckets[bid].alias],
                    "localAliases": [],
                    "permissions": dict(perms),
                }
                for bid, perms in key.perms.items()
                if bid in self.buckets
            ],
        }

    def _find_bucket(self, query: dict[str, str]) -> FakeBucket:
        if "id" in query:
            bucket = self.buckets.get(query["id"])
        elif "globalAlias" in query:
            bucket = self.bucket_named(query["globalAlias"])
        else:
            raise ApiError(400, "InvalidRequest", "Either id or globalAlias must be provided")
        if bucket is None:
            raise ApiError(404, "NoSuchBucket", "Bucket not found")
        return bucket

    def _find_key(self, key_id: str) -> FakeKey:
        key = self.keys.get(key_id)
        if key is None:
            raise ApiError(404, "NoSuchAccessKey", f"Access key not found: {key_id}")
        return key

    def op_GetClusterHealth(self, _q: dict[str, str], _b: Any) -> Any:
        return {
            "status": "healthy",
            "knownNodes": 1,
            "connectedNodes": 1,
            "storageNodes": 1,
            "storageNodesOk": 1,
            "partitions": 256,
            "partitionsQuorum": 256,
            "partitionsAllOk": 256,
        }

    def op_GetBucketInfo(self, query: dict[str, str], _b: Any) -> Any:
        return self._bucket_info(self._find_bucket(query))

    def op_CreateBucket(self, _q: dict[str, str], body: Any) -> Any:
        alias = body.get("globalAlias")
        if not alias:
            raise ApiError(400, "InvalidRequest", "FediPanel's fake only creates aliased buckets")
        if self.bucket_named(alias):
            raise ApiError(409, "BucketAlreadyExists", f"Bucket {alias} already exists")
        self.root.create_bucket(
            Bucket=alias, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        bucket = FakeBucket(secrets.token_hex(32), alias, _now())
        self.buckets[bucket.id] = bucket
        return self._bucket_info(bucket)

    def op_UpdateBucket(self, query: dict[str, str], body: Any) -> Any:
        bucket = self._find_bucket({"id": query["id"]})
        if body.get("quotas") is not None:
            bucket.quotas = {
                "maxSize": body["quotas"].get("maxSize"),
                "maxObjects": body["quotas"].get("maxObjects"),
            }
        website = body.get("websiteAccess")
        if website is not None:
            if website["enabled"] and not website.get("indexDocument"):
                raise ApiError(400, "InvalidRequest", "indexDocument is required")
            bucket.website = bool(website["enabled"])
        return self._bucket_info(bucket)

    def op_DeleteBucket(self, query: dict[str, str], _b: Any) -> Any:
        bucket = self._find_bucket({"id": query["id"]})
        if self.root.list_objects_v2(Bucket=bucket.alias).get("KeyCount", 0):
            raise ApiError(400, "BucketNotEmpty", "Bucket is not empty")
        self.root.delete_bucket(Bucket=bucket.alias)
        del self.buckets[bucket.id]
        for key in self.keys.values():
            key.perms.pop(bucket.id, None)
        return None

    def op_ListKeys(self, _q: dict[str, str], _b: Any) -> Any:
        return [
            {"id": k.id, "name": k.name, "created": k.created, "expiration": None, "expired": False}
            for k in self.keys.values()
        ]

    def op_GetKeyInfo(self, query: dict[str, str], _b: Any) -> Any:
        if "id" not in query:
            raise ApiError(400, "InvalidRequest", "FediPanel's fake needs id")
        show = query.get("showSecretKey", "false").lower() == "true"
        return self._key_info(self._find_key(query["id"]), show)

    def op_CreateKey(self, _q: dict[str, str], body: Any) -> Any:
        key = FakeKey(
            "GK" + secrets.token_hex(12),
            body.get("name") or "Unnamed key",
            secrets.token_hex(32),
            _now(),
        )
        self.keys[key.id] = key
        return self._key_info(key, show_secret=True)

    def op_DeleteKey(self, query: dict[str, str], _b: Any) -> Any:
        self._find_key(query["id"])
        del self.keys[query["id"]]
        return None

    def _change(self, body: Any, value: bool) -> Any:
        bucket = self._find_bucket({"id": body["bucketId"]})
        key = self._find_key(body["accessKeyId"])
        perms = key.perms.setdefault(bucket.id, {"read": False, "write": False, "owner": False})
        for flag, on in body["permissions"].items():
            if on:  # only flags set to true change (the endpoint's documented semantics)
                perms[flag] = value
        if not any(perms.values()):
            del key.perms[bucket.id]
        return self._bucket_info(bucket)

    def op_AllowBucketKey(self, _q: dict[str, str], body: Any) -> Any:
        return self._change(body, True)

    def op_DenyBucketKey(self, _q: dict[str, str], body: Any) -> Any:
        return self._change(body, False)

    # -- S3 authorisation -------------------------------------------------------------------

    def authorise(self, method: str, url: str, headers: dict[str, str], body: bytes) -> None:
        """Raise ApiError (S3 flavour) unless the signed request is allowed."""
        header = headers.get("authorization", "")
        if not header.startswith("AWS4-HMAC-SHA256 "):
            raise ApiError(403, "AccessDenied", "Garage only accepts SigV4-signed requests")
        parts = dict(
            item.strip().split("=", 1)
            for item in header.removeprefix("AWS4-HMAC-SHA256 ").split(",")
        )
        key_id, _day, region, _service, _term = parts["Credential"].split("/")
        if region != REGION:
            raise ApiError(
                400,
                "AuthorizationHeaderMalformed",
                f"Authorization header malformed, unexpected scope: region {region}, "
                f"expected {REGION}",
            )
        with self.lock:
            key = self.keys.get(key_id)
        if key is None:
            raise ApiError(403, "InvalidAccessKeyId", f"No such key: {key_id}")
        signed = parts["SignedHeaders"].split(";")
        request = AWSRequest(
            method=method, url=url, headers={h: headers.get(h, "") for h in signed}, data=body
        )
        request.context["timestamp"] = headers.get("x-amz-date", "")
        signer = S3SigV4Auth(Credentials(key.id, key.secret), "s3", region)
        expected = signer.signature(
            signer.string_to_sign(request, signer.canonical_request(request)), request
        )
        if not secrets.compare_digest(expected, parts["Signature"]):
            raise ApiError(403, "SignatureDoesNotMatch", "Forbidden: Invalid signature")
        path = urllib.parse.urlsplit(url)
        bucket_name = urllib.parse.unquote(path.path).lstrip("/").split("/", 1)[0]
        if not bucket_name:
            return  # ListBuckets
        has_object = "/" in urllib.parse.unquote(path.path).lstrip("/").rstrip("/")
        query = urllib.parse.parse_qs(path.query, keep_blank_values=True)
        with self.lock:
            bucket = self.bucket_named(bucket_name)
            if bucket is None:
                raise ApiError(404, "NoSuchBucket", "The specified bucket does not exist")
            perms = key.perms.get(bucket.id, {})
        if not has_object and (
            {"cors", "website", "policy", "acl", "versioning"} & set(query)
            or method == "DELETE"
            or (method == "PUT" and not query)
        ):
            needed = "owner"
        elif method in ("GET", "HEAD"):
            needed = "read"
        else:
            needed = "write"
        if method == "POST" and "delete" in query:
            needed = "write"
        if not perms.get(needed):
            raise ApiError(403, "AccessDenied", f"Forbidden: key has no {needed} on {bucket_name}")


def _serve(handler: type[BaseHTTPRequestHandler], garage: FakeGarage) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.garage = garage  # type: ignore[attr-defined]
    # A short poll interval: shutdown() waits for the next poll, once per test.
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    return server


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def garage(self) -> FakeGarage:
        return self.server.garage  # type: ignore[attr-defined, no-any-return]

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: bytes, content_type: str, extra: Any = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


class _AdminHandler(_Quiet):
    def _handle(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        raw = self._body()
        faults = self.garage.faults
        fault = faults.draw(f"{self.command} {url.path}") if faults is not None else None
        if fault in fault_kinds.BEFORE:
            return fault_kinds.before(self, fault)
        status, payload = self._outcome(url, raw)
        if fault is not None and faults is not None:
            return fault_kinds.after(
                self, fault, faults.slow, lambda: self._send(status, payload, "application/json")
            )
        return self._send(status, payload, "application/json")

    def _outcome(self, url: urllib.parse.SplitResult, raw: bytes) -> tuple[int, bytes]:
        try:
            if self.headers.get("Authorization") != f"Bearer {self.garage.token}":
                raise ApiError(403, "Forbidden", "Forbidden: Invalid authorization token")
            operation, spec = self._operation(url.path)
            query = self._query(spec, url.query)
            body = self._request_body(spec, raw)
            result = self.garage.dispatch(operation, query, body)
            schema = spec["responses"].get("200", {}).get("schema")
            if schema is not None:
                check_schema(result, schema, f"{operation} response", strict=True)
        except ApiError as exc:
            error = {"code": exc.code, "message": exc.message, "region": REGION, "path": url.path}
            return exc.status, json.dumps(error).encode()
        return 200, b"" if result is None else json.dumps(result).encode()

    def _operation(self, path: str) -> tuple[str, dict[str, Any]]:
        for name, spec in SPEC.items():
            if spec["path"] == path:
                if spec["method"] != self.command:
                    raise ApiError(405, "MethodNotAllowed", f"{name} takes {spec['method']}")
                if not hasattr(self.garage, f"op_{name}"):
                    raise ApiError(501, "NotImplemented", f"the fake does not implement {name}")
                return name, spec
        raise ApiError(400, "InvalidRequest", f"unknown API endpoint {path}")

    def _query(self, spec: dict[str, Any], raw: str) -> dict[str, str]:
        pairs = urllib.parse.parse_qsl(raw, keep_blank_values=True)
        declared = {p["name"]: p for p in spec["query_params"]}
        query: dict[str, str] = {}
        for name, value in pairs:
            if name not in declared:
                raise ApiError(400, "InvalidRequest", f"unknown query parameter `{name}`")
            if declared[name]["schema"].get("type") == "boolean" and value not in (
                "true",
                "false",
            ):
                raise ApiError(400, "InvalidRequest", f"`{name}` must be true or false")
            query[name] = value
        for name, param in declared.items():
            if param["required"] and name not in query:
                raise ApiError(400, "InvalidRequest", f"missing query parameter `{name}`")
        return query

    def _request_body(self, spec: dict[str, Any], raw: bytes) -> Any:
        schema = spec["request_body"]
        if schema is None:
            if raw.strip():
                raise ApiError(400, "InvalidRequest", "this endpoint takes no body")
            return None
        try:
            body = json.loads(raw or b"null")
            check_schema(body, schema, "body", strict=True)
        except ValueError as exc:
            raise ApiError(400, "InvalidRequest", f"invalid body: {exc}") from None
        return body

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()


class _S3Handler(_Quiet):
    def _forward(self) -> None:
        body = self._body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        url = f"http://{headers.get('host', '')}{self.path}"
        try:
            self.garage.authorise(self.command, url, headers, body)
        except ApiError as exc:
            xml = (
                f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{exc.code}</Code>'
                f"<Message>{exc.message}</Message><Region>{REGION}</Region></Error>"
            ).encode()
            self._send(exc.status, xml, "application/xml")
            return
        target = urllib.parse.urlsplit(self.garage.moto_url)
        connection = http.client.HTTPConnection(target.hostname or "", target.port, timeout=30)
        try:
            forward = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            connection.request(self.command, self.path, body=body, headers=forward)
            answer = connection.getresponse()
            payload = answer.read()
        finally:
            connection.close()
        skip = {"content-length", "transfer-encoding", "connection", "server", "date"}
        extra = [(k, v) for k, v in answer.getheaders() if k.lower() not in skip]
        content_type = answer.getheader("Content-Type") or "application/xml"
        extra = [(k, v) for k, v in extra if k.lower() != "content-type"]
        self.send_response(answer.status)
        self.send_header("Content-Type", content_type)
        length = answer.getheader("Content-Length") if self.command == "HEAD" else None
        self.send_header("Content-Length", length or str(len(payload)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward


def free_moto() -> Iterator[str]:
    """Run moto's S3 server on a free loopback port; yield its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
