"""Error bodies as Google's token endpoint, Gmail and Calendar send them.

Wording comes from ../shared/data/gmail-api (OBSERVED-ERRORS.md and the
google-api-python-client test data) and from error texts quoted in public
issue threads; a message not found in either is marked where it is defined.
"""

from __future__ import annotations

from typing import Any

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
# reason -> (domain, message)
_REASONS = {
    "badRequest": ("global", "Bad Request"),
    "authError": ("global", "Invalid Credentials"),
    "insufficientPermissions": ("global", "Insufficient Permission"),
    "forbidden": ("global", "Forbidden"),
    "rateLimitExceeded": ("usageLimits", "Too many concurrent requests for user."),
    "userRateLimitExceeded": ("usageLimits", "User Rate Limit Exceeded"),
    "notFound": ("global", "Requested entity was not found."),
    "backendError": ("global", "Backend Error"),
    "fullSyncRequired": (
        "calendar",
        "Sync token is no longer valid, a full sync is required.",
    ),
}
_DEFAULT_REASONS = {
    400: "badRequest",
    401: "authError",
    403: "rateLimitExceeded",
    404: "notFound",
    410: "fullSyncRequired",
    429: "rateLimitExceeded",
}
QUOTA_EXCEEDED = (
    "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per "
    "user' of service 'gmail.googleapis.com' for consumer 'project_number:0'."
)
UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access "
    "token, login cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
INVALID_TOKEN_HEADERS = {
    "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", '
    'error="invalid_token"'
}
UNAUTHORIZED_CLIENT = (
    "Client is unauthorized to retrieve access tokens using this method, or "
    "client not authorized for any of the scopes requested."
)
BAD_JWT_TIME = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
    "reasonable timeframe. Check your iat and exp values in the JWT claim."
)
METADATA_NO_Q = "Metadata scope does not support 'q' parameter"


def error_body(
    status: int, reason: str | None = None, message: str | None = None, **extra: str
) -> dict[str, Any]:
    """Build a Google API error body; `extra` adds location and locationType."""
    reason = reason or _DEFAULT_REASONS.get(status, "backendError")
    domain, default_message = _REASONS.get(reason, ("global", reason))
    if status == 403 and reason == "rateLimitExceeded":
        default_message = QUOTA_EXCEEDED
    message = message or default_message
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "errors": [{"message": message, "domain": domain, "reason": reason, **extra}],
    }
    if status in _STATUS_NAMES:
        error["status"] = _STATUS_NAMES[status]
    return {"error": error}


class HttpFailure(Exception):
    """Raised inside the fake to answer with an error instead of a result."""

    def __init__(
        self, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def api_error(
    status: int, reason: str | None = None, message: str | None = None, **extra: str
) -> HttpFailure:
    return HttpFailure(status, error_body(status, reason, message, **extra))


def oauth_error(status: int, error: str, description: str) -> HttpFailure:
    """An RFC 6749 token endpoint error, the shape google-auth parses."""
    return HttpFailure(status, {"error": error, "error_description": description})
