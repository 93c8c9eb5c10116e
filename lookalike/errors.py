"""One error tree for the whole project.

Every failure a user can meet is a :class:`LookalikeError`. Each boundary maps it once:
the CLI prints ``error: <message>`` and exits with code 2; the HTTP API answers
``{"error": <message>, "status": <code>}`` with :attr:`LookalikeError.http_status`.
Lower layers raise the most specific subclass and chain the cause (``raise ... from err``).
"""

from __future__ import annotations


class LookalikeError(Exception):
    """Base of every error Lookalike raises on purpose."""

    http_status = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def headers(self) -> dict[str, str]:
        """HTTP headers that belong with this error's answer (none by default)."""
        return {}

    @property
    def public_message(self) -> str:
        """What an HTTP client is told; the full message is for the CLI and the log."""
        return self.message


class ConfigError(LookalikeError):
    """A setting or the environment is wrong (Java missing, runtime not built, bad value)."""


class BadRequest(LookalikeError):
    """The caller's input is wrong; the message says what to fix."""

    http_status = 400


class Unauthorized(LookalikeError):
    """The request needs a credential it did not bring, or brought one that is not known."""

    http_status = 401

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="lookalike merchandising"'}


class Forbidden(LookalikeError):
    """The caller may not do this here (the server does not allow it to anyone, or not to them)."""

    http_status = 403


class NotFound(LookalikeError):
    """A product, collection or alias does not exist."""

    http_status = 404


class PayloadTooLarge(BadRequest):
    """An upload is over the byte or pixel limit."""

    http_status = 413


class Busy(LookalikeError):
    """A bounded resource is full (concurrent image decodes); retry after ``retry_after_s``."""

    http_status = 503

    def __init__(self, message: str, retry_after_s: int = 1):
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class SolrUnavailable(LookalikeError):
    """Solr cannot be reached (connection refused, timeout)."""

    http_status = 503


class SolrRequestError(LookalikeError):
    """Solr answered with an error; ``solr_status`` and Solr's own message are kept.

    Solr's 4xx is never a 502: 404 stays 404, 409 stays 409, 401/403 (Solr refused this
    server's own credential: a configuration fault) is 503, any other 4xx (a request too long,
    a query Solr cannot parse) is the caller's 400. Only Solr's 5xx is a 502. What an HTTP
    client is told (:attr:`public_message`) names no collection and echoes no query: Solr's
    message goes to the log and the CLI.
    """

    http_status = 502

    def __init__(self, message: str, solr_status: int | None = None):
        super().__init__(message)
        self.solr_status = solr_status
        if solr_status is not None and 400 <= solr_status < 500:
            self.http_status = {404: 404, 409: 409, 401: 503, 403: 503}.get(solr_status, 400)

    @property
    def public_message(self) -> str:
        return {
            400: "the search engine could not run this request: check the filters, the text and the ids",
            404: "not found",
            409: "the search engine refused this change as a conflict: try again",
            503: "the search engine refused this server's credentials: the operator needs to check "
                 "LOOKALIKE_SOLR_USER or LOOKALIKE_SOLR_CREDENTIALS_FILE",
        }.get(self.http_status, "the search engine failed on this request")


class SolrNodeError(LookalikeError):
    """A Solr node could not be started, stopped or found."""


class ImageError(LookalikeError):
    """An image could not be read, decoded or fetched."""

    http_status = 400


class ModelError(LookalikeError):
    """An embedding model or its weights could not be loaded."""


class ManifestMismatch(LookalikeError):
    """A stored PCA or model manifest does not match what was expected."""

    http_status = 409


class IndexJobError(LookalikeError):
    """A bulk reindex could not complete or failed verification; the alias was not changed."""
