"""The dashboard page and its assets; Plotly's JS is served from the installed package (no CDN)."""

from __future__ import annotations

from pathlib import Path

import plotly
from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from api import metrics

router = APIRouter(include_in_schema=False)

HERE = Path(__file__).resolve().parents[1]
INDEX_HTML = HERE / "templates" / "index.html"
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


@router.get("/", response_class=HTMLResponse)
def index() -> HTMLResponse:
    return HTMLResponse(INDEX_HTML.read_text())


@router.get("/vendor/plotly.min.js")
def plotly_js() -> FileResponse:
    return FileResponse(
        PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"}
    )


@router.get("/metrics")
def prometheus() -> Response:
    body, ctype = metrics.exposition()
    return Response(body, media_type=ctype)
