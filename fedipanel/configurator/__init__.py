"""The configurator: pure functions from an operator's configuration to desired resources."""

from .document import FORMAT, Host, deployment_document
from .nixos import canonical_json, options_hash
from .paths import KEYS_DIR, SECRETS_DIR
from .resources import (
    DEFAULT_SIZES,
    KINDS,
    AssignedS3,
    MachineSize,
    OperatorFacts,
    ProviderSettings,
    Resource,
    S3Settings,
    SmtpSettings,
)
from .state import DesiredState, Machine, desired_state
from .storage import Bucket, bucket_name, buckets_for, is_valid_bucket_name

__all__ = [
    "DEFAULT_SIZES",
    "FORMAT",
    "KEYS_DIR",
    "KINDS",
    "SECRETS_DIR",
    "AssignedS3",
    "Bucket",
    "DesiredState",
    "Host",
    "Machine",
    "MachineSize",
    "OperatorFacts",
    "ProviderSettings",
    "Resource",
    "S3Settings",
    "SmtpSettings",
    "bucket_name",
    "buckets_for",
    "canonical_json",
    "deployment_document",
    "desired_state",
    "is_valid_bucket_name",
    "options_hash",
]
