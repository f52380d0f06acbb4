from typing import Annotated

from fastapi import Depends, FastAPI

from authgate.guard import Claims, Guard

app = FastAPI()
guard = Guard(issuer="http://127.0.0.1:8000", audience="https://coffee.example/api")
DrinksReader = Annotated[Claims, Depends(guard.fastapi("get:drinks-detail"))]


@app.get("/drinks-detail")
async def drinks_detail(claims: DrinksReader) -> dict[str, object]:
    return {"caller": claims.sub, "permissions": sorted(claims.permissions)}

# saved as app.py: uvicorn app:app --port 5001
