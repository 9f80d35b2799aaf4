/*
 * value: scalar parsers.  See value.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/value.h"
#include "policy/guid.h"

int value_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int value_duration(const char *s, uint64_t *ret_sec)
{
	static const struct {
		char suffix;
		uint64_t mult;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	char num[32];
	size_t len = strlen(s);
	uint64_t mult = 1, v;
	int r;

	if (len == 0 || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, len + 1);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (num[len - 1] == units[i].suffix) {
			mult = units[i].mult;
			num[--len] = '\0';
			break;
		}
	r = value_uint(num, 0, VALUE_DURATION_MAX, &v);
	if (r < 0)
		return r;
	if (v > VALUE_DURATION_MAX / mult)
		return -ERANGE;
	*ret_sec = v * mult;
	return 0;
}

void value_format_duration(uint64_t sec, char *buf, size_t size)
{
	if (sec >= 7 * 86400 && sec % 86400 == 0)
		(void)snprintf(buf, size, "%llud",
			       (unsigned long long)(sec / 86400));
	else if (sec != 0 && sec % 3600 == 0)
		(void)snprintf(buf, size, "%lluh",
			       (unsigned long long)(sec / 3600));
	else if (sec != 0 && sec % 60 == 0)
		(void)snprintf(buf, size, "%llum",
			       (unsigned long long)(sec / 60));
	else
		(void)snprintf(buf, size, "%llus", (unsigned long long)sec);
}

int value_bool(const char *s, bool *ret)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

void value_list_free(char **items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	free(items);
}

static bool is_list_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Length of the item at s, and where the next one starts (*ret_next). */
static size_t list_item(const char *s, const char **ret_next)
{
	size_t len = 0;
	const char *p;

	while (s[len] && s[len] != ',' && !is_list_space(s[len]))
		len++;
	p = s + len;
	while (is_list_space(*p))
		p++;
	*ret_next = p;
	return len;
}

int value_list(const char *s, char ***ret_items, size_t *ret_n)
{
	char **items = NULL;
	size_t n = 0;
	int r = 0;

	while (is_list_space(*s))
		s++;
	while (*s) {
		const char *next;
		size_t len = list_item(s, &next);
		char **v;

		if (len == 0 || n >= VALUE_LIST_MAX) {
			r = len == 0 ? -EINVAL : -E2BIG;
			goto out;
		}
		v = realloc(items, (n + 1) * sizeof(*items));
		if (!v) {
			r = -ENOMEM;
			goto out;
		}
		items = v;
		items[n] = strndup(s, len);
		if (!items[n]) {
			r = -ENOMEM;
			goto out;
		}
		n++;
		s = next;
		if (*s == ',') { /* a trailing comma is fine: a list may
				    continue on the next line */
			s++;
			while (is_list_space(*s))
				s++;
		}
	}
	*ret_items = items;
	*ret_n = n;
	items = NULL;
	n = 0;
out:
	value_list_free(items, n);
	return r;
}

static bool is_host_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '[' ||
	       c == ']' || c == ':';
}

/*
 * Host and optional port of the authority part "host[:port]": returns the
 * host length, or 0 when it is malformed.
 */
static size_t url_host(const char *auth, size_t len, const char **ret_why)
{
	size_t host = 0;

	while (host < len && auth[host] != ':' && auth[host] != '[')
		host++;
	if (host < len && auth[host] == '[') { /* [IPv6] */
		const char *close = memchr(auth, ']', len);

		if (!close) {
			*ret_why = "unterminated IPv6 address";
			return 0;
		}
		host = (size_t)(close - auth) + 1;
	}
	for (size_t i = 0; i < len; i++)
		if (!is_host_char(auth[i])) {
			*ret_why =
				"the host holds a character URLs do not allow";
			return 0;
		}
	if (host < len) {
		uint64_t port;
		char buf[8];
		size_t plen = len - host - 1;

		if (auth[host] != ':' || plen == 0 || plen >= sizeof(buf)) {
			*ret_why = "malformed port";
			return 0;
		}
		memcpy(buf, auth + host + 1, plen);
		buf[plen] = '\0';
		if (value_uint(buf, 1, 65535, &port) < 0) {
			*ret_why = "malformed port";
			return 0;
		}
	}
	if (host == 0)
		*ret_why = "no host";
	return host;
}

