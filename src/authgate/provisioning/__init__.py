"""Declarative set-up: `authgate apply FILE` reads a realm file and makes the database match it."""

from authgate.provisioning.apply import ApplyResult, apply_realm
from authgate.provisioning.realm_file import RealmFile, RealmFileError, load_realm_file

__all__ = ["ApplyResult", "RealmFile", "RealmFileError", "apply_realm", "load_realm_file"]
