"""Domain errors and the one place that turns them into HTTP answers.

Services raise these; no handler catches them. The exception handlers at the bottom render every
``GatewayError`` in the dialect of the route that failed:

- MLflow routes: ``{"error_code": "...", "message": "..."}`` (what the MLflow client parses);
- GitLab admin routes (``/api/v4/...`` outside ``ml/mlflow``): ``{"message": "..."}`` (python-gitlab).

The tree (status, MLflow ``error_code``)::

    GatewayError                      500 INTERNAL_ERROR
    ├── InvalidParameter              400 INVALID_PARAMETER_VALUE
    │   └── ArtifactDirectoriesNotSupported (the documented artifact_path caveat)
    ├── AlreadyExists                 400 RESOURCE_ALREADY_EXISTS  (GitLab admin: 409)
    ├── Unauthenticated               401 UNAUTHENTICATED     (+ ``reason``, an ``AuthFailure``, for metrics)
    ├── PermissionDenied              403 PERMISSION_DENIED   (+ ``reason``)
    ├── NotFound                      404 RESOURCE_DOES_NOT_EXIST
    │   └── EndpointNotFound          404 ENDPOINT_NOT_FOUND
    ├── MethodNotAllowed              405 ENDPOINT_NOT_FOUND
    ├── PayloadTooLarge               413 INVALID_PARAMETER_VALUE
    ├── RateLimited                   429 REQUEST_LIMIT_EXCEEDED (+ Retry-After)
    └── NotImplementedByStore         501 NOT_IMPLEMENTED
"""

from __future__ import annotations

from typing import ClassVar, Literal

AuthFailure = Literal[
    "missing_credentials",
    "malformed_credentials",
    "invalid_token",
    "expired_token",
    "revoked_token",
    "inactive_user",
    "wrong_password",
    "invalid_ci_token",
    "forbidden",
    "insufficient_scope",
]
"""Why a request was refused (the ``reason`` label of ``mlgateway_auth_failures_total``; never shown to callers)."""


class GatewayError(Exception):
    status: ClassVar[int] = 500
    error_code: ClassVar[str] = "INTERNAL_ERROR"
    gitlab_status: ClassVar[int | None] = None
    """Status on GitLab admin routes when it differs from ``status``."""

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class InvalidParameter(GatewayError):
    status = 400
    error_code = "INVALID_PARAMETER_VALUE"


class ArtifactDirectoriesNotSupported(InvalidParameter):
    pass


class AlreadyExists(GatewayError):
    status = 400
    error_code = "RESOURCE_ALREADY_EXISTS"
    gitlab_status = 409


class Unauthenticated(GatewayError):
    status = 401
    error_code = "UNAUTHENTICATED"

    def __init__(self, message: str, *, reason: AuthFailure = "invalid_token") -> None:
        super().__init__(message)
        self.reason: AuthFailure = reason


class PermissionDenied(GatewayError):
    status = 403
    error_code = "PERMISSION_DENIED"

    def __init__(self, message: str, *, reason: AuthFailure = "forbidden") -> None:
        super().__init__(message)
        self.reason: AuthFailure = reason


class NotFound(GatewayError):
    status = 404
    error_code = "RESOURCE_DOES_NOT_EXIST"


class EndpointNotFound(NotFound):
    error_code = "ENDPOINT_NOT_FOUND"


class MethodNotAllowed(GatewayError):
    status = 405
    error_code = "ENDPOINT_NOT_FOUND"


class PayloadTooLarge(GatewayError):
    status = 413
    error_code = "INVALID_PARAMETER_VALUE"


class RateLimited(GatewayError):
    status = 429
    error_code = "REQUEST_LIMIT_EXCEEDED"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after_s)})


class NotImplementedByStore(GatewayError):
    status = 501
    error_code = "NOT_IMPLEMENTED"
