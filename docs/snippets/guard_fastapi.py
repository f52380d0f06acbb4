from fastapi import Depends, FastAPI

from authgate.guard import Claims, Guard

app = FastAPI()
guard = Guard(issuer="http://127.0.0.1:8000", audience="https://coffee.example/api")


@app.get("/drinks-detail")
async def drinks_detail(claims: Claims = Depends(guard.fastapi("get:drinks-detail"))) -> dict[str, object]:
    return {"caller": claims.sub, "permissions": sorted(claims.permissions)}

# uvicorn guard_fastapi:app --port 5001
