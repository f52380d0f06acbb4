"""PyJWT's JWS parser, with its base64url segment check done at C speed.

PyJWT (2.10 and later) refuses any byte outside the base64url alphabet in a
token segment (GHSA-hxm8-2xgr-2p9m), testing each byte in a Python
generator: for a 500-byte token that is about a third of the whole
verification. ``StrictJWS`` keeps every rule of PyJWT's check and only does
the alphabet test with ``bytes.translate``; the splitting, JSON decoding and
header validation stay PyJWT's own code. A test compares both checks on
thousands of inputs. Should a PyJWT release change this private helper, the
stock parser is used unchanged (correct, only slower).
"""

from __future__ import annotations

import binascii
import inspect

from jwt import DecodeError, PyJWS
from jwt.utils import base64url_decode, base64url_encode

# RFC 7515 §2 / RFC 4648 §5: the base64url alphabet, nothing else.
_BASE64URL_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def decode_segment(segment: bytes, name: str) -> bytes:
    """Decode one compact-JWS segment exactly as strictly as PyJWT does.

    At most two ``=`` and only on a multiple of four; no length of 1 mod 4;
    only alphabet bytes; and the canonical encoding of what it decodes to
    (RFC 7515 §2: "base64url encoding ... with all trailing '=' omitted").
    """
    stripped = segment.rstrip(b"=")
    padding = len(segment) - len(stripped)
    if (
        padding > 2
        or (padding and len(segment) % 4)
        or len(stripped) % 4 == 1
        or stripped.translate(None, _BASE64URL_ALPHABET)
    ):
        raise DecodeError(f"Invalid {name} padding")
    try:
        decoded = base64url_decode(stripped)
    except (TypeError, binascii.Error) as err:
        raise DecodeError(f"Invalid {name} padding") from err
    if base64url_encode(decoded) != stripped:
        raise DecodeError(f"Invalid {name} padding")
    return decoded


def _pyjwt_has_the_helper() -> bool:
    helper = getattr(PyJWS, "_decode_base64url_segment", None)
    return helper is not None and list(inspect.signature(helper).parameters) == ["segment", "name"]


class StrictJWS(PyJWS):
    """``PyJWS`` with ``decode_segment`` as its segment decoder."""

    if _pyjwt_has_the_helper():
        _decode_base64url_segment = staticmethod(decode_segment)
