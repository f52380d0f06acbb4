"""The protocol's caches on a clock the test moves: the key ring, the revocation mirror, verified
tokens and usernames answer `peek()` from memory only, and expire when the clock says so."""

from __future__ import annotations

from sqlalchemy import event

from authgate.caching import MISS
from authgate.oauth2.keys import CACHE_SECONDS, KeyStore
from authgate.oauth2.revocation_list import RevocationList
from authgate.oauth2.usernames import CACHE_SECONDS as USERNAME_SECONDS
from authgate.oauth2.usernames import Usernames
from authgate.oauth2.verified_tokens import LEEWAY, VerifiedTokens
from authgate.testing.clock import FakeClock


def selects(database) -> list[str]:
    seen: list[str] = []
    event.listen(database.engine, "before_cursor_execute",
                 lambda *args: seen.append(args[2]) if args[2].lstrip().upper().startswith("SELECT") else None)
    return seen


def test_the_key_ring_is_read_once_per_ttl_and_a_rotation_here_forgets_it(services):
    clock = FakeClock()
    keys = KeyStore(services, clock=clock)
    queries = selects(services.database)
    assert keys.peek() is MISS and queries == []
    signing = keys.signing_key()
    assert keys.peek() is not MISS and keys.public_key(signing.kid) is not None and len(queries) == 1
    clock.advance(CACHE_SECONDS - 0.01)
    keys.signing_key()
    assert len(queries) == 1
    clock.advance(0.01)
    assert keys.peek() is MISS
    keys.rotate(actor="test")
    assert keys.peek() is MISS, "rotated here: the ring is read again"
    assert keys.signing_key().kid != signing.kid


def test_an_unknown_kid_reloads_the_ring_at_most_every_half_second(services):
    clock = FakeClock()
    keys = KeyStore(services, clock=clock)
    keys.signing_key()
    queries = selects(services.database)
    clock.advance(0.6)
    assert keys.public_key("nobody") is None and len(queries) == 1
    assert keys.public_key("nobody") is None and len(queries) == 1, "a flood of unknown kids costs one read"


def test_the_revocation_mirror_is_fresh_for_its_interval_and_counts_this_processes_revocations_at_once(services):
    clock = FakeClock()
    revocations = RevocationList(services.database, interval=1.0, clock=clock)
    assert revocations.peek("jti-1") is MISS
    assert revocations.contains("jti-1") is False
    assert revocations.peek("jti-1") is False
    revocations.revoked({"jti": "jti-1", "exp": 4_000_000_000})
    assert revocations.peek("jti-1") is True
    clock.advance(1.0)
    assert revocations.peek("jti-1") is MISS, "stale after the interval: only contains() may answer"
    assert revocations.contains("jti-1") is True


def test_without_a_mirror_peek_never_answers(services):
    revocations = RevocationList(services.database, interval=0)
    assert revocations.contains("jti-1") is False and revocations.peek("jti-1") is MISS


def test_a_verified_token_is_not_served_past_its_expiry(services):
    issued = services.access_tokens.issue(subject="svc", client_id="svc", audience="https://api", scope=(),
                                          permissions=())
    wall = FakeClock()
    verified = VerifiedTokens(services, clock=wall)
    assert verified.peek(issued.token) is MISS
    claims = verified.get(issued.token)
    services.keys.signing_key()  # the ring in memory: peek can tell the key is still published
    assert verified.peek(issued.token) == claims
    wall.now = claims["exp"] + LEEWAY
    assert verified.peek(issued.token) is MISS


def test_usernames_are_cached_for_a_minute(services):
    with services.realm(actor="test") as realm:
        user = realm.users.create("barista")
        subject = user.subject
    clock = FakeClock()
    usernames = Usernames(services.database, clock=clock)
    assert usernames.peek(subject) is MISS
    assert usernames.get(subject) == "barista" and usernames.peek(subject) == "barista"
    assert usernames.get("no-such-subject") is None and usernames.peek("no-such-subject") is None
    clock.advance(USERNAME_SECONDS)
    assert usernames.peek(subject) is MISS
