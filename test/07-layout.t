#!/bin/bash
# 07-layout.t - the tree is the design card: the top level holds only the
# card's entries; cmd/ holds one applet per file (FILE.c defines FILE_main,
# which the applet table names) plus the table itself, library code lives in
# cmd/'s subfolders; only crypto/ includes Mbed TLS (and the one TLS
# transport README names), only luks/ includes libcryptsetup, and lower
# layers never include upper ones.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.." || exit 1
need git

extra=$(git ls-files | cut -d/ -f1 | sort -u |
	grep -vxE '\..*|Makefile|README\.md|LICENSE|nbde\.c|cmd|crypto|luks|net|hooks|test|scripts' | tr '\n' ' ')
is "$extra" "" "the top level holds only the design card's entries"

others=$(git ls-files 'cmd/*' | grep -v '/.*/' | grep -vE '^cmd/[a-z0-9_]+\.c$|^cmd/applets\.(def|h)$' | tr '\n' ' ')
is "$others" "" "cmd/ holds applet files and the applet table, nothing else"

mains=$(sed -n 's/^APPLET("[^"]*", \([a-z0-9_]*\)_main,.*/\1/p' cmd/applets.def | sort -u)
bad=
for f in $(git ls-files 'cmd/*.c' | grep -v '/.*/'); do
	name=$(basename "$f" .c)
	defs=$(grep -cE '^int [a-z0-9_]+_main\(' "$f")
	[ "$defs" -eq 1 ] && grep -qE "^int ${name}_main\(" "$f" && printf '%s\n' "$mains" | grep -qx "$name" ||
		bad="$bad $f"
done
is "$bad" "" "every cmd/*.c defines exactly one applet's main, named after the file, and the table lists it"
missing=
for m in $mains; do [ -f "cmd/$m.c" ] || missing="$missing $m"; done
is "$missing" "" "every applet in the table has its file cmd/NAME.c"

libmain=$(git grep -lE '^int [a-z0-9_]+_main\(' -- 'cmd/*/*.c' | tr '\n' ' ')
is "$libmain" "" "no applet main lives in a cmd/ subfolder (those are libraries)"

inc() { # inc DIR PATTERN : files under DIR that include PATTERN
	git grep -lE "#include [<\"]($2)" -- "$1" | tr '\n' ' '
}
# net/tls_transport.c, the one TLS transport, is the exception README names
is "$(inc 'cmd/*' 'mbedtls/|psa/')$(inc 'net/*' 'mbedtls/|psa/' | sed 's|net/tls_transport\.c ||')$(inc 'luks/*' 'mbedtls/|psa/')$(inc nbde.c 'mbedtls/|psa/')" "" \
	"only crypto/ and the TLS transport include Mbed TLS"
is "$(git grep -lE '#include [<"](mbedtls/|psa/)' -- 'net/*.h' | tr '\n' ' ')" "" \
	"the TLS transport's header hides Mbed TLS"
grep -q 'net/tls_transport\.c' README.md
ok $? "README names the TLS transport as the one Mbed TLS user outside crypto/"
is "$(git grep -lE '#include [<"]libcryptsetup' -- ':!luks/*' ':!test/*' | tr '\n' ' ')" "" \
	"only luks/ includes libcryptsetup"
is "$(inc 'crypto/*' '\.\./(cmd|net|luks)/')" "" "crypto/ includes nothing above it"
# net/ may use crypto/secret.h (wiped buffers for reply bodies), no other crypto
is "$(inc 'net/*' '\.\./(cmd|luks)/|\.\./crypto/[^s]')" "" "net/ includes nothing above it (no crypto but secret.h, no disks)"
is "$(inc 'luks/*' '\.\./(cmd|net)/')" "" "luks/ includes nothing above it"

done_testing
