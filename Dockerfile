# One image for every OpenRuns component; the command picks the role:
#   openruns api | openruns worker | openruns smtp | openruns setup
# Health checks: `openruns healthcheck api|worker|smtp` (set per service in docker-compose.yml,
# since one image plays several roles).

# ---- build: install OpenRuns and its dependencies into a virtual environment ----
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/openruns
WORKDIR /src
# Dependencies first (from pyproject.toml), so editing the code does not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && /opt/openruns/bin/pip install -r requirements.txt
COPY worker.py ./
COPY src ./src
RUN /opt/openruns/bin/pip install --no-deps .

# ---- runtime: the virtual environment, a non-root user, nothing else ----
FROM python:3.11-slim
ENV PATH=/opt/openruns/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OPENRUNS_DATA_DIR=/data \
    OPENRUNS_API_HOST=0.0.0.0 \
    OPENRUNS_SMTP_HOST=0.0.0.0
RUN groupadd --system --gid 10001 openruns \
    && useradd --system --uid 10001 --gid openruns --home-dir /data --no-create-home openruns \
    && mkdir /data && chown openruns:openruns /data
COPY --from=build /opt/openruns /opt/openruns
USER openruns
# /data holds stored files: mount a volume shared by api, worker and email-gateway (or set
# OPENRUNS_S3_BUCKET to keep them in a bucket).
WORKDIR /data
EXPOSE 8000 2525
ENTRYPOINT ["openruns"]
CMD ["api"]
