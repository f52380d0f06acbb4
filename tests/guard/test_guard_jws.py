"""``StrictJWS``'s segment decoder must accept and refuse exactly what PyJWT's does."""

from __future__ import annotations

import base64
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jwt import DecodeError, PyJWS

from authgate.guard.jws import StrictJWS, decode_segment

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
pyjwt_decode = getattr(PyJWS, "_decode_base64url_segment", None)
pytestmark = pytest.mark.skipif(pyjwt_decode is None, reason="this PyJWT has no strict segment check")


def outcome(decode: object, segment: bytes) -> bytes | str:
    try:
        return decode(segment, "payload")  # type: ignore[operator,no-any-return]
    except DecodeError as err:
        return f"DecodeError: {err}"


def corpus() -> list[bytes]:
    rng = random.Random(7)
    segments = [b"", b"=", b"==", b"===", b"A", b"AA", b"AAA", b"AAAA", b"AB==", b"AB=", b"ABC=",
                b"ABCD====", b"A=B=", b"+/==", b"AQ", b"AR", b"AQ==", b"AR==", b"e30", b"e31"]
    for length in range(1, 40):
        raw = bytes(rng.randrange(256) for _ in range(length))
        good = base64.urlsafe_b64encode(raw)
        segments += [good, good.rstrip(b"="), good.rstrip(b"=") + b"=", good + b"="]
        noisy = bytearray(good.rstrip(b"="))
        noisy[rng.randrange(len(noisy))] = rng.choice(b"!*.+/ \x00\xff=")
        segments.append(bytes(noisy))
    return segments


@pytest.mark.parametrize("segment", corpus(), ids=repr)
def test_same_verdict_as_pyjwt_on_a_fixed_corpus(segment: bytes) -> None:
    assert outcome(decode_segment, segment) == outcome(pyjwt_decode, segment)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=ALPHABET + "=+/!. ", max_size=40).map(str.encode))
def test_same_verdict_as_pyjwt_on_generated_segments(segment: bytes) -> None:
    assert outcome(decode_segment, segment) == outcome(pyjwt_decode, segment)


def test_strict_jws_uses_the_fast_decoder() -> None:
    assert StrictJWS._decode_base64url_segment is decode_segment
