# A token for the authgate-admin API by client credentials, then two admin API calls
TOKEN=$(curl -s -u "ops-bot:$OPS_BOT_SECRET" http://127.0.0.1:8000/oauth/token \
             -d grant_type=client_credentials -d audience=authgate-admin \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')

curl -s http://127.0.0.1:8000/admin/api/users -H "Authorization: Bearer $TOKEN"
curl -s http://127.0.0.1:8000/admin/api/clients/coffee-spa -H "Authorization: Bearer $TOKEN"
