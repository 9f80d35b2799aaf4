/*
 * auth: app-only access tokens for Graph (GRAPH.md section 1).
 *
 * Three ways: a client secret, a certificate (a JWT client assertion signed
 * PS256 with the key, x5t#S256 thumbprint of the certificate), or Azure
 * managed identity (IMDS, over its own proxy-less HTTP client).  The token
 * is cached and renewed 5 minutes before it expires; after a 401 the caller
 * calls auth_invalidate() and asks again, once.  Token endpoint errors come
 * back with the AADSTS code and a hint an admin can act on.  No secret,
 * assertion or token ever appears in an error text.
 */
#ifndef LICENSED_AUTH_H
#define LICENSED_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "graph/http.h"

/* Renew this long before expiry. */
#define AUTH_RENEW_BEFORE_SEC 300

enum auth_kind {
	AUTH_SECRET,
	AUTH_CERTIFICATE,
	AUTH_MANAGED_IDENTITY,
};

struct auth_options {
	enum auth_kind kind;
	const char *tenant;    /* GUID or domain */
	const char *client_id; /* may be NULL for managed identity */
	const char *secret;    /* AUTH_SECRET: the secret (copied) */
	const char *pem;       /* AUTH_CERTIFICATE: PEM text, cert + key */
	const char *authority; /* no trailing '/'; IMDS base for MI */
	const char *graph;     /* resource: scope is "{graph}/.default" */
	struct http *http;     /* borrowed; for the token endpoint */
};

struct auth;

/*
 * Set up (parse and check the certificate and key now, so that a bad PEM
 * fails at start).  Returns 0, -EINVAL with *reterr (bad PEM, key does not
 * match the certificate), or -ENOMEM.
 */
int auth_new(const struct auth_options *o, struct auth **ret,
	     struct http_error *reterr);
void auth_free(struct auth *a);

/*
 * A valid access token, from the cache or fetched now.  *ret_token stays
 * valid until the next auth_* call.  Returns 0, or -EACCES (the tenant
 * refused: wrong secret, unknown app, ...; reterr has AADSTS code and
 * hint), -EAGAIN (endpoint unavailable, throttled or unreachable; retry
 * later), or another negative errno.
 */
int auth_token(struct auth *a, const char **ret_token,
	       struct http_error *reterr);

/* Forget the cached token (after a 401). */
void auth_invalidate(struct auth *a);

/*
 * After auth_token() returned -EAGAIN: the CLOCK_MONOTONIC time (usec)
 * before which it will not ask the token endpoint again.
 */
uint64_t auth_next_try_usec(const struct auth *a);

/*
 * Pure helpers behind auth_token(), exposed for unit tests.
 *
 * auth_form_encode: "n1=v1&n2=v2" from n_pairs name/value pairs (pairs[2i],
 * pairs[2i + 1]), every byte but RFC 3986 unreserved ones percent-encoded.
 * Returns 0 and *ret (it may hold a secret: explicit_bzero, then free), or
 * -ENOMEM.
 */
int auth_form_encode(const char *const *pairs, size_t n_pairs, char **ret);

/*
 * The one-line text of a failed token request into *ret: "token request
 * failed: AADSTSnnnn: meaning; hint" for the codes an admin can act on,
 * else the OAuth error and the first line of its description, else the
 * HTTP status.  error and description may be NULL or "".
 */
void auth_describe_error(long status, long aadsts, const char *error,
			 const char *description, struct http_error *ret);

#endif
