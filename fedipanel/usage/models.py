"""Usage samples: time-stamped levels of one metric of one operator."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from fedipanel.db import db


class UsageSample(db.Model):  # type: ignore[name-defined]
    """From `at` on, the operator's level of `metric` is `value`, until its next sample.

    The operator id is a plain number, not a foreign key: the accounting record outlives the
    account it describes.
    """

    __tablename__ = "usage_samples"
    __table_args__ = (
        Index("ix_usage_samples_operator_id_metric_at", "operator_id", "metric", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int]
    metric: Mapped[str] = mapped_column(String(16))
    value: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime]
