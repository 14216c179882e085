#!/usr/bin/env bash
# Sets up a fresh machine and runs the end-to-end demonstration.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/bootstrap.sh
.venv/bin/fraud demo "$@"
