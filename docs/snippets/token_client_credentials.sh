# Client credentials: a confidential client authenticates with its secret (HTTP Basic)
curl -s -u "nightly-report:$NIGHTLY_REPORT_SECRET" http://127.0.0.1:8000/oauth/token \
     -d grant_type=client_credentials -d audience=https://coffee.example/api
