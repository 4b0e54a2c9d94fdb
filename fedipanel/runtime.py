"""The application both sides run in: settings, database and job queue, without web pages.

Workers (`jobs/`) create this one; the web app (`fedipanel.create_app`) adds its pages on top.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from fedipanel.accounting.models import OperatorRecord
from fedipanel.accounting.records import purge_expired
from fedipanel.accounts.models import ApiToken, LoginFailure, PasswordReset, User
from fedipanel.audit.models import AuditEntry
from fedipanel.configurations.models import ConfigurationVersion
from fedipanel.data_versions import DataVersion
from fedipanel.db import db, init_db
from fedipanel.deployments.models import Deployment, LogLine
from fedipanel.deployments.reaper import reap_stale_deployments
from fedipanel.identity import sync as directory_sync
from fedipanel.identity.models import DirectorySettings, DirectorySync, SyncedAccount
from fedipanel.jobqueue import EmbeddedQueue, get_queue, init_queue
from fedipanel.keys.models import DeployKey, DkimKey
from fedipanel.machines.models import AddressLease, PooledVm, Quota
from fedipanel.maintenance.models import MaintenanceWindow
from fedipanel.notifications.models import Notice, Webhook
from fedipanel.parameters.models import OperatorParameters
from fedipanel.provider_settings.models import ProviderSetting, SectionTest
from fedipanel.resources.models import RecordedResource
from fedipanel.rollouts import wakeups
from fedipanel.rollouts.models import Rollout, RolloutTarget
from fedipanel.services.models import AdminPassword, ServiceCheck
from fedipanel.settings.loading import load_into
from fedipanel.storage.models import AssignedBucket, StorageKey, StorageOutcome
from fedipanel.usage import sampling
from fedipanel.usage.models import UsageSample

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DAY = 24 * 3600.0
# Every table the panel owns, named so that every app knows them all (create_all, migrations).
MODELS = (
    User,
    ApiToken,
    LoginFailure,
    PasswordReset,
    DeployKey,
    DkimKey,
    ConfigurationVersion,
    Deployment,
    LogLine,
    RecordedResource,
    Quota,
    PooledVm,
    AddressLease,
    StorageKey,
    AssignedBucket,
    StorageOutcome,
    ProviderSetting,
    SectionTest,
    AuditEntry,
    OperatorRecord,
    UsageSample,
    MaintenanceWindow,
    OperatorParameters,
    Rollout,
    RolloutTarget,
    AdminPassword,
    ServiceCheck,
    DirectorySettings,
    DirectorySync,
    SyncedAccount,
    Notice,
    Webhook,
    DataVersion,
)


def create_base_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create an app with its settings loaded, its database bound and its job queue chosen."""
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(
        "FEDIPANEL_INSTANCE_PATH", str(PROJECT_ROOT / "instance")
    )
    app = Flask(
        "fedipanel",
        instance_path=str(instance_path),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    load_into(app, test_config)
    init_db(app)
    init_queue(app)
    with app.app_context():
        job_queue = get_queue()
    if isinstance(job_queue, EmbeddedQueue):
        # The web process is its own worker: it also notices deployments whose job was lost,
        # and queues the S3 usage sample when it is due.
        job_queue.every(max(1.0, float(app.config["REAP_INTERVAL"])), reap_stale_deployments)
        job_queue.every(DAY, purge_expired)
        job_queue.every(
            sampling.check_every(float(app.config["USAGE_SAMPLE_INTERVAL"])),
            sampling.enqueue_when_due,
        )
        job_queue.every(max(1.0, float(app.config["ROLLOUT_TICK"])), wakeups.enqueue_when_due)
        with app.app_context():
            _wake_rollouts()
        job_queue.every(
            directory_sync.check_every(float(app.config["LDAP_SYNC_INTERVAL"])),
            directory_sync.enqueue_when_due,
        )
    return app


def _wake_rollouts() -> None:
    """Put the scheduled rollout updates back on this process's queue."""
    try:
        wakeups.wake_for_waiting()
    except SQLAlchemyError:  # no tables yet: `init` has not run
        db.session.rollback()
