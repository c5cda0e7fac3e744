/* access.h - who may recover keys (POST /rec): rules from --allow CIDR and
 * from an --allow-file, one a line:
 *
 *     # comment
 *     10.20.0.0/16                 every key
 *     192.0.2.0/24  THP THP...     only the keys with these thumbprints
 *
 * A thumbprint names a key under any of its hashes (S1 ... S512), as in a
 * /rec URL. With no rule source at all everyone may (tang's behaviour); as
 * soon as there is one, a client no rule allows may not, so an emptied
 * file shuts /rec rather than opening it.
 *
 * The file is re-read when it changes (one stat per check, as the keys) and
 * on SIGHUP; a file that no longer parses keeps the rules it had (and says
 * why). Thread-safe. */
#ifndef NBDE_TANG_ACCESS_H
#define NBDE_TANG_ACCESS_H

#include <stdbool.h>

#include "../../net/cidr.h"

struct tang_key;
struct tang_access;

struct tang_access *tang_access_new(void);
void tang_access_free(struct tang_access *a);
/* --allow; false with a message when text is not a range. */
bool tang_access_allow(struct tang_access *a, const char *cidr);
/* --allow-file: read now; false with a message when it cannot be. */
bool tang_access_set_file(struct tang_access *a, const char *path);
/* SIGHUP: the file is read again at the next check. */
void tang_access_invalidate(struct tang_access *a);

/* Before the key is known: false when no rule for addr could allow any key. */
bool tang_access_may_recover(struct tang_access *a, const struct net_addr *addr);
/* May addr recover with key k? */
bool tang_access_allows(struct tang_access *a, const struct net_addr *addr, const struct tang_key *k);
/* A denied request, logged at most once a minute per address. */
void tang_access_log_denied(struct tang_access *a, const struct net_addr *addr, const char *thp);

#endif
