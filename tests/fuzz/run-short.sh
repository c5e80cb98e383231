#!/bin/sh
# The ctest fuzz.<name>: a short libFuzzer run over the seed corpus and the kept crashes.
#   run-short.sh FUZZER WORKDIR MAX_LEN CORPUS_DIR...
# New inputs are written to WORKDIR (libFuzzer writes to its first directory); corpus
# directories that do not exist (a harness without kept crashes) are skipped.
set -eu
fuzzer="$1"
work="$2"
max_len="$3"
shift 3
mkdir -p "$work/corpus" "$work/artifacts"
for dir do
    shift
    if [ -n "$dir" ] && [ -d "$dir" ]; then
        set -- "$@" "$dir"
    fi
done
exec "$fuzzer" -runs=2000 -max_len="$max_len" -timeout=5 -rss_limit_mb=1024 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" "$@"
