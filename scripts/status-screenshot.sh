#!/bin/sh
# Writes docs/status.png: the status page in headless Chromium while the browser test's small fleet
# runs for 20 s (test/integration/status/status-page.test.ts, which also checks the page's numbers).
set -e
cd "$(dirname "$0")/.."
STATUS_SCREENSHOT=1 npx jest --runInBand test/integration/status/status-page.test.ts -t "real browser"
