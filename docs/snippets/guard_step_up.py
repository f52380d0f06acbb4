import os
from typing import Annotated

from fastapi import Depends, FastAPI

from authgate.guard import Claims, Guard

guard = Guard(
    issuer=os.environ.get("AUTHGATE_ISSUER", "http://127.0.0.1:8000"),
    audience="https://coffee.example/api",
    # The issuer's authentication classes, weakest first (this is authgate's, the default).
    acr_values=["urn:authgate:acr:password", "urn:authgate:acr:mfa"],
)
app = FastAPI()

# A refund needs a second factor: "urn:authgate:acr:mfa" or any class listed after it.
Refunder = Annotated[Claims, Depends(guard.fastapi("post:refunds", acr="urn:authgate:acr:mfa"))]
# Changing where payouts go needs a sign-in from the last five minutes.
RecentlySignedIn = Annotated[Claims, Depends(guard.fastapi("patch:payouts", max_age=300))]


@app.post("/refunds")
async def refund(claims: Refunder) -> dict[str, object]:
    return {"refunded_by": claims.sub}


@app.patch("/payout-account")
async def change_payout_account(claims: RecentlySignedIn) -> dict[str, object]:
    return {"changed_by": claims.sub}
