"""Access: APIs and their permissions, roles, clients, and who holds what."""
