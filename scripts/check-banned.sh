#!/bin/sh
# Fails when C sources call a banned function (STYLE.md §11; curl does the same).
set -eu
cd "$(dirname "$0")/.."
files=$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'bench/*.c' 2>/dev/null)
[ -n "$files" ] || exit 0
# shellcheck disable=SC2086
if grep -nE '(^|[^_a-zA-Z0-9.>])(sprintf|vsprintf|strcpy|strcat|strncpy|strtok|gets|atoi|atol|sscanf)[[:space:]]*\(' $files; then
    echo "banned function used (see STYLE.md §11): use snprintf, buf_*, strtol, xstrdup ..." >&2
    exit 1
fi
echo "banned functions: none in $(echo "$files" | wc -l) files"
