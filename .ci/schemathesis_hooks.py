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
    """A fresh account's access token (valid 15 minutes; renewed every 5).

    `POST /auth/logout` ends the session its token belongs to, so it gets a
    token of its own: signing the shared one out would answer every later
    request 401 until the next renewal, and test nothing past it."""

    def get(self, case, context):
        return _register(os.environ["INNKEEP_BASE_URL"])

    def set(self, case, data, context):
        token = data
        if case.operation.path.endswith("/auth/logout"):
            token = _register(os.environ["INNKEEP_BASE_URL"])
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {token}"
