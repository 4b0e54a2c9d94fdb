"""Fixtures: moto's S3 server over real HTTP, and the fake Garage in front of it."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.garage_admin import FakeGarage, free_moto


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    yield from free_moto()


@pytest.fixture
def garage(moto_url: str) -> Iterator[FakeGarage]:
    request = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")  # noqa: S310
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - loopback moto
    fake = FakeGarage(moto_url)
    try:
        yield fake
    finally:
        fake.close()


def garage_settings(fake: FakeGarage, **overrides: Any) -> dict[str, Any]:
    """Return FEDIPANEL_* settings (without the prefix) that point the panel at the fake."""
    return {
        "S3_ENDPOINT": fake.s3_url,
        "S3_PUBLIC_URL": "https://{bucket}.web.provider.example",
        "GARAGE_ADMIN_URL": fake.admin_url,
        "GARAGE_ADMIN_TOKEN": fake.token,
        **overrides,
    }
