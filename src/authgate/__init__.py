"""authgate: an OpenID Connect server with users, roles and permissions, and a guard for your API.

Importing this package loads nothing of the server: `authgate.guard` must stay
usable with only the base dependencies installed.
"""

__version__ = "0.1.0"
