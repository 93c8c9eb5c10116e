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


class ConfigError(LookalikeError):
    """A setting or the environment is wrong (Java missing, runtime not built, bad value)."""


class BadRequest(LookalikeError):
    """The caller's input is wrong; the message says what to fix."""

    http_status = 400


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


class SolrUnavailable(LookalikeError):
    """Solr cannot be reached (connection refused, timeout)."""

    http_status = 503


class SolrRequestError(LookalikeError):
    """Solr answered with an error; ``solr_status`` and Solr's own message are kept."""

    http_status = 502

    def __init__(self, message: str, solr_status: int | None = None):
        super().__init__(message)
        self.solr_status = solr_status
        if solr_status == 400:
            self.http_status = 400
        elif solr_status == 404:
            self.http_status = 404


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
