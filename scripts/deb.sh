#!/bin/bash
# deb.sh ROOT VERSION OUT - turns ROOT, a `make install PREFIX=/usr
# DESTDIR=ROOT` tree, into the Debian package OUT (make deb calls it): man
# pages made from the applets' -h text (scripts/man.sh), the copyright file
# and changelog, lintian overrides and the maintainer scripts from
# hooks/debian/. No network, no debhelper: dpkg-deb only.
set -euo pipefail
root=$1 version=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
src=$here/../hooks/debian
[ -x "$root/usr/bin/nbde" ] || { echo "deb.sh: no $root/usr/bin/nbde (make install first)" >&2; exit 1; }
umask 022

# Debian wants links within /usr relative; make install writes absolute ones
# (they must work for any PREFIX and DESTDIR)
find "$root" -type l -lname '/*' | while IFS= read -r l; do
	ln -sfnr "$root$(readlink "$l")" "$l"
done

# a page for every name in /usr/bin, each from that name's own -h; tang(8)
# too, which the units name as their documentation
man1=$root/usr/share/man/man1 man8=$root/usr/share/man/man8
mkdir -p "$man1" "$man8"
for f in "$root"/usr/bin/*; do
	n=$(basename "$f")
	"$here/man.sh" "$root/usr/bin/nbde" "$n" 1 | gzip -9n >"$man1/$n.1.gz"
done
"$here/man.sh" "$root/usr/bin/nbde" tang 8 | gzip -9n >"$man8/tang.8.gz"

doc=$root/usr/share/doc/nbde
mkdir -p "$doc" "$root/usr/share/lintian/overrides"
install -m 0644 "$src/copyright" "$doc/copyright"
# a native package (no Debian revision): its changelog is changelog.gz
sed "s/@VERSION@/$version/" "$src/changelog.in" | gzip -9n >"$doc/changelog.gz"
install -m 0644 "$src/lintian-overrides" "$root/usr/share/lintian/overrides/nbde"

# modes do not depend on the umask make install ran under
chmod -R u+rwX,go=rX "$root"

rm -rf "$root/DEBIAN"
mkdir -p "$root/DEBIAN"
install -m 0755 "$src/postinst" "$src/postrm" "$root/DEBIAN/"
install -m 0644 "$src/triggers" "$root/DEBIAN/"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
	xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"
# No Depends: the binary is static and the maintainer scripts use only
# what every Debian system has (getent, groupadd/useradd, mkdir, chown).
# Recommends: the initramfs-tools hook reads the crypttab that
# cryptsetup-initramfs writes into the image (/cryptroot/crypttab), and the
# dracut module pulls in dracut's network module, from dracut-network.
size=$(du -sk --apparent-size --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@SIZE@/$size/" "$src/control.in" >"$root/DEBIAN/control"
chmod 0644 "$root/DEBIAN/control"

mkdir -p "$(dirname "$out")"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out"
