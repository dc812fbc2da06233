# membergraph gateway: a slim image, run as a non-root user, healthy once /readyz answers.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY membergraph ./membergraph
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 membergraph
COPY --from=build /install /usr/local
USER membergraph
WORKDIR /home/membergraph
ENV PYTHONUNBUFFERED=1 \
    MEMBERGRAPH_HOST=0.0.0.0 \
    MEMBERGRAPH_PORT=8000
EXPOSE 8000
# Ready means: sources read, identities resolved, store answering (503 until then).
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"]
CMD ["membergraph", "serve", "--no-open"]
