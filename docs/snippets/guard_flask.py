from flask import Flask

from authgate.guard import Claims
from authgate.guard.flask import FlaskGuard

app = Flask(__name__)
guard = FlaskGuard(issuer="http://127.0.0.1:8000", audience="https://coffee.example/api")
guard.init_app(app)


@app.get("/drinks-detail")
@guard.requires_auth("get:drinks-detail")
def drinks_detail(claims: Claims) -> dict[str, object]:
    return {"caller": claims.sub, "permissions": sorted(claims.permissions)}


if __name__ == "__main__":
    app.run(port=5001)
