#!/usr/bin/env bash
# Everything a fresh machine needs, installed from this repository's own files. Idempotent and quick on a
# second run: a Python virtual environment in .venv with the project and its extras, Redis from Debian's
# packages, and the Apache Kafka jars from Maven Central (cached under infra/kafka/lib).
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

if ! command -v redis-server >/dev/null 2>&1; then
    echo "installing redis-server from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq redis-server >/dev/null
fi

bash infra/kafka/fetch-jars.sh
