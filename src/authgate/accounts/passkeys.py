"""Passkeys (WebAuthn): register, sign in with, list, rename, remove — every ceremony through py_webauthn.

Each ceremony is two calls, the browser's `navigator.credentials` in between:

    options = Passkeys(services).registration_options(owner, browser=secret)   # JSON for credentials.create
    Passkeys(services).register(owner, answer, name="Laptop", browser=secret, ip=ip)

    options = Passkeys(services).authentication_options(browser=secret)         # JSON for credentials.get
    use = Passkeys(services).authenticate(answer, browser=secret, ip=ip)        # PasskeyUse(user, amr)

The relying party is the issuer: RP ID = its host, expected origin = its
origin; the library refuses a response signed for another RP ID or collected
on another origin (WebAuthn L3 §7.1 steps 9 and 13, §7.2 steps 13 and 15).

Challenges live on the server (`passkey_challenges`, digests only): random
(the library's), bound to one browser (`browser`: the secret of its CSRF
cookie, web/csrf.py) and to one purpose (and, for a registration or a second
factor, one user), valid `CHALLENGE_TTL`, and deleted by the first answer
that names them, before it is verified: an answer replayed, or one for a
challenge handed to another browser, finds none (§13.4.3).

User verification is required in every ceremony (resident key too, at
registration: passkeys are discoverable). A passkey used with user
verification is two factors (possession of the key, and the PIN or
biometric that unlocked it), so its `amr` (RFC 8176 §2) is
["hwk" or "swk", "user", "mfa"]: "swk" when the authenticator says the key
may be synced to other devices (backup eligible, §6.1 flag BE — signed, unlike
the browser's `authenticatorAttachment`), "hwk" when it is bound to one
device's hardware.

The signature counter: an answer whose counter is not above the stored one
(unless both are 0: authenticators that count nothing) is refused by the
library (§7.2 step 21: a cloned authenticator) and the refusal audited.
A sign-in also passes the rules of every login (accounts/login.py: `admit`,
the brute-force throttle): a disabled account, an unverified address, a
locked account are refused exactly as with a password.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from authgate import audit, text, tokens
from authgate.accounts.login import LoginFailed, LoginThrottled, LoginUser, admit, count_failure
from authgate.accounts.throttle import account_key
from authgate.accounts.users import find_credentials, record_login
from authgate.clock import aware, utcnow
from authgate.errors import InvalidInput, NotFound
from authgate.storage.models import Passkey, PasskeyChallenge, User

if TYPE_CHECKING:
    from authgate.services import Services

CHALLENGE_TTL = timedelta(minutes=5)
TIMEOUT_MS = int(CHALLENGE_TTL.total_seconds() * 1000)  # what the browser is told to wait, at most
MAX_PER_USER = 20
MAX_CREDENTIAL_ID = 1023  # bytes (WebAuthn L3 §4, Credential ID)
NAME_LENGTH = 100

REGISTER = "register"
LOGIN = "login"
SECOND_FACTOR = "second_factor"

REFUSED = "This passkey could not be verified. Try again, or use another way to sign in."


class PasskeyRefused(Exception):
    """A ceremony that did not pass: `message` may be shown to the person; `reason` is for the audit log."""

    def __init__(self, reason: str, message: str = REFUSED) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


@dataclass(frozen=True)
class PasskeyInfo:
    """A passkey as its owner and the admins see it: never the key."""

    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    synced: bool  # backup eligible: the key may live on several devices ("swk")
    backed_up: bool
    aaguid: str
    transports: tuple[str, ...]


@dataclass(frozen=True)
class PasskeyUse:
    """A verified sign-in: who, and how (RFC 8176 `amr`)."""

    user: LoginUser
    amr: tuple[str, ...]
    passkey_id: int


@dataclass(frozen=True)
class Owner:
    """The signed-in person registering a passkey."""

    id: int
    username: str
    subject: str


def passkeys_of(session: Session, user_id: int) -> list[PasskeyInfo]:
    """A user's passkeys, oldest first (the factor registry of accounts/factors.py lists them)."""
    rows = session.scalars(select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.id))
    return [_info(row) for row in rows]


