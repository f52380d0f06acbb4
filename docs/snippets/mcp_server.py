# server.py: an MCP server (the official `mcp` SDK) whose tools authgate protects.
import os

from mcp.server import MCPServer

from authgate.guard import Guard
from authgate.guard.mcp import McpGuard

ISSUER = os.environ.get("AUTHGATE_ISSUER", "http://127.0.0.1:8000")
# This server's URL: the identifier of its API in authgate (the tokens' audience).
URL = os.environ.get("MCP_URL", "http://127.0.0.1:8001/mcp")

guard = Guard(
    issuer=ISSUER, audience=URL, required_typ="at+jwt",
    resource=URL,  # publish RFC 9728 metadata, so clients find authgate
    scopes_supported=["read:books", "write:books"],
)
# Every call needs read:books; a client without a token is told to ask for it.
mcp_guard = McpGuard(guard, required=["read:books"])
server = MCPServer("Books", token_verifier=mcp_guard, auth=mcp_guard.auth_settings())
BOOKS = ["Dune", "The Left Hand of Darkness"]


@server.tool()
def search_books(query: str) -> list[str]:
    """Titles containing the query."""
    return [title for title in BOOKS if query.lower() in title.lower()]


@server.tool()
@mcp_guard.requires("write:books")  # refused with 403 insufficient_scope without it
def add_book(title: str) -> str:
    """Add a title to the shelf."""
    BOOKS.append(title)
    return f"added {title}"


# The SDK's app, with the guard's metadata, challenges and per-tool permissions around it.
app = mcp_guard.protect(server.streamable_http_app())
# Run it: uvicorn server:app --port 8001
