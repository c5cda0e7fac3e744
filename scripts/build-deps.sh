#!/usr/bin/env bash
# scripts/build-deps.sh - build nbde's static dependency stack from Debian
# source packages into a content-addressed prefix outside the repository.
#
# Usage: scripts/build-deps.sh [musl|glibc]
#        scripts/build-deps.sh --help
#
# Builds Mbed TLS 3.6 (trimmed config), cJSON, json-c, libuuid, libdevmapper
# and libcryptsetup (Mbed TLS backend) as static archives. All progress goes to
# stderr; the last (only) line on stdout is the prefix. On failure it exits
# non-zero with nothing on stdout. Use it from a Makefile rule, not $(shell),
# so a failing build stops make ($(shell ... | tail -1) hides a failure), e.g.:
#   deps.mk: scripts/build-deps.sh scripts/deps.list scripts/mbedtls_config.h \
#            scripts/entropy_getrandom.c scripts/mbedtls-pbkdf2.patch \
#            crypto/mbedtls_alt/*
#           p=$$(scripts/build-deps.sh musl) && echo "PREFIX := $$p" > $@
# Link flags: PKG_CONFIG_LIBDIR=$PREFIX/lib/pkgconfig PKG_CONFIG_PATH= \
#   pkg-config --static --cflags --libs libcryptsetup libcjson mbedcrypto
#
# Flavours:
#   musl   (default) CC = <prefix>/bin/musl-cc (musl-gcc + copied kernel
#          headers), -O2 -ffunction-sections -fdata-sections; for the
#          shipped, fully static binary.
#   glibc  CC = host gcc, -O1 -g -fPIC; same sources and Mbed TLS config; for
#          ASan/UBSan test builds (link the archives into a dynamic binary).
#
# Environment:
#   NBDE_FLAVOUR       flavour when no argument is given (default musl)
#   NBDE_DEPS_CACHE    cache directory (default ${XDG_CACHE_HOME:-$HOME/.cache}/nbde-deps)
#   NBDE_DEPS_SUITES   deb-src suites to add (default "trixie sid")
#   NBDE_DEPS_REFRESH  1 = resolve package versions again (apt) even if cached
#   NBDE_DEPS_KEEP_BUILD  1 = keep the build tree after success
#   JOBS               parallel make jobs (default 2)
#
# Cache layout ($NBDE_DEPS_CACHE):
#   resolved-<h>.txt          chosen versions/suites/methods + file sha256s,
#                             keyed by deps.list, the suites and the resolver
#                             version, so a cache hit needs no apt or network
#   dl/                       downloaded source files (shared by flavours)
#   prefix-<flavour>-<key>/   the install prefix; <key> hashes this script
#                             (not its comment lines), its input files, the
#                             flavour, CFLAGS, the resolved versions and the
#                             toolchain package versions.
#                             .complete marks a finished prefix; .logs/ keeps
#                             the per-step logs and timings
#   build-<flavour>-<key>/    build tree, deleted after success
#   .lock                     flock: one builder at a time
#
# The prefix must not be moved: .pc files and musl-cc hold absolute paths.
set -euo pipefail

# Bump when the resolution logic changes, so cached resolutions are redone.
readonly RESOLVER_VERSION=1
readonly SRC_LIST=/etc/apt/sources.list.d/nbde-src.sources
APT_ETC=/etc/apt
readonly TOOL_PKGS=(musl-tools musl-dev linux-libc-dev cmake make autoconf
    automake libtool pkg-config autopoint gettext dpkg-dev bc)

SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
SCRIPT_DIR=${SELF%/*}
DEPS_LIST=$SCRIPT_DIR/deps.list
MBEDTLS_CONFIG=$SCRIPT_DIR/mbedtls_config.h
ENTROPY_HOOK=$SCRIPT_DIR/entropy_getrandom.c
# nbde's SHA-256 compression (MBEDTLS_SHA256_PROCESS_ALT) and PBKDF2-HMAC,
# compiled into libmbedcrypto.a; the patch makes pkcs5.c call the latter.
MBEDTLS_ALT_DIR=$(readlink -f -- "$SCRIPT_DIR/../crypto/mbedtls_alt")
MBEDTLS_ALT_SRC=("$MBEDTLS_ALT_DIR"/sha256_compress.c "$MBEDTLS_ALT_DIR"/pbkdf2_hmac.c)
MBEDTLS_PATCH=$SCRIPT_DIR/mbedtls-pbkdf2.patch

log() { printf 'build-deps: %s\n' "$*" >&2; }
die() { printf 'build-deps: error: %s\n' "$*" >&2; exit 1; }
is_root() { [[ $EUID -eq 0 ]]; }

usage() {
    # Print the header comment (minus the shebang) as help text.
    sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//'
}

# ---------------------------------------------------------------------------
# Configuration and cache key
# ---------------------------------------------------------------------------

parse_args() {
    FLAVOUR=${NBDE_FLAVOUR:-musl}
    case ${1:-} in
        -h|--help) usage; exit 0 ;;
        musl|glibc) FLAVOUR=$1 ;;
        '') ;;
        *) usage >&2; die "unknown argument '$1'" ;;
    esac
    [[ $# -le 1 ]] || die "too many arguments"
    case $FLAVOUR in musl|glibc) ;; *) die "bad NBDE_FLAVOUR '$FLAVOUR'" ;; esac

    JOBS=${JOBS:-2}
    [[ $JOBS =~ ^[1-9][0-9]*$ ]] || die "JOBS must be a positive integer"
    SUITES=${NBDE_DEPS_SUITES:-trixie sid}
    if [[ $FLAVOUR == musl ]]; then
        DEP_CFLAGS="-O2 -ffunction-sections -fdata-sections"
    else
        DEP_CFLAGS="-O1 -g -fPIC -ffunction-sections -fdata-sections"
    fi
}

setup_paths() {
    CACHE=${NBDE_DEPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nbde-deps}
    [[ $CACHE == /* ]] || CACHE=$PWD/$CACHE
    # Makefiles, pkg-config and libtool all break on blanks in paths; a
    # trailing blank from a commented Makefile assignment once created such a
    # directory, so refuse instead of half-working.
    [[ ! $CACHE =~ [[:space:]] ]] || die "cache path contains whitespace: '$CACHE'"
    DL=$CACHE/dl
    local h
    h=$( { echo "resolver=$RESOLVER_VERSION"; echo "suites=$SUITES"; cat "$DEPS_LIST"; } | sha256sum)
    RESOLVED=$CACHE/resolved-${h:0:16}.txt
}

# Versions of the packages whose contents end up in (or shape) the archives.
toolchain_id() {
    local gccv
    gccv=$(gcc -dumpversion 2>/dev/null || echo none)
    dpkg-query -W -f='${Package} ${Version}\n' musl-dev linux-libc-dev \
        libc6-dev binutils "gcc-${gccv%%.*}" 2>/dev/null || true
    echo "gcc $gccv"
}

compute_key() {
    local h
    h=$( { echo "flavour=$FLAVOUR"; echo "cflags=$DEP_CFLAGS"
           # comment lines do not change the build, so they do not change the key
           grep -vE '^[[:space:]]*#( |$)' "$SELF"
           cat "$DEPS_LIST" "$MBEDTLS_CONFIG" "$ENTROPY_HOOK" "$RESOLVED" \
               "$MBEDTLS_PATCH" "${MBEDTLS_ALT_SRC[@]}" "$MBEDTLS_ALT_DIR/sha256_compress.h"
           toolchain_id; } | sha256sum)
    KEY=${h:0:16}
    PREFIX=$CACHE/prefix-$FLAVOUR-$KEY
    BUILD=$CACHE/build-$FLAVOUR-$KEY
    LOGS=$PREFIX/.logs
}

take_lock() {
    mkdir -p "$CACHE"
    exec 9>>"$CACHE/.lock"
    if ! flock -n 9; then
        log "waiting for another build-deps.sh holding $CACHE/.lock"
        flock 9
    fi
}

# ---------------------------------------------------------------------------
# Build tools
# ---------------------------------------------------------------------------

ensure_tools() {
    local missing
    missing=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${TOOL_PKGS[@]}" 2>&1 |
              awk '$1 != "ii" {print $NF}' | tr '\n' ' ') || true
    # dpkg-query prints "no packages found matching X" for unknown packages.
    missing=${missing% }
    [[ -n $missing ]] || return 0
    if ! is_root; then
        log "missing build tools: $missing"
        log "run as root:  apt-get install --no-install-recommends ${TOOL_PKGS[*]}"
        exit 1
    fi
    log "installing build tools: $missing"
    # Another apt/dpkg may hold the lock: wait for it, never kill it.
    if ! apt_root install -y --no-install-recommends "${TOOL_PKGS[@]}" >&2; then
        apt_root update >&2
        apt_root install -y --no-install-recommends "${TOOL_PKGS[@]}" >&2
    fi
}

apt_root() {
    DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 "$@" </dev/null
}

# ---------------------------------------------------------------------------
# deb-src entries, derived from the host's own Debian archive entry
# ---------------------------------------------------------------------------

# The host's Debian archive URI: the index whose Release file says
# Origin Debian, Label Debian and Codename = the host codename (this excludes
# debian-security and third-party repositories using the same suite name).
# $1 = host codename.
debian_archive_uri() {
    apt-cache policy 2>/dev/null | awk -v n="$1" '
        $1 ~ /^[0-9-]+$/ && NF >= 3 { uri = $2; next }
        $1 == "release" && $2 ~ /(^|,)o=Debian(,|$)/ && $2 ~ /(^|,)l=Debian(,|$)/ &&
            $2 ~ ("(^|,)n=" n "(,|$)") { print uri; exit }'
}

# Print the Signed-By field (possibly multi-line) of the sources entry that
# provides $1 for suite $2; prints nothing if the entry has none.
archive_signed_by() {
    local uri=$1 suite=$2 f
    for f in "$APT_ETC"/sources.list.d/*.sources; do
        [[ -f $f && $f != "$SRC_LIST" ]] || continue
        awk -v uri="$uri" -v suite="$suite" '
            function norm(u) { sub(/\/+$/, "", u); return u }
            function has(list, want,   n, i, w) {
                n = split(list, w, /[ \t]+/)
                for (i = 1; i <= n; i++) if (norm(w[i]) == norm(want)) return 1
                return 0
            }
            function flush() {
                if (has(types, "deb") && has(uris, uri) && has(suites, suite) &&
                    tolower(enabled) != "no") { printf "%s", sb; found = 1; exit }
                types = uris = suites = enabled = sb = field = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            /^[ \t]/ { if (field == "signed-by") sb = sb $0 "\n"; next }
            {
                i = index($0, ":"); field = tolower(substr($0, 1, i - 1))
                val = substr($0, i + 1); gsub(/^[ \t]+|[ \t]+$/, "", val)
                if (field == "types") types = val
                else if (field == "uris") uris = val
                else if (field == "suites") suites = val
                else if (field == "enabled") enabled = val
                else if (field == "signed-by")
                    sb = "Signed-By:" (val == "" ? "" : " " val) "\n"
            }
            END { if (!found) flush(); exit !found }' "$f" && return 0
    done
    for f in "$APT_ETC"/sources.list "$APT_ETC"/sources.list.d/*.list; do
        [[ -f $f ]] || continue
        awk -v uri="$uri" -v suite="$suite" '
            function norm(u) { sub(/\/+$/, "", u); return u }
            /^[ \t]*deb[ \t]/ {
                line = $0; opts = ""
                if (match(line, /\[[^]]*\]/)) {
                    opts = substr(line, RSTART + 1, RLENGTH - 2)
                    line = substr(line, 1, RSTART - 1) substr(line, RSTART + RLENGTH)
                }
                n = split(line, w, /[ \t]+/); k = (w[1] == "") ? 2 : 1
                if (norm(w[k + 1]) != norm(uri) || w[k + 2] != suite) next
                if (match(opts, /signed-by=[^ \t]+/))
                    print "Signed-By: " substr(opts, RSTART + 10, RLENGTH - 10)
                found = 1; exit
            }
            END { exit !found }' "$f" && return 0
    done
    return 0
}

src_sources_text() {
    local uri
    # shellcheck disable=SC1091
    HOST_CODENAME=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [[ -n $HOST_CODENAME ]] || die "cannot read VERSION_CODENAME from /etc/os-release"
    uri=$(debian_archive_uri "$HOST_CODENAME")
    if [[ -z $uri ]] && is_root; then
        # A fresh machine may have no package lists at all yet.
        apt_root update >&2 || true
        uri=$(debian_archive_uri "$HOST_CODENAME")
    fi
    [[ -n $uri ]] || die "no Debian archive for '$HOST_CODENAME' in apt's configuration (run apt-get update?)"
    echo "# Written by nbde scripts/build-deps.sh: Debian source indexes used to"
    echo "# build the static dependency stack. Derived from the host's entry for"
    echo "# $HOST_CODENAME; only deb-src, so binary installs are unaffected."
    echo "Types: deb-src"
    echo "URIs: $uri"
    echo "Suites: $SUITES"
    echo "Components: main"
    archive_signed_by "$uri" "$HOST_CODENAME"
}

# Suites whose Sources index apt has downloaded.
suites_with_lists() {
    # shellcheck disable=SC2016 # $(...) are apt's placeholders
    apt-get indextargets --format '$(RELEASE) $(FILENAME)' 'Created-By: Sources' 2>/dev/null |
        while read -r rel file; do
            compgen -G "$file*" >/dev/null && echo "$rel"
        done | sort -u
}

lists_complete() {
    local have s
    have=$(suites_with_lists)
    for s in $SUITES; do
        grep -qx -- "$s" <<<"$have" || return 1
    done
}

# Make sure apt has fresh Sources indexes for $SUITES. Only called when
# versions are (re)resolved, never on a cache hit.
ensure_src_sources() {
    local want
    want=$(src_sources_text)
    if ! is_root; then
        if [[ -f $SRC_LIST && "$(<"$SRC_LIST")" == "$want" ]] && lists_complete; then
            log "not root: using the existing Sources indexes (cannot apt-get update)"
            return 0
        fi
        log "deb-src entries for '$SUITES' are missing. As root, create $SRC_LIST with:"
        printf '%s\n' "$want" | sed 's/^/    /' >&2
        log "and then run:  apt-get update"
        exit 1
    fi
    if [[ ! -f $SRC_LIST || "$(<"$SRC_LIST")" != "$want" ]]; then
        log "writing $SRC_LIST (deb-src: $SUITES)"
        printf '%s\n' "$want" >"$SRC_LIST"
    fi
    # Update only our entries: keep the host's other lists (List-Cleanup=0)
    # and their freshness untouched.
    log "apt-get update for $SRC_LIST"
    apt_root update -o Dir::Etc::SourceList="$SRC_LIST" \
        -o Dir::Etc::SourceParts=/dev/null -o APT::Get::List-Cleanup=0 >&2 ||
        die "apt-get update failed"
    lists_complete || die "apt has no Sources index for some of: $SUITES"
}

# ---------------------------------------------------------------------------
# Version resolution and download
# ---------------------------------------------------------------------------

apt_src() {
    local extra=()
    # As root apt drops to _apt for downloads, which cannot enter ~/.cache.
    is_root && extra=(-o APT::Sandbox::User=root)
    apt-get "${extra[@]}" "$@" </dev/null
}

# "version suite" pairs apt knows for source package $1, newest first.
source_versions() {
    apt-cache madison "$1" 2>/dev/null | awk -F' [|] ' '
        $3 ~ / Sources$/ { split($3, a, " "); split(a[2], s, "/")
                           gsub(/^ +| +$/, "", $2); print $2, s[1] }'
}

sha256_of() { local h; h=$(sha256sum "$1"); echo "${h%% *}"; }

# Check file $1 against an apt hash spec "SHA256:hex" (or SHA512/SHA1/MD5).
hash_ok() {
    local file=$1 spec=$2 algo sum
    [[ -f $file ]] || return 1
    algo=${spec%%:*}
    case $algo in
        SHA256) sum=$(sha256sum "$file") ;;
        SHA512) sum=$(sha512sum "$file") ;;
        SHA1) sum=$(sha1sum "$file") ;;
        MD5Sum) sum=$(md5sum "$file") ;;
        *) return 1 ;;
    esac
    [[ ${sum%% *} == "${spec#*:}" ]]
}

# sha256 of file $2 as listed in the Checksums-Sha256 field of .dsc $1.
dsc_sha256() {
    awk -v name="$2" '
        /^Checksums-Sha256:/ { in_f = 1; next }
        /^[^ \t]/ { in_f = 0 }
        in_f && $3 == name { print $1; exit }' "$1"
}

# Try to get source package $1 version $2 into $DL. Appends the resolution
# to $RESOLVED.tmp and returns 0, or returns 1 if this candidate is unusable.
fetch_candidate() {
    local pkg=$1 ver=$2 suite=$3 method=$4 fallback=$5
    local -a names=() uris=() hashes=()
    local uri name _size hash i dsc="" have_debian=0 ok

    while read -r uri name _size hash; do
        [[ $uri == \'*\' ]] || continue
        uris+=("${uri//\'/}"); names+=("$name"); hashes+=("$hash")
        [[ $name == *.dsc ]] && dsc=$name
        [[ $name == *.debian.tar.* || $name == *.diff.gz ]] && have_debian=1
    # Run from an empty directory: apt omits files already present in $PWD.
    done < <(cd "$CACHE/empty" && apt_src source --print-uris -qq "$pkg=$ver" 2>/dev/null)
    [[ -n $dsc ]] || { log "  $pkg $ver: apt lists no .dsc"; return 1; }

    # Step 1: apt-get source --download-only verifies every file against the
    # signed Sources index; files already in $DL with a good hash are kept.
    ok=1
    for i in "${!names[@]}"; do hash_ok "$DL/${names[i]}" "${hashes[i]}" || ok=0; done
    if [[ $ok == 0 ]]; then
        log "  $pkg $ver ($suite): apt-get source --download-only"
        (cd "$DL" && apt_src source --download-only -q "$pkg=$ver" >&2) || true
    fi

    # Step 2: apt-get fails as a whole when one file is missing (HTTP 404).
    # Fetch the .dsc and orig tarball(s) one by one with apt's own downloader,
    # which checks each against the hash from the signed index.
    for i in "${!names[@]}"; do
        name=${names[i]}
        hash_ok "$DL/$name" "${hashes[i]}" && continue
        [[ $name == *.dsc || $name == *.orig.tar.* || $name == *.orig-*.tar.* ]] || continue
        [[ $name == *.asc ]] && continue
        log "  $pkg $ver: fetching $name alone"
        rm -f "$DL/$name"
        /usr/lib/apt/apt-helper "${APT_HELPER_OPTS[@]}" download-file \
            "${uris[i]}" "$DL/$name" "${hashes[i]}" </dev/null >&2 || true
    done

    # Decide the method from what actually arrived.
    local -a need=()
    local debian_ok=1
    for i in "${!names[@]}"; do
        name=${names[i]}
        [[ $name == *.asc ]] && continue
        if ! hash_ok "$DL/$name" "${hashes[i]}"; then
            case $name in
                *.debian.tar.*|*.diff.gz) debian_ok=0 ;;
                *) log "  $pkg $ver: $name unavailable"; return 1 ;;
            esac
        fi
    done
    [[ $have_debian == 1 ]] || debian_ok=0
    if [[ $method == debian && $debian_ok == 0 ]]; then
        if [[ $fallback != orig ]]; then
            log "  $pkg $ver: Debian part unavailable and no orig fallback allowed"
            return 1
        fi
        log "  $pkg $ver: WARNING: Debian part unavailable, using orig tarball alone"
        method=orig
    fi

    # Step 3: record the files the chosen method uses, with their sha256. For
    # orig-only builds also check the tarballs against the .dsc, whose own
    # hash apt verified against the signed index.
    for i in "${!names[@]}"; do
        name=${names[i]}
        [[ $name == *.asc ]] && continue
        if [[ $method == orig ]]; then
            case $name in *.dsc|*.orig.tar.*|*.orig-*.tar.*) ;; *) continue ;; esac
            if [[ $name != *.dsc && "$(dsc_sha256 "$DL/$dsc" "$name")" != "$(sha256_of "$DL/$name")" ]]; then
                log "  $pkg $ver: $name does not match the sha256 in $dsc"
                return 1
            fi
        fi
        need+=("file $pkg $name $(sha256_of "$DL/$name")")
    done
    echo "pkg $pkg $ver $suite $method" >>"$RESOLVED.tmp"
    printf '%s\n' "${need[@]}" >>"$RESOLVED.tmp"
}

# Pick a version of package $1: the preferred suites first (in order), then
# any other version apt offers that matches the pattern, newest first.
resolve_pkg() {
    local pkg=$1 pattern=$2 suites=$3 method=$4 fallback=$5
    local -a cands=()
    local avail s v vs seen=" "
    avail=$(source_versions "$pkg")
    # shellcheck disable=SC2053 # $pattern is a glob on purpose
    for s in ${suites//,/ }; do
        while read -r v vs; do
            [[ -n $v && $vs == "$s" && $v == $pattern && $seen != *" $v "* ]] || continue
            cands+=("$v $vs"); seen+="$v "
        done <<<"$avail"
    done
    # shellcheck disable=SC2053
    while read -r v vs; do
        [[ -n $v && $v == $pattern && $seen != *" $v "* ]] || continue
        cands+=("$v $vs"); seen+="$v "
    done < <(sort -k1,1rV <<<"$avail")

    for vs in "${cands[@]}"; do
        # shellcheck disable=SC2086
        fetch_candidate "$pkg" $vs "$method" "$fallback" && return 0
    done
    log "no usable version of $pkg matching '$pattern'. apt offers:"
    printf '    %s\n' "${avail:-(nothing)}" | sed '2,$s/^/    /' >&2
    log "adjust scripts/deps.list (pattern/suites) or NBDE_DEPS_SUITES"
    return 1
}

read_deps_list() {
    DEPS=()
    local line
    while IFS= read -r line; do
        line=${line%%#*}
        [[ $line =~ [^[:space:]] ]] && DEPS+=("$line")
    done <"$DEPS_LIST"
}

resolve_sources() {
    ensure_src_sources
    # Leftovers of an interrupted resolution (we hold the lock).
    rm -rf "$CACHE/empty" "$CACHE"/resolved-*.txt.tmp
    mkdir -p "$DL" "$CACHE/empty"
    APT_HELPER_OPTS=()
    is_root && APT_HELPER_OPTS=(-o APT::Sandbox::User=root)
    log "resolving source versions (suites: $SUITES)"
    {
        # No timestamp: this file is part of the prefix key, and resolving
        # again to the same versions must not force a rebuild.
        echo "# nbde build-deps resolution (scripts/deps.list)"
        echo "# pkg <name> <version> <suite> <method> / file <pkg> <name> <sha256>"
    } >"$RESOLVED.tmp"
    local d
    for d in "${DEPS[@]}"; do
        # shellcheck disable=SC2086
        resolve_pkg $d || die "cannot resolve $(awk '{print $1}' <<<"$d")"
    done
    mv "$RESOLVED.tmp" "$RESOLVED"
}

# True if every file the resolution names is in $DL with its sha256.
downloads_ok() {
    local kind pkg name sum
    while read -r kind pkg name sum; do
        [[ $kind == file ]] || continue
        [[ -f $DL/$name && "$(sha256_of "$DL/$name")" == "$sum" ]] || {
            log "download cache: $name missing or changed"; return 1; }
    done <"$RESOLVED"
}

print_resolution() {
    log "sources (from $RESOLVED):"
    awk '$1 == "pkg" { printf "build-deps:   %-11s %-22s suite %-7s method %s\n", $2, $3, $4, $5 }' \
        "$RESOLVED" >&2
}

# Fields of package $1 in the resolution: version suite method.
resolved_pkg() { awk -v p="$1" '$1 == "pkg" && $2 == p { print $3, $4, $5 }' "$RESOLVED"; }
resolved_files() { awk -v p="$1" '$1 == "file" && $2 == p { print $3 }' "$RESOLVED"; }

# ---------------------------------------------------------------------------
# Build steps
# ---------------------------------------------------------------------------

# Unpack package $1 into $BUILD/src/$1 (fresh) and print that directory.
extract_pkg() {
    local pkg=$1 ver suite method dir=$BUILD/src/$1 f comp
    read -r ver suite method <<<"$(resolved_pkg "$pkg")"
    [[ -n $method ]] || die "$pkg is missing from $RESOLVED"
    rm -rf "$dir"
    mkdir -p "$BUILD/src"
    if [[ $method == debian ]]; then
        # dpkg-source checks every file against the .dsc and applies the
        # Debian patch series.
        dpkg-source -x "$DL/$(resolved_files "$pkg" | grep '\.dsc$')" "$dir" >&2
    else
        mkdir -p "$dir"
        for f in $(resolved_files "$pkg"); do
            case $f in
                *.orig.tar.*) tar -xf "$DL/$f" -C "$dir" --strip-components=1 ;;
                *.orig-*.tar.*)
                    comp=${f##*.orig-}; comp=${comp%%.tar.*}
                    mkdir -p "$dir/$comp"
                    tar -xf "$DL/$f" -C "$dir/$comp" --strip-components=1 ;;
            esac
        done
    fi
    echo "$dir"
}

step_toolchain() {
    mkdir -p "$PREFIX/bin" "$PREFIX/include" "$PREFIX/lib/pkgconfig"
    [[ $FLAVOUR == musl ]] || return 0
    # Debian's musl-gcc.specs uses -nostdinc, hiding /usr/include/linux.
    # Copy (not symlink) the kernel UAPI headers so the prefix does not change
    # under a later linux-libc-dev upgrade (its version is in the key anyway).
    local multiarch k=$PREFIX/kheaders
    multiarch=$(gcc -print-multiarch)
    rm -rf "$k"; mkdir -p "$k"
    cp -a /usr/include/linux /usr/include/asm-generic "$k/"
    cp -a "/usr/include/$multiarch/asm" "$k/asm"
    local musl_gcc
    musl_gcc=$(command -v musl-gcc) || die "musl-gcc not found"
    printf '#!/bin/sh\n# musl-gcc plus the kernel headers copied by nbde build-deps.sh\nexec %q -isystem %q "$@"\n' \
        "$musl_gcc" "$k" >"$PREFIX/bin/musl-cc"
    chmod 755 "$PREFIX/bin/musl-cc"
}

cmake_build() {
    local src=$1; shift
    cmake -S "$src" -B "$src/_build" \
        -DCMAKE_BUILD_TYPE=None \
        -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$CFLAGS" \
        -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_INSTALL_LIBDIR=lib \
        -DCMAKE_INSTALL_INCLUDEDIR=include "$@"
    cmake --build "$src/_build" -j "$JOBS"
    cmake --install "$src/_build"
}

step_mbedtls() {
    local src
    src=$(extract_pkg mbedtls)
    # Install the trimmed config where every consumer finds it: passed only
    # as -DMBEDTLS_CONFIG_FILE to this build, libcryptsetup and nbde would
    # compile against other struct layouts.
    cp "$MBEDTLS_CONFIG" "$src/include/mbedtls/mbedtls_config.h"
    # --fuzz=0: a changed pkcs5.c stops the build instead of patching blindly.
    patch -d "$src" -p1 --forward --fuzz=0 <"$MBEDTLS_PATCH"
    # BUILD_TYPE=None: the Release type would force -O2 over our CFLAGS.
    cmake_build "$src" -DUSE_STATIC_MBEDTLS_LIBRARY=ON \
        -DUSE_SHARED_MBEDTLS_LIBRARY=OFF -DENABLE_PROGRAMS=OFF \
        -DENABLE_TESTING=OFF -DMBEDTLS_FATAL_WARNINGS=OFF -DGEN_FILES=OFF
    cmp "$MBEDTLS_CONFIG" "$PREFIX/include/mbedtls/mbedtls_config.h"
    # The getrandom entropy source becomes part of libmbedcrypto.a, so no
    # consumer can forget it (on musl Mbed TLS would read /dev/urandom).
    # shellcheck disable=SC2086 # CFLAGS is a word list
    $CC $CFLAGS -I"$PREFIX/include" -c "$ENTROPY_HOOK" -o "$src/nbde_entropy_getrandom.o"
    ar rcs "$PREFIX/lib/libmbedcrypto.a" "$src/nbde_entropy_getrandom.o"
    # Likewise the SHA-256 compression every SHA-256 user in the library
    # calls, and the PBKDF2 the patched pkcs5.c calls.
    local f o
    for f in "${MBEDTLS_ALT_SRC[@]}"; do
        o=$src/nbde_$(basename "$f" .c).o
        # shellcheck disable=SC2086 # CFLAGS is a word list
        $CC $CFLAGS -I"$PREFIX/include" -c "$f" -o "$o"
        ar rcs "$PREFIX/lib/libmbedcrypto.a" "$o"
    done
}

step_cjson() {
    local src
    src=$(extract_pkg cjson)
    cmake_build "$src" -DBUILD_SHARED_LIBS=OFF -DENABLE_CJSON_TEST=OFF \
        -DENABLE_CJSON_UTILS=OFF -DENABLE_CJSON_UNINSTALL=OFF \
        -DENABLE_CUSTOM_COMPILER_FLAGS=OFF
}

step_json_c() {
    local src
    src=$(extract_pkg json-c)
    cmake_build "$src" -DBUILD_SHARED_LIBS=OFF -DBUILD_STATIC_LIBS=ON \
        -DBUILD_APPS=OFF -DBUILD_TESTING=OFF -DDISABLE_EXTRA_LIBS=ON \
        -DDISABLE_WERROR=ON
}

step_util_linux() {
    local src host=()
    src=$(extract_pkg util-linux)
    [[ $FLAVOUR == musl ]] && host=(--host=x86_64-linux-musl --build=x86_64-linux-gnu)
    mkdir -p "$src/_build"
    # Only libuuid: the pristine orig tarball, because Debian's patches touch
    # Makefile.am and would re-run a newer automake than bookworm's.
    (cd "$src/_build" && ../configure --prefix="$PREFIX" --libdir="$PREFIX/lib" \
        "${host[@]}" --disable-shared --enable-static --disable-all-programs \
        --enable-libuuid --disable-libblkid --disable-nls --disable-asciidoc \
        --disable-poman --disable-bash-completion --without-udev \
        --without-systemd --without-python --without-selinux --without-audit \
        --without-readline --without-ncursesw --without-tinfo \
        --without-libmagic --without-econf --without-btrfs)
    make -C "$src/_build" -j "$JOBS" libuuid.la
    make -C "$src/_build" install-usrlib_execLTLIBRARIES install-uuidincHEADERS \
        install-pkgconfigDATA
}

step_lvm2() {
    local src
    src=$(extract_pkg lvm2)
    # Only libdm: the rest of lvm2 wants libaio and is not needed.
    (cd "$src" && ./configure --prefix="$PREFIX" --libdir="$PREFIX/lib" \
        --with-usrlibdir="$PREFIX/lib" --includedir="$PREFIX/include" \
        --enable-static_link --disable-shared --enable-pkgconfig \
        --disable-udev_sync --disable-udev_rules --without-udev \
        --disable-selinux --disable-readline --disable-blkid_wiping \
        --without-blkid --without-systemd --disable-systemd-journal \
        --disable-app-machineid --disable-sd-notify --disable-nvme-wwid \
        --without-libnvme --disable-nls)
    make -C "$src/libdm" -j "$JOBS" device-mapper
    make -C "$src/libdm" install_static install_include install_pkgconfig
}

step_cryptsetup() {
    local src
    src=$(extract_pkg cryptsetup)
    # The orig tarball is a git export without configure.
    (cd "$src" && ./autogen.sh)
    mkdir -p "$src/_build"
    # configure requires popt unconditionally although only the CLI tools use
    # it; pre-seed the check instead.
    (cd "$src/_build" && ../configure --prefix="$PREFIX" --libdir="$PREFIX/lib" \
        --disable-shared --enable-static --with-crypto_backend=mbedtls \
        --enable-internal-argon2 --enable-internal-sse-argon2 \
        --disable-cryptsetup --disable-veritysetup --disable-integritysetup \
        --disable-ssh-token --disable-external-tokens --disable-asciidoc \
        --disable-nls --disable-udev --disable-selinux --disable-hw-opal \
        --disable-blkid ac_cv_lib_popt_poptConfigFileToString=yes)
    # Without OID_C etc. this link test fails silently (pkcs5.o has undefined
    # mbedtls_oid_*) and the deprecated PBKDF2 API gets used.
    grep -qx '#define HAVE_MBEDTLS_PKCS5_PBKDF2_HMAC_EXT 1' "$src/_build/config.h" ||
        die "cryptsetup did not detect mbedtls_pkcs5_pbkdf2_hmac_ext (see config.log)"
    make -C "$src/_build" -j "$JOBS" libcryptsetup.la
    make -C "$src/_build" install-libLTLIBRARIES install-includeHEADERS \
        install-pkgconfigDATA
}

step_finish() {
    rm -f "$PREFIX"/lib/*.la
    local lib pc
    for lib in mbedcrypto cjson json-c uuid devmapper cryptsetup; do
        [[ -f $PREFIX/lib/lib$lib.a ]] || die "missing $PREFIX/lib/lib$lib.a"
    done
    for pc in mbedcrypto libcjson json-c uuid devmapper libcryptsetup; do
        [[ -f $PREFIX/lib/pkgconfig/$pc.pc ]] || die "missing $pc.pc"
    done
    pkg-config --static --cflags --libs libcryptsetup libcjson mbedcrypto
    {
        echo "flavour $FLAVOUR"
        echo "cc $CC"
        echo "cflags $CFLAGS"
        grep -v '^#' "$RESOLVED"
        toolchain_id | sed 's/^/tool /'
    } >"$PREFIX/BUILDINFO"
}

# Run step $1 (function step_$1) once, logging to $LOGS/$1.log.
run_step() {
    local name=$1 t0 rc
    [[ -e $BUILD/.done-$name ]] && { log "step $name: already done"; return 0; }
    log "step $name ..."
    t0=$EPOCHREALTIME
    # errexit is ignored inside a function called from a conditional, so run
    # the step in a subshell that re-enables it and collect the status.
    set +e
    ( set -e; "step_${name//-/_}" ) >"$LOGS/$name.log" 2>&1
    rc=$?
    set -e
    if [[ $rc != 0 ]]; then
        log "step $name FAILED (exit $rc); last lines of $LOGS/$name.log:"
        tail -n 25 "$LOGS/$name.log" | sed 's/^/    /' >&2
        exit 1
    fi
    printf '%-12s %6.1f s\n' "$name" "$(bc <<<"$EPOCHREALTIME - $t0")" >>"$LOGS/timings"
    log "step $name done ($(tail -n 1 "$LOGS/timings" | awk '{print $2}') s)"
    touch "$BUILD/.done-$name"
}

setup_build_env() {
    if [[ $FLAVOUR == musl ]]; then
        CC=$PREFIX/bin/musl-cc
    else
        CC=$(command -v gcc)
    fi
    CFLAGS=$DEP_CFLAGS
    # Keep the caller's environment out of the build: host .pc files (they
    # would add glibc libraries), a parent make's jobserver flags, stray
    # compiler flags.
    unset MAKEFLAGS MFLAGS MAKELEVEL CPATH C_INCLUDE_PATH LIBRARY_PATH \
        PKG_CONFIG_SYSROOT_DIR CXXFLAGS LDLIBS
    export CC CFLAGS
    export CPPFLAGS="-I$PREFIX/include" LDFLAGS="-L$PREFIX/lib"
    export PKG_CONFIG_LIBDIR=$PREFIX/lib/pkgconfig PKG_CONFIG_PATH=
    export LC_ALL=C
}

# Remove unfinished prefixes and build trees of earlier keys (we hold the
# lock, so nobody is using them). Finished prefixes stay for other checkouts.
clean_stale() {
    local d
    for d in "$CACHE"/prefix-"$FLAVOUR"-* "$CACHE"/build-"$FLAVOUR"-*; do
        [[ -d $d && $d != "$PREFIX" && $d != "$BUILD" ]] || continue
        [[ $d == */prefix-* && -e $d/.complete ]] && continue
        log "removing stale $d"
        rm -rf "$d"
    done
}

