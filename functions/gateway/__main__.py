"""`python -m functions.gateway`: serve the gateway on HOST:PORT (Knative sets PORT)."""

from __future__ import annotations

import os

import uvicorn

if __name__ == "__main__":
    uvicorn.run(
        "functions.gateway.app:app",
        host=os.environ.get("HOST", "0.0.0.0"),  # noqa: S104 - a container listens on all
        port=int(os.environ.get("PORT", "8080")),
        log_level="warning",
        proxy_headers=True,
    )
