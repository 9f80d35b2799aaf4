/*
 * value: parsers for the scalar values of licensed.conf and the policy.
 *
 * Pure functions over strings: no I/O and no messages.  Each returns 0 and
 * writes its ret_ argument, or a negative errno and leaves it alone; the
 * caller knows the key and line and writes the message.
 */
#ifndef LICENSED_VALUE_H
#define LICENSED_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest duration accepted: 10 years, in seconds. */
#define VALUE_DURATION_MAX (10ULL * 365 * 24 * 3600)

/* Items in one comma/space separated list value. */
#define VALUE_LIST_MAX 1000

/*
 * "90s", "15m", "24h", "7d", or a bare number of seconds.  -EINVAL for
 * anything else, -ERANGE above VALUE_DURATION_MAX.
 */
int value_duration(const char *s, uint64_t *ret_sec);

/* yes/no, true/false, on/off, 1/0, any case.  -EINVAL otherwise. */
int value_bool(const char *s, bool *ret);

/* A decimal integer in [min, max].  -EINVAL or -ERANGE. */
int value_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

/*
 * Split a list separated by commas and/or whitespace into newly allocated
 * strings.  Empty items (",,", a leading ',') are -EINVAL, a trailing ','
 * is accepted; more than VALUE_LIST_MAX items
 * -E2BIG.  On success the caller owns *ret_items (free with
 * value_list_free); an empty string gives zero items.
 */
int value_list(const char *s, char ***ret_items, size_t *ret_n);
void value_list_free(char **items, size_t n);

/*
 * Check a base URL: "https://host[:port][/path]" with no user info, query
 * or fragment.  With allow_local_http, "http://" is also accepted for the
 * hosts 127.0.0.1, localhost and 169.254.169.254 (the Azure instance
 * metadata service).  Returns 0, or -EINVAL with *ret_why set to a static
 * explanation.
 */
int value_url(const char *s, bool allow_local_http, const char **ret_why);

/* A proxy URL: http, https, socks4, socks5 or socks5h scheme and a host. */
int value_proxy(const char *s, const char **ret_why);

/* A tenant: a GUID or a DNS domain name ("contoso.onmicrosoft.com"). */
bool value_is_tenant(const char *s);

/*
 * The candidate closest to word by edit distance (case ignored), when it
 * is at most 2 edits away; else NULL.  For "did you mean" hints.
 */
const char *value_closest(const char *word, const char *const *candidates,
			  size_t n);

/* Format seconds exactly: "90s", "15m", "24h", "36h", "7d" (days from 7d). */
void value_format_duration(uint64_t sec, char *buf, size_t size);

#endif
