"""Configuration from environment variables (documented in the README, with defaults)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from forms.registers import REGISTERS
from service.repository.retention import DEFAULT_PERMANENT, parse_retention
from storage.db import default_url


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _existing(path: str) -> str | None:
    return path if os.path.exists(path) else None


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: str
    max_request_bytes: int
    auto_migrate: bool
    load_catalogue: bool
    log_level: str
    #: registers read from an external JSON service instead of the database: register -> URL
    source_urls: dict[str, str]
    source_connect_timeout: float
    source_read_timeout: float
    source_retries: int
    source_max_bytes: int
    source_breaker_failures: int
    source_breaker_reset: float
    prefill_deadline: float
    max_upload_bytes: int
    digitised_max_pages: int
    office_hours: str
    #: agency code -> office hours, for agencies whose hours differ from the default
    agency_office_hours: dict[str, str]
    days_off: str
    make_up_days: str
    default_processing_days: int
    #: the agencies' signing keys (YAML, docs/signing.md); None: results cannot be issued
    signing_config: str | None
    verify_max_bytes: int
    verify_max_pages: int
    #: the document store: ``local`` (a folder under the data directory) or ``s3``
    store: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    s3_bucket: str
    s3_secure: bool
    s3_region: str
    s3_timeout: float
    s3_public_endpoint: str | None
    #: production mode: refuse to start on a store that cannot keep documents legally
    production: bool
    #: document class -> retention (``permanent`` or an ISO 8601 period such as ``P10Y``); its
    #: entry ``@permanent`` is TOKHAI_PERMANENT_RETENTION, the COMPLIANCE retention that
    #: permanent documents get besides their legal hold (service/repository/retention.py)
    retention: dict[str, str]
    presign_seconds: int
    #: signs short-lived download links; from TOKHAI_SECRET_KEY, or a file in the data
    #: directory made on first use (every worker of one installation reads the same file)
    secret_key: str | None
    #: how deep the arrays and objects of a JSON body may nest (checked before parsing)
    max_json_depth: int

    #: where rate-limit counters live: ``memory://`` (one process) or a Redis URL (shared by
    #: every worker; production)
    rate_limit_storage: str
    #: prefix of this installation's counters in a shared store
    rate_limit_prefix: str
    #: checks of typed people a caller may make (``limits`` notation: ``20/hour;50/day``)
    person_checks_per_caller: str
    #: checks of one typed person, whoever asks
    person_checks_per_person: str
    #: reverse proxies in front of the service whose X-Forwarded-For/-Proto are believed (for
    #: the client's address and for HSTS); 0: forwarded headers are ignored
    trusted_proxies: int
    #: limits on the PDFs parsed for verification and digitisation (service/pki/pdflimits.py):
    #: decoded bytes per stream and per document, objects, signature fields, and the CPU
    #: seconds and memory (bytes) of the child process that parses one PDF
    pdf_max_stream_bytes: int
    pdf_max_inflated_bytes: int
    pdf_max_objects: int
    verify_max_signatures: int
    pdf_cpu_seconds: float
    pdf_memory_bytes: int

    # -- the pages (docs/pages.md) --
    #: the OpenID Connect provider citizens (and staff) sign in with: its issuer URL (its
    #: ``/.well-known/openid-configuration`` is read), this service's client id and secret
    oidc_issuer: str | None
    oidc_client_id: str
    oidc_client_secret: str
    #: the ID-token or userinfo claim holding the citizen's personal ID number
    oidc_personal_id_claim: str
    oidc_scopes: str
    #: staff roles from the provider's claims (docs/pages.md, "Staff"): the claim carrying
    #: ``officer``, ``designer`` or ``auditor``, and the one carrying an officer's agency code;
    #: empty (the default): such claims are not trusted, only ``tokhai staff`` mappings are
    oidc_role_claim: str
    oidc_agency_claim: str
    #: the development sign-in page (the demo people, no password); refused in production
    dev_signin: bool
    #: session cookies carry ``Secure`` unless this is set (plain http in development only;
    #: refused in production)
    insecure_cookies: bool
    #: a browser session ends after this many idle minutes, and at the latest after this many
    #: hours
    session_idle_minutes: int
    session_hours: int
    #: receipt lookups from one address on the receipt page (``limits`` notation)
    receipt_lookups: str
    #: outgoing e-mail: SMTP server (``host:port``; none: notifications are written to
    #: ``mail_dir`` when set, else kept unsent), its sender, user and password, STARTTLS
    smtp_server: str | None
    smtp_sender: str
    smtp_user: str | None
    smtp_password: str | None
    smtp_starttls: bool
    #: development: notifications written as .eml files to this folder instead of sent
    mail_dir: str | None
    #: the address people reach the pages at (links in e-mails)
    public_url: str

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        data_dir = os.environ.get("TOKHAI_DATA_DIR", os.path.abspath("var"))
        values: dict[str, Any] = {  # one value per field, each of its field's type
            "database_url": os.environ.get("DATABASE_URL") or default_url(data_dir),
            "data_dir": data_dir,
            "max_request_bytes": int(os.environ.get("TOKHAI_MAX_REQUEST_BYTES", 1024 * 1024)),
            "auto_migrate": _flag("TOKHAI_AUTO_MIGRATE", False),
            "load_catalogue": _flag("TOKHAI_LOAD_CATALOGUE", False),
            "log_level": os.environ.get("TOKHAI_LOG_LEVEL", "INFO").upper(),
            "source_urls": {
                name: os.environ[f"TOKHAI_SOURCE_{name.upper()}_URL"]
                for name in REGISTERS if os.environ.get(f"TOKHAI_SOURCE_{name.upper()}_URL")
            },
            "source_connect_timeout": float(os.environ.get("TOKHAI_SOURCE_CONNECT_TIMEOUT", 0.5)),
            "source_read_timeout": float(os.environ.get("TOKHAI_SOURCE_READ_TIMEOUT", 1.5)),
            "source_retries": int(os.environ.get("TOKHAI_SOURCE_RETRIES", 1)),
            "source_max_bytes": int(os.environ.get("TOKHAI_SOURCE_MAX_BYTES", 256 * 1024)),
            "source_breaker_failures": int(os.environ.get("TOKHAI_SOURCE_BREAKER_FAILURES", 5)),
            "source_breaker_reset": float(os.environ.get("TOKHAI_SOURCE_BREAKER_RESET", 30)),
            "prefill_deadline": float(os.environ.get("TOKHAI_PREFILL_DEADLINE", 3.0)),
            "max_upload_bytes": int(os.environ.get("TOKHAI_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)),
            "digitised_max_pages": int(os.environ.get("TOKHAI_DIGITISED_MAX_PAGES", 10)),
            "office_hours": os.environ.get("TOKHAI_OFFICE_HOURS", "07:30-11:30,13:30-17:30"),
            "agency_office_hours": dict(
                item.strip().split("=", 1)
                for item in os.environ.get("TOKHAI_AGENCY_OFFICE_HOURS", "").split(";")
                if "=" in item),
            "days_off": os.environ.get("TOKHAI_DAYS_OFF", ""),
            "make_up_days": os.environ.get("TOKHAI_MAKEUP_DAYS", ""),
            "default_processing_days": int(os.environ.get("TOKHAI_DEFAULT_PROCESSING_DAYS", 5)),
            "signing_config": os.environ.get("TOKHAI_SIGNING_CONFIG") or _existing(
                os.path.join(data_dir, "dev-pki", "signing.yaml")),
            "verify_max_bytes": int(os.environ.get("TOKHAI_VERIFY_MAX_BYTES", 20 * 1024 * 1024)),
            "verify_max_pages": int(os.environ.get("TOKHAI_VERIFY_MAX_PAGES", 500)),
            "store": os.environ.get("TOKHAI_STORE", "local").strip().lower(),
            "s3_endpoint": os.environ.get("TOKHAI_S3_ENDPOINT", ""),
            "s3_access_key": os.environ.get("TOKHAI_S3_ACCESS_KEY", ""),
            "s3_secret_key": os.environ.get("TOKHAI_S3_SECRET_KEY", ""),
            "s3_bucket": os.environ.get("TOKHAI_S3_BUCKET", "tokhai-documents"),
            "s3_secure": _flag("TOKHAI_S3_SECURE", True),
            "s3_region": os.environ.get("TOKHAI_S3_REGION", "us-east-1"),
            "s3_timeout": float(os.environ.get("TOKHAI_S3_TIMEOUT", 5)),
            "s3_public_endpoint": os.environ.get("TOKHAI_S3_PUBLIC_ENDPOINT") or None,
            "production": _flag("TOKHAI_PRODUCTION", False),
            "retention": parse_retention(os.environ.get("TOKHAI_RETENTION", ""),
                                         os.environ.get("TOKHAI_PERMANENT_RETENTION",
                                                        DEFAULT_PERMANENT)),
            "presign_seconds": int(os.environ.get("TOKHAI_PRESIGN_SECONDS", 300)),
            "secret_key": os.environ.get("TOKHAI_SECRET_KEY") or None,
            "max_json_depth": int(os.environ.get("TOKHAI_MAX_JSON_DEPTH", 32)),
            "rate_limit_storage": os.environ.get("TOKHAI_RATE_LIMIT_STORAGE", "memory://"),
            "rate_limit_prefix": os.environ.get("TOKHAI_RATE_LIMIT_PREFIX", "tokhai"),
            "person_checks_per_caller": os.environ.get("TOKHAI_PERSON_CHECKS_PER_CALLER",
                                                       "20/hour;50/day"),
            "person_checks_per_person": os.environ.get("TOKHAI_PERSON_CHECKS_PER_PERSON",
                                                       "5/hour;10/day"),
            "trusted_proxies": int(os.environ.get("TOKHAI_TRUSTED_PROXIES", 0)),
            "pdf_max_stream_bytes": int(os.environ.get("TOKHAI_PDF_MAX_STREAM_BYTES",
                                                       32 * 1024 * 1024)),
            "pdf_max_inflated_bytes": int(os.environ.get("TOKHAI_PDF_MAX_INFLATED_BYTES",
                                                         128 * 1024 * 1024)),
            "pdf_max_objects": int(os.environ.get("TOKHAI_PDF_MAX_OBJECTS", 100_000)),
            "verify_max_signatures": int(os.environ.get("TOKHAI_VERIFY_MAX_SIGNATURES", 20)),
            "pdf_cpu_seconds": float(os.environ.get("TOKHAI_PDF_CPU_SECONDS", 3)),
            "pdf_memory_bytes": int(os.environ.get("TOKHAI_PDF_MEMORY_BYTES", 512 * 1024 * 1024)),
            "oidc_issuer": os.environ.get("TOKHAI_OIDC_ISSUER") or None,
            "oidc_client_id": os.environ.get("TOKHAI_OIDC_CLIENT_ID", ""),
            "oidc_client_secret": os.environ.get("TOKHAI_OIDC_CLIENT_SECRET", ""),
            "oidc_personal_id_claim": os.environ.get("TOKHAI_OIDC_PERSONAL_ID_CLAIM",
                                                     "personal_id"),
            "oidc_scopes": os.environ.get("TOKHAI_OIDC_SCOPES", "openid profile email"),
            "oidc_role_claim": os.environ.get("TOKHAI_OIDC_ROLE_CLAIM", "").strip(),
            "oidc_agency_claim": os.environ.get("TOKHAI_OIDC_AGENCY_CLAIM", "").strip(),
            "dev_signin": _flag("TOKHAI_DEV_SIGNIN", False),
            "insecure_cookies": _flag("TOKHAI_INSECURE_COOKIES", False),
            "session_idle_minutes": int(os.environ.get("TOKHAI_SESSION_IDLE_MINUTES", 30)),
            "session_hours": int(os.environ.get("TOKHAI_SESSION_HOURS", 8)),
            "receipt_lookups": os.environ.get("TOKHAI_RECEIPT_LOOKUPS", "10/minute;50/hour"),
            "smtp_server": os.environ.get("TOKHAI_SMTP_SERVER") or None,
            "smtp_sender": os.environ.get("TOKHAI_SMTP_SENDER", "tokhai@localhost"),
            "smtp_user": os.environ.get("TOKHAI_SMTP_USER") or None,
            "smtp_password": os.environ.get("TOKHAI_SMTP_PASSWORD") or None,
            "smtp_starttls": _flag("TOKHAI_SMTP_STARTTLS", False),
            "mail_dir": os.environ.get("TOKHAI_MAIL_DIR") or None,
            "public_url": os.environ.get("TOKHAI_PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/"),
        }
        values.update(overrides)
        return cls(**values)
