"""A panel with something on every page: the data the page tour and the screenshots look at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import select

from fedipanel.accounts import password_resets
from fedipanel.accounts import users as accounts
from fedipanel.accounts.models import ApiToken, User
from fedipanel.db import db
from fedipanel.deployments.deletions import start_deletion
from fedipanel.deployments.models import Deployment, LogLine
from fedipanel.machines import pool
from fedipanel.notifications import webhooks
from fedipanel.storage import records
from tests.helpers import PASSWORD, Api, sample_config, wait_for_jobs

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMbI2pLgY7cpVVS7Hzx6T4nGtOazV2F1bLGdYmgS6d5Q"
WINDOW = {"timezone": "Europe/Amsterdam", "slots": [{"day": "sun", "start": "02:00", "hours": 2}]}


@dataclass
class Site:
    """The ids of what `populate` created, for the URLs of the pages that show them."""

    operator: int = 0
    other_operator: int = 0
    finished: int = 0
    running: int = 0
    rollout: int = 0
    token: int = 0
    pool_vm: int = 0
    deletion: int = 0
    reset_token: str = ""


def _user(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    assert user is not None, email
    return user


def _api(app: Flask, email: str) -> Api:
    with app.app_context():
        token = accounts.create_token(_user(email), "Nightly backup check")
    return Api(app.test_client(), token)


def _running_deployment(operator_id: int, version: int) -> int:
    """Record a deployment half-way through, as a worker leaves it while it runs."""
    row = Deployment(
        operator_id=operator_id,
        requested_by_id=operator_id,
        status="running",
        phase="Creating the machines",
        progress=40,
        config_version=version,
        simulated=["machines", "nixops4"],
    )
    db.session.add(row)
    db.session.flush()
    for line in ("== Checking the quota", "quota: 2 of 10 VMs", "== Creating the machines"):
        db.session.add(LogLine(deployment_id=row.id, line=line))
    db.session.commit()
    return row.id


def populate(app: Flask, operator_email: str, provider_email: str) -> Site:
    """Deploy `operator_email`, roll out an update, fill the pool; return the ids to visit."""
    site = Site()
    operator = _api(app, operator_email)
    assert operator.put("/configuration", sample_config()).status_code == 200
    assert operator.put("/maintenance-window", WINDOW).status_code == 200
    deployed = operator.post("/deployments")
    assert deployed.status_code == 202, deployed.get_json()
    site.finished = deployed.get_json()["id"]
    wait_for_jobs(app)
    changed = sample_config(services={"mastodon": {"enable": True}, "pixelfed": {"enable": True}})
    saved = operator.put("/configuration", changed)
    assert saved.status_code == 200, saved.get_json()

    provider = _api(app, provider_email)
    deadline = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    created = provider.post(
        "/rollouts",
        {
            "title": "NixOS 25.11",
            "reason": "Security updates for every service",
            "deadline": deadline,
            "change": {"kind": "redeploy"},
        },
    )
    assert created.status_code == 201, created.get_json()
    site.rollout = created.get_json()["id"]
    wait_for_jobs(app)  # the notices

    with app.app_context():
        owner = _user(operator_email)
        site.operator = owner.id
        site.running = _running_deployment(owner.id, saved.get_json()["version"])
        site.token = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == owner.id))
        webhooks.set_webhook(owner.id, "https://hooks.acme.example/fedipanel")
        records.assign_bucket(
            owner.id,
            "mastodon",
            endpoint="https://s3.storage.example",
            region="garage",
            bucket="acme-mastodon-media-with-a-rather-long-name",
            access_key_id="GK31c2f218a2e44f485b94239e",
            secret=PASSWORD,
            public_url="https://media.acme.example",
        )
        site.pool_vm = pool.add("192.0.2.21", HOST_KEY).id
        pool.add("vm-22.pool.provider.example", HOST_KEY)
        site.reset_token, _reset = password_resets.issue(owner, _user(provider_email))
        leaving = accounts.create_user("bye@leaving.example", PASSWORD, "operator", "leaving")
        site.deletion = start_deletion(leaving, requested_by=_user(provider_email)).id
        site.other_operator = accounts.create_user(
            "team@bluebird.example", PASSWORD, "operator", "bluebird"
        ).id
    wait_for_jobs(app)
    return site