static int url_split(const char *s, const char *scheme, const char **ret_why,
		     const char **ret_host, size_t *ret_host_len)
{
	size_t slen = strlen(scheme), alen, hlen;
	const char *auth;

	if (strncasecmp(s, scheme, slen) != 0 || strncmp(s + slen, "://", 3))
		return -EINVAL;
	auth = s + slen + 3;
	alen = strcspn(auth, "/?#");
	if (strpbrk(auth, "?#")) {
		*ret_why = "a query or fragment is not allowed here";
		return -EINVAL;
	}
	if (memchr(auth, '@', alen)) {
		*ret_why = "user names and passwords do not belong in the URL";
		return -EINVAL;
	}
	hlen = url_host(auth, alen, ret_why);
	if (hlen == 0)
		return -EINVAL;
	*ret_host = auth;
	*ret_host_len = hlen;
	return 0;
}

static bool host_is(const char *host, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(host, name, len) == 0;
}

int value_url(const char *s, bool allow_local_http, const char **ret_why)
{
	const char *host, *why = "use https://HOST[:PORT][/PATH]";
	size_t hlen;

	if (url_split(s, "https", &why, &host, &hlen) == 0)
		return 0;
	if (strncasecmp(s, "http://", 7) != 0) {
		*ret_why = why;
		return -EINVAL;
	}
	if (!allow_local_http) {
		*ret_why = "plain http is not accepted here; use https";
		return -EINVAL;
	}
	why = "plain http is only accepted for the managed identity "
	      "endpoint on 169.254.169.254, 127.0.0.1 or localhost";
	if (url_split(s, "http", &why, &host, &hlen) == 0 &&
	    (host_is(host, hlen, "127.0.0.1") ||
	     host_is(host, hlen, "localhost") ||
	     host_is(host, hlen, "169.254.169.254")))
		return 0;
	*ret_why = why;
	return -EINVAL;
}

int value_proxy(const char *s, const char **ret_why)
{
	static const char *const schemes[] = { "http", "https", "socks4",
					       "socks5", "socks5h" };
	const char *host, *why = "use http://HOST:PORT or socks5://HOST:PORT";
	size_t hlen;

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (url_split(s, schemes[i], &why, &host, &hlen) == 0)
			return 0;
	*ret_why = why;
	return -EINVAL;
}

static bool is_dns_label(const char *s, size_t len)
{
	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

bool value_is_tenant(const char *s)
{
	struct guid g;
	size_t n_labels = 0;

	if (guid_parse(s, &g) == 0)
		return true;
	if (strlen(s) > 253)
		return false;
	for (;;) {
		size_t len = strcspn(s, ".");

		if (!is_dns_label(s, len))
			return false;
		n_labels++;
		if (s[len] == '\0')
			break;
		s += len + 1;
	}
	return n_labels >= 2;
}

/* Levenshtein distance of two short strings, case ignored; capped. */
static size_t edit_distance(const char *a, const char *b)
{
	enum { MAX = 64 };
	size_t la = strlen(a), lb = strlen(b), row[MAX + 1];

	if (la > MAX || lb > MAX)
		return MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = tolower((unsigned char)a[i - 1]) !=
				      tolower((unsigned char)b[j - 1]);
			size_t best = diag + cost;

			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			if (up + 1 < best)
				best = up + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *value_closest(const char *word, const char *const *candidates,
			  size_t n)
{
	const char *best = NULL;
	size_t best_d = 3;

	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(word, candidates[i]);

		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	return best;
}
