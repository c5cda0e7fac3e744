#!/bin/bash
# man.sh NBDE NAME SECTION - a short manual page (roff, on stdout) for the
# name NAME that the multi-call binary NBDE answers to, made from that
# name's own -h text, so the page and the program cannot disagree. The
# one-line summary is `NAME --summary` (the clevis names have one), else the
# applet's line in `nbde -h`. No help2man: one dependency fewer.
set -euo pipefail
nbde=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") name=$2 section=$3
version=$("$nbde" --version | awk '{ print $NF; exit }')
dir=$(mktemp -d "${TMPDIR:-/tmp}/nbde-man.XXXXXX")
trap 'rm -rf "$dir"' EXIT
ln -s "$nbde" "$dir/$name"

# the applet a name runs (the clevis-encrypt-PIN names take -h as a config)
case $name in
tangd | tang) applet=tang-server ;;
clevis-encrypt*) applet=encrypt ;;
clevis-decrypt*) applet=decrypt ;;
clevis-luks-*) applet=${name#clevis-luks-} ;;
*) applet=$name ;;
esac

help=$("$dir/$name" -h 2>/dev/null) || help=$("$nbde" "$applet" -h)
[ -n "$help" ] || { echo "man.sh: $name -h printed nothing" >&2; exit 1; }
if [ "$name" = nbde ]; then
	summary=$(head -n 1 <<<"$help" | sed 's/^[^-]* - //')
else
	summary=$("$dir/$name" --summary 2>/dev/null) ||
		summary=$("$nbde" -h | awk -v a="$applet" '$1 == a { $1 = ""; sub(/^ +/, ""); print; exit }')
fi
[ -n "$summary" ] || { echo "man.sh: no summary for $name" >&2; exit 1; }

# roff: a backslash is \e, a minus is \-, a line may not begin with . or '
roff() { sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }

upper=$(tr '[:lower:]' '[:upper:]' <<<"$name")
cat <<ROFF
.TH $(roff <<<"$upper") $section "" "nbde $version" "nbde"
.SH NAME
$(roff <<<"$name") \\- $(roff <<<"$summary")
.SH DESCRIPTION
.nf
$(roff <<<"$help")
.fi
.SH SEE ALSO
.BR nbde (1)
ROFF
