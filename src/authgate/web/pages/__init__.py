"""The hosted pages: login, consent, account (password change, connected applications), registration.

And `/`, a landing page linking to the account, the console and discovery.

Server-rendered with Jinja2, usable without JavaScript, every form
CSRF-protected (`web/csrf.py`), every page sent with the security headers of
`rendering.security_headers`. The protocol endpoints that also render pages
(/authorize's errors and form_post, /logout's confirmation) live in `oidc/`.
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from authgate.web.pages import (
    account,
    account_factors,
    account_passkeys,
    consent,
    email_verification,
    federation,
    invitation,
    landing,
    login,
    mfa,
    passkeys,
    password_reset,
    registration,
)

STATIC = Path(__file__).resolve().parent.parent / "static"

routes: list[BaseRoute] = [
    Route("/", landing.landing_page, methods=["GET"]),
    Route("/login", login.login_page, methods=["GET"]),
    Route("/login", login.login_submit, methods=["POST"]),
    Route("/login/idp/link", federation.link_submit, methods=["POST"]),
    Route("/login/idp/{alias}", federation.start, methods=["GET"]),
    Route("/login/idp/{alias}/callback", federation.callback, methods=["GET"]),
    Route("/login/idp/{alias}/logged-out", federation.logged_out, methods=["GET"]),
    Route("/account/identities", federation.identities_page, methods=["GET"]),
    Route("/account/identities/unlink", federation.unlink_submit, methods=["POST"]),
    Route("/login/factor", mfa.code_page, methods=["GET"]),
    Route("/login/factor", mfa.code_submit, methods=["POST"]),
    Route("/login/recovery", mfa.recovery_page, methods=["GET"]),
    Route("/login/recovery", mfa.recovery_submit, methods=["POST"]),
    Route("/login/enrol", mfa.enrol_page, methods=["GET"]),
    Route("/login/enrol", mfa.enrol_submit, methods=["POST"]),
    Route("/consent", consent.consent_page, methods=["GET"]),
    Route("/consent", consent.consent_submit, methods=["POST"]),
    Route("/register", registration.register_page, methods=["GET"]),
    Route("/register", registration.register_submit, methods=["POST"]),
    Route("/account", account.account_page, methods=["GET"]),
    Route("/account/password", account.password_page, methods=["GET"]),
    Route("/account/password", account.password_submit, methods=["POST"]),
    Route("/login/passkey/options", passkeys.login_options, methods=["POST"]),
    Route("/login/passkey/verify", passkeys.login_verify, methods=["POST"]),
    Route("/login/passkey/second-factor/options", passkeys.second_factor_options, methods=["POST"]),
    Route("/login/passkey/second-factor/verify", passkeys.second_factor_verify, methods=["POST"]),
    Route("/account/passkeys", account_passkeys.passkeys_page, methods=["GET"]),
    Route("/account/passkeys/options", passkeys.register_options, methods=["POST"]),
    Route("/account/passkeys/register", passkeys.register, methods=["POST"]),
    Route("/account/passkeys/rename", account_passkeys.passkey_rename, methods=["POST"]),
    Route("/account/passkeys/remove", account_passkeys.passkey_remove, methods=["POST"]),
    Route("/account/consents", account.consents_page, methods=["GET"]),
    Route("/account/factors", account_factors.factors_page, methods=["GET"]),
    Route("/account/factors/totp", account_factors.totp_page, methods=["GET"]),
    Route("/account/factors/totp", account_factors.totp_submit, methods=["POST"]),
    Route("/account/factors/change", account_factors.change_submit, methods=["POST"]),
    Route("/account/consents/revoke", account.consent_revoke, methods=["POST"]),
    Route("/password/forgot", password_reset.forgot_page, methods=["GET"]),
    Route("/password/forgot", password_reset.forgot_submit, methods=["POST"]),
    Route("/password/reset", password_reset.reset_page, methods=["GET"]),
    Route("/password/reset", password_reset.reset_submit, methods=["POST"]),
    Route("/password/reset/done", password_reset.reset_done, methods=["GET"]),
    Route("/email/verify", email_verification.verify_page, methods=["GET"]),
    Route("/email/verify", email_verification.verify_submit, methods=["POST"]),
    Route("/account/email", email_verification.account_email_page, methods=["GET"]),
    Route("/account/email", email_verification.account_email_submit, methods=["POST"]),
    Route("/invitation", invitation.invitation_page, methods=["GET"]),
    Route("/invitation", invitation.invitation_submit, methods=["POST"]),
    Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static"),
]
