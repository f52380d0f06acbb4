"""Accounts: users and their passwords."""