def amr_of(passkey: Passkey | PasskeyInfo) -> tuple[str, ...]:
    """RFC 8176 §2: "swk" for a key that may be synced (backup eligible), else "hwk"; "user" and "mfa"
    because user verification is required in every ceremony (the key and the PIN or biometric)."""
    synced = passkey.synced if isinstance(passkey, PasskeyInfo) else passkey.backup_eligible
    return ("swk" if synced else "hwk", "user", "mfa")


def checked_name(name: str) -> str:
    cleaned = text.checked(name.strip(), NAME_LENGTH, field="name", what="A passkey name")
    if not cleaned:
        raise InvalidInput("Give the passkey a name.", field="name")
    return cleaned


class Passkeys:
    def __init__(self, services: Services) -> None:
        self.services = services
        issuer = urlsplit(services.settings.issuer)
        self.rp_id = issuer.hostname or ""  # WebAuthn §5.1.4.1: a registrable domain, no port
        self.origin = f"{issuer.scheme}://{issuer.netloc}"

    # --- registration --------------------------------------------------------------------------
    def registration_options(self, owner: Owner, *, browser: str) -> str:
        """`PublicKeyCredentialCreationOptionsJSON` for this person; the challenge kept for `register`."""
        with self.services.database.reader() as session:
            existing = session.scalars(select(Passkey.credential_id).where(Passkey.user_id == owner.id)).all()
        if len(existing) >= MAX_PER_USER:
            raise InvalidInput(f"You have {MAX_PER_USER} passkeys, the most an account may have. Remove one first.")
        options = generate_registration_options(
            rp_id=self.rp_id, rp_name=self.rp_id, user_name=owner.username,
            # The user handle: the opaque `sub`, never the username or a sequential id (§14.6.1).
            user_id=owner.subject.encode(), user_display_name=owner.username, timeout=TIMEOUT_MS,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED, user_verification=UserVerificationRequirement.REQUIRED),
            exclude_credentials=[PublicKeyCredentialDescriptor(id=credential_id) for credential_id in existing],
        )
        self._keep(options.challenge, REGISTER, browser, owner.id)
        return options_to_json(options)

    def register(self, owner: Owner, answer: object, *, name: str, browser: str, ip: str | None) -> PasskeyInfo:
        """Verify the browser's answer to `registration_options` and store the new passkey."""
        name = checked_name(name)
        credential = _parsed(parse_registration_credential_json, answer)
        assert isinstance(credential, RegistrationCredential)
        challenge = self._take(credential.response.client_data_json, REGISTER, browser, owner.id)
        try:
            verified = verify_registration_response(
                credential=credential, expected_challenge=challenge, expected_rp_id=self.rp_id,
                expected_origin=self.origin, require_user_verification=True)
        except WebAuthnException as error:
            raise self._refused(str(error), subject=owner.username, ip=ip) from error
        if len(verified.credential_id) > MAX_CREDENTIAL_ID:  # WebAuthn L3 §7.1 step 24
            raise self._refused("credential id longer than 1023 bytes", subject=owner.username, ip=ip)
        transports = [transport.value for transport in credential.response.transports or ()
                      if isinstance(transport, AuthenticatorTransport)]
        passkey = Passkey(
            user_id=owner.id, credential_id=verified.credential_id, public_key=verified.credential_public_key,
            sign_count=verified.sign_count, transports=transports, aaguid=verified.aaguid,
            backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
            backed_up=verified.credential_backed_up, name=name, created_at=utcnow(),
        )
        try:
            with self.services.database.transaction() as session:
                count = session.scalar(select(func.count()).select_from(Passkey).where(Passkey.user_id == owner.id))
                if (count or 0) >= MAX_PER_USER:
                    raise InvalidInput(f"You have {MAX_PER_USER} passkeys, the most an account may have.")
                session.add(passkey)
                session.flush()
                audit.record(session, audit.PASSKEY_REGISTERED, actor=owner.username, subject=owner.username, ip=ip,
                             passkey_id=passkey.id, name=name, synced=passkey.backup_eligible)
                info = _info(passkey)
        except IntegrityError as error:  # the same credential twice (the browser excludes known ones)
            raise self._refused("credential already registered", subject=owner.username, ip=ip,
                                message="This passkey is registered already.") from error
        return info

    # --- authentication ------------------------------------------------------------------------
    def authentication_options(self, *, browser: str, purpose: str = LOGIN, user_id: int | None = None) -> str:
        """`PublicKeyCredentialRequestOptionsJSON`: for a login, any discoverable passkey of this RP;
        for a second factor (`user_id`), one of that user's."""
        allowed: Sequence[bytes] = ()
        if user_id is not None:
            with self.services.database.reader() as session:
                allowed = session.scalars(select(Passkey.credential_id).where(Passkey.user_id == user_id)).all()
            if not allowed:  # else the browser would offer any passkey of this site
                raise PasskeyRefused("no passkey to ask for", "This account has no passkey.")
        options = generate_authentication_options(
            rp_id=self.rp_id, timeout=TIMEOUT_MS, user_verification=UserVerificationRequirement.REQUIRED,
            allow_credentials=[PublicKeyCredentialDescriptor(id=credential_id) for credential_id in allowed],
        )
        self._keep(options.challenge, purpose, browser, user_id)
        return options_to_json(options)

    def authenticate(self, answer: object, *, browser: str, ip: str, purpose: str = LOGIN,
                     user_id: int | None = None, client_id: str | None = None) -> PasskeyUse:
        """Verify the browser's answer to `authentication_options`: the passkey's user, refused like a
        password login would be (throttled, disabled, unverified address), or PasskeyRefused."""
        credential = _parsed(parse_authentication_credential_json, answer)
        assert isinstance(credential, AuthenticationCredential)
        challenge = self._take(credential.response.client_data_json, purpose, browser, user_id)
        with self.services.database.reader() as session:
            found = session.execute(
                select(Passkey, User.username, User.subject).join(User, User.id == Passkey.user_id)
                .where(Passkey.credential_id == credential.raw_id)).first()
        if found is None or (user_id is not None and found[0].user_id != user_id):
            raise self._refused("unknown credential", ip=ip, credential_id=bytes_to_base64url(credential.raw_id)[:100])
        passkey, username, subject = found
        # §7.2 step 6: a user handle, when the authenticator returns one, is the owner's.
        if credential.response.user_handle is not None and credential.response.user_handle != subject.encode():
            raise self._refused("user handle of another account", subject=username, ip=ip)
        account = account_key(username)
        standing = self.services.throttle.check(account, ip)
        if standing.retry_after > 0:
            raise LoginThrottled(max(1, math.ceil(standing.retry_after)))
        try:
            verified = verify_authentication_response(
                credential=credential, expected_challenge=challenge, expected_rp_id=self.rp_id,
                expected_origin=self.origin, credential_public_key=passkey.public_key,
                credential_current_sign_count=passkey.sign_count, require_user_verification=True)
        except WebAuthnException as error:
            refused = self._refused(str(error), subject=username, ip=ip, passkey_id=passkey.id)
            count_failure(self.services, account, ip, client_id, method=amr_of(passkey)[0])
            raise refused from error
        with self.services.database.transaction() as session:
            credentials = find_credentials(session, username)
            if credentials is None:  # deleted meanwhile
                raise LoginFailed()
            admit(self.services, credentials)
            stored = session.get(Passkey, passkey.id)
            if stored is None:  # removed meanwhile
                raise LoginFailed()
            now = utcnow()
            stored.sign_count, stored.backed_up, stored.last_used_at = verified.new_sign_count, \
                verified.credential_backed_up, now
            audit.record(session, audit.PASSKEY_USED, subject=username, client_id=client_id, ip=ip,
                         passkey_id=passkey.id, purpose=purpose)
            if purpose == LOGIN:
                audit.record(session, audit.LOGIN_SUCCEEDED, subject=username, client_id=client_id, ip=ip,
                             method="passkey")
                record_login(session, credentials, new_hash=None)
            if standing.pair_counted:
                self.services.throttle.succeeded(account, ip, session)
        return PasskeyUse(LoginUser(credentials.id, credentials.username, credentials.subject),
                          amr_of(passkey), passkey.id)

    # --- the owner's list ----------------------------------------------------------------------
    def list(self, user_id: int) -> list[PasskeyInfo]:
        with self.services.database.reader() as session:
            return passkeys_of(session, user_id)

    def rename(self, user_id: int, passkey_id: int, name: str, *, actor: str, ip: str | None) -> None:
        name = checked_name(name)
        with self.services.database.transaction() as session:
            passkey = _owned(session, user_id, passkey_id)
            passkey.name = name
            audit.record(session, audit.PASSKEY_RENAMED, actor=actor, subject=actor, ip=ip, passkey_id=passkey_id,
                         name=name)

    def remove(self, user_id: int, passkey_id: int, *, actor: str, ip: str | None) -> None:
        """Remove one passkey (the caller made sure the person re-authenticated)."""
        with self.services.database.transaction() as session:
            passkey = _owned(session, user_id, passkey_id)
            session.delete(passkey)
            audit.record(session, audit.PASSKEY_REMOVED, actor=actor, subject=actor, ip=ip, passkey_id=passkey_id,
                         name=passkey.name)

    # --- challenges ----------------------------------------------------------------------------
    def _keep(self, challenge: bytes, purpose: str, browser: str, user_id: int | None) -> None:
        now = utcnow()
        with self.services.database.transaction() as session:
            purge_expired_challenges(session, now)
            session.add(PasskeyChallenge(
                challenge_hash=tokens.digest(bytes_to_base64url(challenge)), purpose=purpose,
                browser_hash=tokens.digest(browser), user_id=user_id, expires_at=now + CHALLENGE_TTL))

    def _take(self, client_data_json: bytes, purpose: str, browser: str, user_id: int | None) -> bytes:
        """The challenge an answer names, deleted (single use) if it was handed to this browser, for this
        purpose and user, and has not expired; else PasskeyRefused."""
        try:
            challenge = parse_client_data_json(client_data_json).challenge
        except (WebAuthnException, ValueError, TypeError, KeyError) as error:
            raise PasskeyRefused("malformed clientDataJSON") from error
        now = utcnow()
        with self.services.database.transaction() as session:
            taken = session.execute(
                delete(PasskeyChallenge).where(
                    PasskeyChallenge.challenge_hash == tokens.digest(bytes_to_base64url(challenge)),
                    PasskeyChallenge.browser_hash == tokens.digest(browser),
                    PasskeyChallenge.purpose == purpose,
                ).returning(PasskeyChallenge.user_id, PasskeyChallenge.expires_at)).first()
        if taken is None or taken.user_id != user_id or aware(taken.expires_at) <= now:
            raise PasskeyRefused("unknown, used or expired challenge",
                                 "This sign-in attempt expired or was already used. Try again.")
        return challenge

    def _refused(self, reason: str, *, subject: str | None = None, ip: str | None, message: str = REFUSED,
                 **detail: Any) -> PasskeyRefused:
        audit.record_now(self.services.database, audit.PASSKEY_REFUSED, subject=subject, ip=ip, outcome="failure",
                         reason=text.shown(reason, 200), **detail)  # the library's words may quote what was sent
        return PasskeyRefused(reason, message)


