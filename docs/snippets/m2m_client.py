import os

import httpx

ISSUER = "http://127.0.0.1:8000"

# Client credentials (RFC 6749 §4.4): the client authenticates with its own secret; no user.
response = httpx.post(
    f"{ISSUER}/oauth/token",
    auth=("nightly-report", os.environ["NIGHTLY_REPORT_SECRET"]),
    data={"grant_type": "client_credentials", "audience": "https://coffee.example/api"},
)
response.raise_for_status()
token = response.json()["access_token"]  # valid for expires_in seconds: reuse it until then

# Then call the API with it: httpx.get(api_url, headers={"Authorization": f"Bearer {token}"})
print(response.json()["scope"])
