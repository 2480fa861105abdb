# A slim CPU image that runs the edgeperf service (serving needs no TensorFlow/LiteRT/Vela).
# Embedded SQLite in /data by default; production: several workers against PostgreSQL,
#   docker run -e EDGEPERF_DATABASE_URL=postgresql+psycopg://user:pw@db/edgeperf \
#     -e EDGEPERF_API_KEYS='["..."]' -p 8000:8000 IMAGE \
#     edgeperf serve --host 0.0.0.0 --port 8000 --workers 4
# (psycopg[binary] brings its own libpq; the dashboard's plotly.min.js comes with the plotly wheel.)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    EDGEPERF_DATABASE_URL=sqlite:////data/edgeperf.sqlite

WORKDIR /app
# torch's CPU wheel index keeps the image free of CUDA libraries.
COPY pyproject.toml README.md ./
COPY hwmodels ./hwmodels
COPY predictor ./predictor
COPY dataset ./dataset
COPY api ./api
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu . \
    && useradd --system --home /app edgeperf \
    && mkdir -p /data && chown edgeperf /data

USER edgeperf
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"
CMD ["edgeperf", "serve", "--host", "0.0.0.0", "--port", "8000"]
