"""OAuth 2.0 Protected Resource Metadata (RFC 9728) for the API a guard protects.

A guard configured with ``resource`` (its own identifier URL) publishes a
document naming that resource, the authorization server(s) that issue its
tokens and the permissions it knows (``scopes_supported``), and names the
document's URL in every ``WWW-Authenticate`` challenge
(``resource_metadata``, RFC 9728 §5.1). A client that knows nothing else
discovers the authorization server from it (the MCP authorization flow).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from authgate.guard.config import GuardConfig

WELL_KNOWN = "/.well-known/oauth-protected-resource"


def metadata_path(resource: str) -> str:
    """RFC 9728 §3.1: the well-known segment goes between the host and the resource's path."""
    path = urlsplit(resource).path.rstrip("/")
    return WELL_KNOWN + path


def metadata_url(resource: str) -> str:
    parts = urlsplit(resource)
    return f"{parts.scheme}://{parts.netloc}{metadata_path(resource)}"


def metadata_paths(resource: str) -> frozenset[str]:
    """Where the document is served: the path-suffixed form (§3.1) and the bare well-known path."""
    return frozenset({metadata_path(resource), WELL_KNOWN})


def document(config: GuardConfig) -> dict[str, Any]:
    """The metadata (RFC 9728 §2); only for a config that names its ``resource``."""
    if config.resource is None:
        raise ValueError("the guard's config names no resource")
    return {
        "resource": config.resource,
        "authorization_servers": list(config.authorization_servers or (config.issuer,)),
        "scopes_supported": list(config.scopes_supported),
        "bearer_methods_supported": ["header"],  # RFC 6750 §2.1 only
    }