def _parsed(parse: Any, answer: object) -> RegistrationCredential | AuthenticationCredential:
    """The browser's answer (a decoded JSON object, `PublicKeyCredential.toJSON()`), through the library's
    parser; PasskeyRefused for anything malformed (the strings are base64url: no other text gets through)."""
    if not isinstance(answer, dict):
        raise PasskeyRefused("answer is not a JSON object")
    try:
        parsed: RegistrationCredential | AuthenticationCredential = parse(answer)
    except (WebAuthnException, ValueError, TypeError, KeyError) as error:  # bad JSON, base64, structure
        raise PasskeyRefused("malformed credential") from error
    return parsed


def _owned(session: Session, user_id: int, passkey_id: int) -> Passkey:
    passkey = session.scalar(select(Passkey).where(Passkey.id == passkey_id, Passkey.user_id == user_id))
    if passkey is None:
        raise NotFound("passkey", passkey_id)
    return passkey


def _info(row: Passkey) -> PasskeyInfo:
    return PasskeyInfo(row.id, row.name, aware(row.created_at), aware(row.last_used_at) if row.last_used_at else None,
                       row.backup_eligible, row.backed_up, row.aaguid, tuple(row.transports))


def purge_expired_challenges(session: Session, now: datetime) -> int:
    """Delete the passkey challenges never answered whose expiry passed by `now`; returns how many."""
    purged = session.execute(delete(PasskeyChallenge).where(PasskeyChallenge.expires_at <= now)
                             .execution_options(synchronize_session=False))
    return int(purged.rowcount)  # type: ignore[attr-defined]
