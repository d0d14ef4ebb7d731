#!/bin/sh
# check_cloudcore.sh - keepalived's health check for a cloudcore node.
# Exit 0 only when the local cloudcore leads: /readyz answers 200 on the
# leader and 503 on a standby (-k: its certificate is issued by cloudcore's
# own CA). CLOUDCORE_READYZ_URL overrides the address (tests).
url=${CLOUDCORE_READYZ_URL:-https://127.0.0.1:10002/readyz}
code=$(curl -k -s -o /dev/null -m 2 -w '%{http_code}' "$url")
[ "$code" = 200 ]
