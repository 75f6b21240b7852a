"""Rendered PDF reports, kept in the database so that every host serves what any host (or
worker) rendered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Integer, LargeBinary, Text
from sqlmodel import Field, SQLModel


class StoredReport(SQLModel, table=True):
    """One report, named by `key` (the SHA-256 of its data fingerprint and parameters, see
    `survey_app.reporting.report_store.report_key`): `pending` while a worker renders it,
    `ready` with its PDF, or `failed` with the reason."""

    __tablename__ = "stored_report"

    key: str = Field(primary_key=True, max_length=64)
    status: str = Field(max_length=10)
    #: Who asked for it: renders each user has pending are limited.
    user_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True, index=True))
    started_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    size: int = 0
    pdf: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
