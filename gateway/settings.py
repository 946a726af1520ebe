"""The one frozen configuration object, built from ``GATEWAY_*`` environment variables.

Owns: every setting's name, default, type and validation. Must not: read the environment anywhere
else, or be mutated after start-up (tests build ``Settings(...)`` directly).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gateway.ci_issuers import CiIssuer, CiIssuerError, parse_ci_issuers

DEFAULT_DATA_DIR = "mlgateway-data"
SECRET_KEY_FILE = "secret-key"
SQLITE_FILE = "mlgateway.sqlite3"
DEFAULT_METRICS_ALLOW = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class SettingsError(ValueError):
    """A ``GATEWAY_*`` variable holds a value the gateway cannot use."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Runtime configuration. Field docs double as the README's configuration table."""

    data_dir: Path = Path(DEFAULT_DATA_DIR)
    """Where the embedded default keeps its SQLite database, artifacts and secret key."""
    database_url: str = ""
    """SQLAlchemy URL; empty means SQLite in ``data_dir``. PostgreSQL: ``postgresql+psycopg://…``."""
    artifacts_uri: str = ""
    """``file:///…`` (or a plain path) or ``s3://bucket/prefix``; empty means ``data_dir/artifacts``."""
    artifacts_s3_endpoint: str = ""
    """S3 endpoint ``host:port`` (a ``http(s)://`` URL also sets TLS); empty means AWS S3."""
    artifacts_s3_access_key: str = ""
    artifacts_s3_secret_key: str = field(default="", repr=False)
    artifacts_s3_region: str = ""
    """Bucket region; empty means asked from the store once."""
    artifacts_s3_secure: bool = True
    """TLS to the S3 endpoint; ``false`` for a plain-HTTP MinIO."""
    artifacts_s3_multipart: bool = True
    """Offer MLflow multipart uploads (parts go straight to S3 by presigned URL: clients must reach the endpoint)."""
    artifact_directories: str = "reject"
    """``reject``: GitLab's caveat, artifact files only at a run's root; ``allow``: sub-directories work."""
    artifact_max_file_bytes: int = 5 * 1024**3
    """Largest single artifact file (GitLab: 5 GB)."""
    secret_key: str = ""
    """Keys the token digests; empty means generated once into ``data_dir/secret-key`` (0600)."""
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    worker_threads: int = 8
    """Threads per worker process for blocking work (searches, history, registry, pages, admin API)."""
    external_url: str = ""
    """Public base URL printed in hints (``https://mlflow.example.com``); empty means ``http://host:port``."""
    log_format: str = "json"
    """``json`` (one object per line) or ``text``."""
    log_level: str = "INFO"
    max_body_bytes: int = 16 * 1024 * 1024
    """Largest JSON request body accepted (artifact uploads have their own limit)."""
    bootstrap: bool = True
    """On an empty embedded database create ``root``, ``root/default`` and a token."""
    db_pool_size: int = 10
    """PostgreSQL connections kept open per process."""
    db_max_overflow: int = 20
    """Extra PostgreSQL connections a process may open under load (closed again when returned)."""
    db_pool_timeout_s: float = 10.0
    """How long a request waits for a pooled connection before failing."""
    db_pool_pre_ping: bool = True
    """Test a pooled connection before use, so a restarted database or a dropped idle connection is no error."""
    db_pool_ping_idle_s: float = 1.0
    """With the pre-ping on, only a connection idle in the pool this long is tested (a test is a round trip
    to the server on every request otherwise); 0: test at every use."""
    db_pool_recycle_s: int = 1800
    """Replace pooled connections older than this (under idle timeouts of proxies and PgBouncer); 0: never."""
    sqlite_busy_timeout_ms: int = 15_000
    token_last_used_interval_s: int = 600
    """``last_used_at`` is written at most once per this many seconds per token (GitLab: 10 min)."""
    web_session_ttl_s: int = 86_400
    """How long a web UI sign-in lasts before the person signs in again."""
    token_cache_ttl_s: float = 5.0
    """Tokens and project access looked up are remembered this long per process; a revocation or a
    membership change reaches other workers within it (0: off)."""
    ci_issuers: tuple[CiIssuer, ...] = ()
    """Trusted CI issuers whose OIDC ID tokens authenticate jobs: JSON, or a file path (``gateway.ci_issuers``)."""
    ci_server_url: str = ""
    """The CI server's base URL (``https://gitlab.example.com``); set, CI job token runs get ``gitlab.CI_JOB_URL``."""
    ci_jwks_timeout_s: float = 5.0
    """Timeout of one fetch of an issuer's keys (JWKS or discovery); a slow issuer fails closed (401)."""
    ci_jwks_refresh_cooldown_s: float = 10.0
    """Least time between two unscheduled key fetches of one issuer (unknown ``kid``, or after a failure)."""
    metrics_token: str = field(default="", repr=False)
    """Set: ``/-/metrics`` needs ``Authorization: Bearer <it>``. Empty: callers from ``metrics_allow`` only."""
    metrics_allow: str = DEFAULT_METRICS_ALLOW
    """Comma-separated networks allowed to scrape ``/-/metrics`` when no metrics token is set."""
    shutdown_drain_s: float = 0.0
    """On SIGTERM, answer ``/-/readiness`` with 503 (still serving) this long before closing the listener."""
    shutdown_timeout_s: float = 30.0
    """Then how long in-flight requests get to finish before they are cancelled."""

    # ------------------------------------------------------------------ derived values
    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / SQLITE_FILE).resolve()}"

    @property
    def is_embedded_sqlite(self) -> bool:
        """True when running on the zero-configuration SQLite default."""
        return not self.database_url

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def effective_artifacts_uri(self) -> str:
        if self.artifacts_uri:
            return self.artifacts_uri
        return (self.data_dir / "artifacts").resolve().as_uri()

    @property
    def base_url(self) -> str:
        if self.external_url:
            return self.external_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104 - a comparison
        return f"http://{host}:{self.port}"

    @property
    def metrics_networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.metrics_allow)

    def secret_key_bytes(self) -> bytes:
        if not self.secret_key:
            raise SettingsError("no secret key: call with_secret_key() before building the app")
        return self.secret_key.encode()

    def with_secret_key(self) -> Settings:
        """Return settings whose secret key is set, generating it into the data dir if needed."""
        if self.secret_key:
            return self
        return _replace(self, secret_key=load_or_create_secret_key(self.data_dir))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"GATEWAY_{f.name.upper()}")
            if raw is None:
                continue
            values[f.name] = _coerce(f.name, raw, f.type)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.log_format not in ("json", "text"):
            raise SettingsError("GATEWAY_LOG_FORMAT must be 'json' or 'text'")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise SettingsError("GATEWAY_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        if not 0 < self.port < 65536:
            raise SettingsError("GATEWAY_PORT must be between 1 and 65535")
        if self.workers < 1:
            raise SettingsError("GATEWAY_WORKERS must be at least 1")
        if not 1 <= self.worker_threads <= 256:
            raise SettingsError("GATEWAY_WORKER_THREADS must be between 1 and 256")
        if not 60 <= self.web_session_ttl_s <= 90 * 86_400:
            raise SettingsError("GATEWAY_WEB_SESSION_TTL_S must be between 60 and 7776000 (90 days)")
        if not 0 <= self.token_cache_ttl_s <= 60:
            raise SettingsError("GATEWAY_TOKEN_CACHE_TTL_S must be between 0 and 60")
        if self.max_body_bytes < 1024:
            raise SettingsError("GATEWAY_MAX_BODY_BYTES must be at least 1024")
        if self.artifact_directories not in ("reject", "allow"):
            raise SettingsError("GATEWAY_ARTIFACT_DIRECTORIES must be 'reject' or 'allow'")
        if self.artifact_max_file_bytes < 1:
            raise SettingsError("GATEWAY_ARTIFACT_MAX_FILE_BYTES must be at least 1")
        scheme = self.artifacts_uri.partition("://")[0] if "://" in self.artifacts_uri else ""
        if scheme not in ("", "file", "s3"):
            raise SettingsError("GATEWAY_ARTIFACTS_URI must be file:///path, a plain path or s3://bucket/prefix")
        if scheme == "s3" and not self.artifacts_uri[len("s3://") :].split("/", 1)[0]:
            raise SettingsError("GATEWAY_ARTIFACTS_URI=s3://… needs a bucket: s3://bucket/optional/prefix")
        self._validate_ci()
        self._validate_operations()
        url = self.effective_database_url
        if not (url.startswith("sqlite") or url.startswith("postgresql")):
            raise SettingsError("GATEWAY_DATABASE_URL must be a sqlite:// or postgresql+psycopg:// URL")

    def _validate_ci(self) -> None:
        if self.ci_server_url:
            parts = urlsplit(self.ci_server_url)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
                raise SettingsError("GATEWAY_CI_SERVER_URL must be a base URL such as https://gitlab.example.com")
        if not 0 < self.ci_jwks_timeout_s <= 60:
            raise SettingsError("GATEWAY_CI_JWKS_TIMEOUT_S must be more than 0 and at most 60")
        if not 0 <= self.ci_jwks_refresh_cooldown_s <= 3600:
            raise SettingsError("GATEWAY_CI_JWKS_REFRESH_COOLDOWN_S must be between 0 and 3600")

    def _validate_operations(self) -> None:
        if self.db_pool_size < 1 or self.db_max_overflow < 0:
            raise SettingsError("GATEWAY_DB_POOL_SIZE must be at least 1 and GATEWAY_DB_MAX_OVERFLOW at least 0")
        if not 0 <= self.db_pool_ping_idle_s <= 3600:
            raise SettingsError("GATEWAY_DB_POOL_PING_IDLE_S must be between 0 and 3600")
        if self.db_pool_timeout_s <= 0 or self.db_pool_recycle_s < 0:
            raise SettingsError("GATEWAY_DB_POOL_TIMEOUT_S must be positive and GATEWAY_DB_POOL_RECYCLE_S at least 0")
        if not 0 <= self.shutdown_drain_s <= 3600 or not 0 <= self.shutdown_timeout_s <= 3600:
            raise SettingsError("GATEWAY_SHUTDOWN_DRAIN_S and GATEWAY_SHUTDOWN_TIMEOUT_S must be between 0 and 3600")
        try:
            self.metrics_networks  # noqa: B018 - parsed for its error
        except ValueError as exc:
            raise SettingsError(f"GATEWAY_METRICS_ALLOW: {exc}") from None


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """Comma-separated CIDRs (``10.0.0.0/8,fc00::/7``; a bare address is a /32 or /128)."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if item:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"{item!r} is not an IP network such as 10.0.0.0/8 or fc00::/7") from None
    return tuple(networks)


def _coerce(name: str, raw: str, annotation: object) -> Any:
    kind = str(annotation)
    if name == "ci_issuers":
        try:
            return parse_ci_issuers(raw)
        except CiIssuerError as exc:
            raise SettingsError(f"GATEWAY_CI_ISSUERS: {exc}") from None
    try:
        if kind == "bool":
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "Path":
            return Path(raw)
    except ValueError:
        raise SettingsError(f"GATEWAY_{name.upper()}={raw!r} is not a valid {kind}") from None
    return raw


def _replace(settings: Settings, **changes: Any) -> Settings:
    values = {f.name: getattr(settings, f.name) for f in fields(settings)}
    values.update(changes)
    return Settings(**values)


def load_or_create_secret_key(data_dir: Path) -> str:
    """Read ``data_dir/secret-key``, creating it (mode 0600) with 256 random bits if absent."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SECRET_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if len(key) < 32:
            raise SettingsError(f"{path} is shorter than 32 characters; delete it to regenerate") from None
        return key
    key = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
