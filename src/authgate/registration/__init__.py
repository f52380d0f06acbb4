"""Dynamic client registration (RFC 7591) and its management protocol (RFC 7592).

`metadata` reads what a client sends, `registrations` creates, reads,
updates, deletes and purges the clients, `initial_tokens` mints the initial
access tokens of the `token` policy, and `endpoint` is the HTTP face.
"""
