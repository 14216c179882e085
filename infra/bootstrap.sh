#!/usr/bin/env bash
# Everything a fresh machine needs, installed from this repository's own files. Idempotent and quick on a
# second run: a Python virtual environment in .venv with the project and its extras, Redis, chromium and
# PostgreSQL from Debian's packages, and the Apache Kafka jars from Maven Central (cached under infra/kafka/lib).
set -euo pipefail
cd "$(dirname "$0")/.."

EXTRAS="${FRAUD_EXTRAS:-dev,gpu}"

if ! command -v uv >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check uv
fi
if [ ! -x .venv/bin/python ]; then
    uv venv --quiet --python "$(command -v python3)" .venv
fi
uv pip install --quiet --python .venv/bin/python -e ".[${EXTRAS}]"

# Debian packages the tests use: Redis; chromium for the dashboard's browser test (driven by Playwright; never
# `playwright install`, which downloads a browser build of its own); PostgreSQL, the audit trail's and the
# registry's production database (the tests run their own server from its binaries, never the packaged cluster);
# curl, which the documentation's examples call the scoring API with (tests/test_docs.py runs them).
missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]} from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi

bash infra/kafka/fetch-jars.sh
