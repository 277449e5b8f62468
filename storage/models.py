"""SQLAlchemy models. The schema is changed only by Alembic migrations in
``storage/migrations``; these classes describe it for the code."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Form(Base):
    __tablename__ = "forms"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    versions: Mapped[list[FormVersion]] = relationship(
        back_populates="form", order_by="FormVersion.version")


class FormVersion(Base):
    """One version of a form. A draft may be edited; once published it never changes, since
    submissions reference the exact version they were filled against."""

    __tablename__ = "form_versions"
    __table_args__ = (UniqueConstraint("form_id", "version", name="uq_form_versions_form_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    form_id: Mapped[str] = mapped_column(ForeignKey("forms.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | published
    title: Mapped[str] = mapped_column(String(500))
    #: the definition as the designer wrote it (YAML or JSON text) and its format
    source: Mapped[str] = mapped_column(Text)
    source_format: Mapped[str] = mapped_column(String(8))
    #: the definition as plain data, and the sha256 of its canonical JSON
    definition: Mapped[dict] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[str | None] = mapped_column(String(120))

    form: Mapped[Form] = relationship(back_populates="versions")


class ApiToken(Base):
    """A bearer token. Only the sha256 of the token is stored: a leaked table grants nothing."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # designer | officer | citizen | auditor
    label: Mapped[str] = mapped_column(String(200))
    agency_code: Mapped[str | None] = mapped_column(String(40))
    personal_id: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Record(Base):
    """A digitised record held by one register about one subject (a personal ID number or a tax
    code), in the register's vocabulary (``forms/registers.py``). The embedded record source
    keeps registers here; an external register is read over HTTP instead."""

    __tablename__ = "records"
    __table_args__ = (UniqueConstraint("register", "subject", name="uq_records_register_subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    register: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(13), index=True)
    data: Mapped[dict] = mapped_column(JSON)
    #: where the record came from: "import:<file>", "demo", "digitised:<id>", "result:<doc id>"
    provenance: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PersonLink(Base):
    """A family or household link from the population register, kept as rows so that a
    person's children and household members are found by index, not by scanning records."""

    __tablename__ = "person_links"

    subject: Mapped[str] = mapped_column(String(12), primary_key=True)
    relation: Mapped[str] = mapped_column(String(24), primary_key=True)
    other: Mapped[str] = mapped_column(String(12), primary_key=True, index=True)


class DigitisedDocument(Base):
    """Values read from a born-digital PDF of an earlier paper document. They become a record
    only when an officer confirms them."""

    __tablename__ = "digitised_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    register: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str | None] = mapped_column(String(13))
    sha256: Mapped[str] = mapped_column(String(64))
    values: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | confirmed
    uploaded_by: Mapped[str] = mapped_column(String(120))
    confirmed_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
