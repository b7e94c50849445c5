#!/usr/bin/env bash
# Sets Rapport up and runs the main job on the bundled Enron header sample:
# import into a fresh SQLite file, then ask who knows Bank of America.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
PYTHONWARNINGS=ignore .venv/bin/python -m pip install --quiet -e .
export RAPPORT_DB=demo.db RAPPORT_INTERNAL_DOMAINS=enron.com
rm -f demo.db demo.db-wal demo.db-shm
.venv/bin/rapport import mbox samples/enron-headers.mbox
.venv/bin/rapport org rename bankofamerica.com "Bank of America"
# The corpus ends in 2002: evaluate recency then, not today.
.venv/bin/rapport whoknows "Bank of America" --as-of 2001-12-31
