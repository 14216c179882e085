#!/usr/bin/env bash
# Sets up a fresh machine, starts the Kafka broker the integration tests use, and runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/bootstrap.sh
export FRAUD_ENVIRONMENT=test
.venv/bin/fraud kafka start
trap '.venv/bin/fraud kafka stop || true' EXIT
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
