"""Schemathesis hooks for `.ci/run schemathesis`: every request is made as
a signed-in user, registered through the API itself, so the operations
behind a bearer token are exercised past their 401."""

import json
import os
import urllib.request
import uuid

import schemathesis


def _register(base: str) -> str:
    body = json.dumps(
        {
            "email": f"schemathesis-{uuid.uuid4().hex}@example.com",
            "password": "schemathesis long passphrase",
            "name": "Schemathesis",
        }
    ).encode()
    request = urllib.request.Request(
        f"{base}/api/v1/auth/register",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["access_token"]


@schemathesis.auth(refresh_interval=300)
class InnkeepBearer:
    """Fresh accounts' access tokens (valid 15 minutes; renewed every 5).

    Two accounts: a host, who makes every request but one, and a guest,
    who books (`POST /bookings`): a host may not book their own listing, so
    with one account every booking of a listing made in the run would be a
    403. The host then sees, cancels, accepts and declines those bookings.

    `POST /auth/logout` ends the session its token belongs to, so it gets a
    token of its own: signing a shared one out would answer every later
    request 401 until the next renewal, and test nothing past it."""

    def get(self, case, context):
        base = os.environ["INNKEEP_BASE_URL"]
        return {"host": _register(base), "guest": _register(base)}

    def set(self, case, data, context):
        path, method = case.operation.path, case.operation.method.upper()
        token = data["host"]
        if path == "/api/v1/bookings" and method == "POST":
            token = data["guest"]
        elif path.endswith("/auth/logout"):
            token = _register(os.environ["INNKEEP_BASE_URL"])
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {token}"
