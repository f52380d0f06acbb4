# Realm as code: everything `apply` can recreate (add --include-secrets for password hashes,
# client secret digests and webhook secrets: then keep the file like a backup).
authgate export --include-secrets --output realm-export.yaml

# The whole database, while the server runs (SQLite's online backup API: one consistent snapshot).
authgate backup --output authgate-backup.db

# Restore the backup: stop the server, put the copy in place, start it again.
cp authgate-backup.db "$AUTHGATE_DATA_DIR/authgate.db"

# Or rebuild a realm from its export, on a new, empty database.
AUTHGATE_DATA_DIR=./restored authgate apply realm-export.yaml