build_all() {
    log "building $FLAVOUR prefix $PREFIX"
    print_resolution
    clean_stale
    mkdir -p "$PREFIX" "$BUILD" "$LOGS"
    setup_build_env
    local t0=$EPOCHREALTIME d
    run_step toolchain
    for d in "${DEPS[@]}"; do
        run_step "${d%%[[:space:]]*}"
    done
    run_step finish
    printf '%-12s %6.1f s\n' total "$(bc <<<"$EPOCHREALTIME - $t0")" >>"$LOGS/timings"
    touch "$PREFIX/.complete"
    [[ -n ${NBDE_DEPS_KEEP_BUILD:-} ]] || rm -rf "$BUILD"
    log "done: $PREFIX"
    log "link flags: $(PKG_CONFIG_LIBDIR=$PREFIX/lib/pkgconfig pkg-config --static --libs libcryptsetup libcjson mbedcrypto)"
}

main() {
    parse_args "$@"
    setup_paths
    # Fast path: no lock, no apt, no network.
    if [[ -z ${NBDE_DEPS_REFRESH:-} && -s $RESOLVED ]]; then
        compute_key
        if [[ -e $PREFIX/.complete ]]; then
            log "up to date: $PREFIX"
            echo "$PREFIX"
            return 0
        fi
    fi
    take_lock
    read_deps_list
    ensure_tools
    if [[ -n ${NBDE_DEPS_REFRESH:-} || ! -s $RESOLVED ]]; then
        resolve_sources
    elif ! downloads_ok; then
        log "re-resolving because the download cache is incomplete"
        resolve_sources
    fi
    compute_key
    if [[ ! -e $PREFIX/.complete ]]; then
        build_all
    else
        log "up to date: $PREFIX"
    fi
    echo "$PREFIX"
}

# Allow "source scripts/build-deps.sh" for testing single functions.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    main "$@"
fi
