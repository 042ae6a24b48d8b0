"""The shop's web UI (server-rendered pages in Brazilian Portuguese), mounted by the gateway.

Pages call the same public /api as any other client.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


@router.get("/", response_class=HTMLResponse)
async def index() -> str:
    return (TEMPLATES / "index.html").read_text(encoding="utf-8")
