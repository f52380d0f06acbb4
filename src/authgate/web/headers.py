"""Headers every response carries, whatever produced it: a page, a protocol answer, an error, a 404.

`X-Content-Type-Options: nosniff`: a browser must not guess a type other than
the one sent, so a JSON answer echoing input (an error naming a parameter) is
never run as script or rendered as HTML (Fetch Standard §"X-Content-Type-Options").
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Message, Send

NOSNIFF = (b"x-content-type-options", b"nosniff")


def with_nosniff(send: Send) -> Send:
    """`send`, adding nosniff to the response's headers unless the response set it already."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            if not any(name.lower() == NOSNIFF[0] for name, _ in headers):
                message = {**message, "headers": [*headers, NOSNIFF]}
        await send(message)

    return sending


def nosniff(response: Response) -> None:
    """The same for a response in hand (the hot paths): ~0.6 µs, where wrapping `send` costs ~4."""
    for name, _ in response.raw_headers:
        if name == NOSNIFF[0]:  # Starlette keeps header names lower-case
            return
    response.raw_headers.append(NOSNIFF)
