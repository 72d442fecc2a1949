#!/bin/sh
# check_headers.sh - every header under src/ must compile on its own
# (self-contained, includes what it uses), as STYLE.md asks. X-macro tables
# (*_tbl.h) are rows, not headers: the files that expand them compile them.
set -u
cc=${CC:-gcc}
failed=0
for h in src/*/*.h; do
	case $h in *_tbl.h) continue ;; esac
	if ! printf '#include "%s"\n' "${h#src/}" |
		$cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Isrc -fsyntax-only -x c - 2>/tmp/hdr.$$; then
		echo "header not self-contained: $h"
		sed 's/^/    /' /tmp/hdr.$$
		failed=1
	fi
done
rm -f /tmp/hdr.$$
[ $failed = 0 ] && echo "check-headers: every header compiles alone"
exit $failed
