# On every replica: the same settings file, the same master key (never in the file)
export AUTHGATE_CONFIG=/etc/authgate/authgate.yaml
export AUTHGATE_MASTER_KEY="$(cat /run/secrets/authgate-master-key)"

authgate init --password-stdin < /run/secrets/first-admin-password   # once per release: migrations
exec authgate serve --host 0.0.0.0 --port 8000 --workers 4
