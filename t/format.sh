#!/bin/sh
# format.sh - fails when clang-format would change a C++ file of the
# project, so that layout is never a reviewer's business.
#
# Run by `make check` from the build directory, with TOP_SRCDIR set to the
# source tree.  The style is the tree's .clang-format; the files are every
# .cpp and .hpp under lib, bin, t/unit, t/fuzz, examples and bench.  Needs
# clang-format (Debian: clang-format, in `sh tools/deps check`); without it
# the test is skipped (exit 77), as in the Debian package's build.
#
# Prints the files clang-format would change, with its diff, and a summary
# ("format: 120 files, 0 to change").  To fix: clang-format -i FILE.

set -u

: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
FORMAT=${CLANG_FORMAT:-clang-format}
if ! command -v "$FORMAT" >/dev/null 2>&1; then
  echo "format: $FORMAT not found, skipped"
  exit 77
fi

cd "$TOP_SRCDIR" || exit 1
files=0
changed=0
for file in $(find lib bin t/unit t/fuzz examples bench \
                -name '*.cpp' -o -name '*.hpp' | LC_ALL=C sort); do
  files=$((files + 1))
  if ! "$FORMAT" --style=file "$file" | diff -u "$file" - >/dev/null; then
    changed=$((changed + 1))
    echo "format: $file: clang-format would change it:"
    "$FORMAT" --style=file "$file" | diff -u "$file" - | head -40
  fi
done
echo "format: $files files, $changed to change"
[ "$changed" -eq 0 ]
