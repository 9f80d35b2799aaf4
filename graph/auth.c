/*
 * auth: app-only access tokens for Graph.  See auth.h.
 *
 * Builds the token request of each flow (a form with the secret or a fresh
 * PS256 assertion from jwt.c; a GET with "Metadata: true" to IMDS over an
 * HTTP client of our own that never uses a proxy), sends it through
 * http.c, reads the answer with decode_token() and caches the token
 * against CLOCK_MONOTONIC.  It does not retry inside a call and never
 * sleeps.
 *
 * Waiting (GRAPH.md 1.5): a failure worth retrying (no answer, 408, 429,
 * 5xx, and 404/410 from IMDS) returns -EAGAIN at once and holds further
 * requests back: the next try may go out 2, 4, 8, 16 and then 30 s after
 * each failure in a row (tries at 0, 2, 6, 14 and 30 s, as IMDS asks),
 * longer if Retry-After says so, never more than AUTH_RETRY_MAX_SEC.  A
 * call during the hold sends nothing and returns -EAGAIN with the last
 * failure and the time left.  The caller's backoff (graph.c) does the
 * actual waiting, so no call here blocks for longer than one request.
 * Other answers are final (-EACCES) and are not held back.
 *
 * Secrets: the client secret, each assertion, each form body, response
 * body and token are wiped with explicit_bzero before they are freed, and
 * never copied into an error text.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph/auth.h"
#include "graph/decode.h"
#include "graph/jwt.h"

#define USEC_PER_SEC 1000000ULL

/* Longest hold after a failure, Retry-After included. */
#define AUTH_RETRY_MAX_SEC 30

/* Tokens said to live longer than this are renewed as if they did not. */
#define AUTH_MAX_LIFETIME_SEC (7 * 86400)

/* Longest access token accepted. */
#define AUTH_MAX_TOKEN 65536

/* IMDS is a link-local service: fail fast when it is not there. */
#define AUTH_IMDS_CONNECT_TIMEOUT_MS 5000
#define AUTH_IMDS_TIMEOUT_MS	     20000

#define TOKEN_PREFIX   "token request failed: "
#define IMDS_PATH      "/metadata/identity/oauth2/token?api-version=2018-02-01"
#define ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

struct auth {
	enum auth_kind kind;
	char *url;		/* token endpoint (= aud claim) or IMDS */
	char *client_id;	/* NULL: system-assigned managed identity */
	char *scope;		/* "{graph}/.default" */
	char *secret;		/* AUTH_SECRET; wiped on free */
	struct jwt_key *key;	/* AUTH_CERTIFICATE */
	struct http *http;	/* borrowed, or own_http */
	struct http *own_http;	/* managed identity: no proxy */
	char *token;		/* cached; wiped on free */
	uint64_t renew_usec;	/* fetch a new one from this time on */
	uint64_t next_try_usec; /* after a failure: no request before */
	unsigned n_failures;	/* retryable failures in a row */
	struct http_error last; /* the latest of them */
};

static const struct aadsts_hint {
	long code;
	const char *meaning;
	const char *hint;
} aadsts_hints[] = {
	{ 7000215, "invalid client secret",
	  "check client_secret_file holds the secret VALUE, not its id" },
	{ 7000222, "client secret expired", "create a new one" },
	{ 700016, "application not found in the tenant",
	  "check client_id and tenant_id, and that admin consent was "
	  "granted" },
	{ 90002, "tenant not found", "check tenant_id" },
	{ 700027, "certificate not registered or signature invalid",
	  "upload the certificate to the app registration" },
	{ 700024, "assertion time invalid",
	  "check the clock, e.g. timedatectl" },
	{ 7000214, "certificate revoked",
	  "create a new certificate and upload it to the app registration" },
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

static void wipe_free(char *p)
{
	if (!p)
		return;
	explicit_bzero(p, strlen(p));
	free(p);
}

static void set_error(struct http_error *e, long status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_error(struct http_error *e, long status, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	va_start(ap, fmt);
	(void)vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
}

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

/* Percent-encode s into out (when not NULL); returns the length. */
static size_t url_encode(const char *s, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (is_unreserved(c)) {
			if (out)
				out[n] = (char)c;
			n++;
			continue;
		}
		if (out) {
			out[n] = '%';
			out[n + 1] = hex[c >> 4];
			out[n + 2] = hex[c & 15];
		}
		n += 3;
	}
	return n;
}

static char *url_encode_dup(const char *s)
{
	char *p = malloc(url_encode(s, NULL) + 1);

	if (p)
		p[url_encode(s, p)] = '\0';
	return p;
}

int auth_form_encode(const char *const *pairs, size_t n_pairs, char **ret)
{
	size_t len = 0, o = 0;
	char *p;

	for (size_t i = 0; i < 2 * n_pairs; i++)
		len += url_encode(pairs[i], NULL) + 1; /* '=' or '&' or NUL */
	p = malloc(len ? len : 1);
	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < 2 * n_pairs; i++) {
		if (i > 0)
			p[o++] = i % 2 ? '=' : '&';
		o += url_encode(pairs[i], p + o);
	}
	p[o] = '\0';
	*ret = p;
	return 0;
}

/* The first line of s, control characters replaced, into buf. */
static void first_line(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	for (; s && *s && *s != '\r' && *s != '\n' && n + 1 < size; s++)
		buf[n++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
}

static const struct aadsts_hint *find_hint(long code)
{
	for (size_t i = 0; i < sizeof(aadsts_hints) / sizeof(aadsts_hints[0]);
	     i++)
		if (aadsts_hints[i].code == code)
			return &aadsts_hints[i];
	return NULL;
}

void auth_describe_error(long status, long aadsts, const char *error,
			 const char *description, struct http_error *ret)
{
	const struct aadsts_hint *h = find_hint(aadsts);
	char what[64], line[384];

	first_line(error, what, sizeof(what));
	first_line(description, line, sizeof(line));
	if (h)
		set_error(ret, status, TOKEN_PREFIX "AADSTS%ld: %s; %s", aadsts,
			  h->meaning, h->hint);
	else if (what[0] && line[0])
		set_error(ret, status, TOKEN_PREFIX "%s: %s", what, line);
	else if (what[0] || line[0])
		set_error(ret, status, TOKEN_PREFIX "%s (HTTP %ld)",
			  what[0] ? what : line, status);
	else
		set_error(ret, status, TOKEN_PREFIX "HTTP %ld", status);
}

static int check_options(const struct auth_options *o,
			 struct http_error *reterr)
{
	bool is_ok = o->authority && o->authority[0] && o->graph && o->graph[0];

	switch (o->kind) {
	case AUTH_SECRET:
	case AUTH_CERTIFICATE:
		is_ok = is_ok && o->tenant && o->tenant[0] && o->client_id &&
			o->client_id[0] && o->http &&
			(o->kind == AUTH_SECRET ? o->secret != NULL
						: o->pem != NULL);
		break;
	case AUTH_MANAGED_IDENTITY:
		break;
	default:
		is_ok = false;
	}
	if (is_ok)
		return 0;
	set_error(reterr, 0, "token client: incomplete options");
	return -EINVAL;
}

/* Length of s without trailing slashes. */
static int trimmed_len(const char *s)
{
	size_t len = strlen(s);

	while (len > 0 && s[len - 1] == '/')
		len--;
	return len < INT_MAX ? (int)len : INT_MAX;
}

/* Fields every flow has: client id and scope. */
static int setup_common(struct auth *a, const struct auth_options *o)
{
	if (asprintf(&a->scope, "%.*s/.default", trimmed_len(o->graph),
		     o->graph) < 0) {
		a->scope = NULL;
		return -ENOMEM;
	}
	if (o->client_id && o->client_id[0]) {
		a->client_id = strdup(o->client_id);
		if (!a->client_id)
			return -ENOMEM;
	}
	return 0;
}

/* {authority}/{tenant}/oauth2/v2.0/token, also the assertion's aud. */
static int setup_token_endpoint(struct auth *a, const struct auth_options *o)
{
	char *tenant = url_encode_dup(o->tenant);
	int r = -ENOMEM;

	if (tenant && asprintf(&a->url, "%s/%s/oauth2/v2.0/token", o->authority,
			       tenant) >= 0)
		r = 0;
	else
		a->url = NULL;
	free(tenant);
	a->http = o->http;
	return r;
}

static int setup_certificate(struct auth *a, const struct auth_options *o,
			     struct http_error *reterr)
{
	const char *why = NULL;
	int r;

	r = jwt_key_load(o->pem, &a->key, &why);
	if (r == -EINVAL)
		set_error(reterr, 0, "bad certificate: %s", why);
	return r;
}

/* The IMDS URL (resource "{graph}/", GRAPH.md 1.5) and its own client. */
static int setup_imds(struct auth *a, const struct auth_options *o)
{
	struct http_options ho = {
		.proxy = "", /* IMDS must never be reached through a proxy */
		.connect_timeout_ms = AUTH_IMDS_CONNECT_TIMEOUT_MS,
		.timeout_ms = AUTH_IMDS_TIMEOUT_MS,
	};
	char *resource = NULL, *res = NULL, *id = NULL;
	int r = -ENOMEM;

	if (asprintf(&resource, "%.*s/", trimmed_len(o->graph), o->graph) < 0)
		return -ENOMEM;
	res = url_encode_dup(resource);
	if (a->client_id)
		id = url_encode_dup(a->client_id);
	if (!res || (a->client_id && !id))
		goto out;
	if (asprintf(&a->url, "%s" IMDS_PATH "&resource=%s%s%s", o->authority,
		     res, id ? "&client_id=" : "", id ? id : "") < 0) {
		a->url = NULL;
		goto out;
	}
	r = http_new(&ho, &a->own_http);
	a->http = a->own_http;
out:
	free(resource);
	free(res);
	free(id);
	return r;
}

static int setup_kind(struct auth *a, const struct auth_options *o,
		      struct http_error *reterr)
{
	int r;

	switch (a->kind) {
	case AUTH_SECRET:
		r = setup_token_endpoint(a, o);
		if (r == 0) {
			a->secret = strdup(o->secret);
			r = a->secret ? 0 : -ENOMEM;
		}
		return r;
	case AUTH_CERTIFICATE:
		r = setup_token_endpoint(a, o);
		return r < 0 ? r : setup_certificate(a, o, reterr);
	default: /* AUTH_MANAGED_IDENTITY, as check_options() made sure */
		r = setup_imds(a, o);
		if (r == -EINVAL)
			set_error(reterr, 0,
				  "cannot set up the managed identity HTTP "
				  "client");
		return r;
	}
}

int auth_new(const struct auth_options *o, struct auth **ret,
	     struct http_error *reterr)
{
	struct auth *a = NULL;
	int r;

	r = check_options(o, reterr);
	if (r < 0)
		return r;
	a = calloc(1, sizeof(*a));
	if (!a) {
		r = -ENOMEM;
		goto out;
	}
	a->kind = o->kind;
	r = setup_common(a, o);
	if (r == 0)
		r = setup_kind(a, o, reterr);
	if (r < 0)
		goto out;
	*ret = a;
	a = NULL;
out:
	if (r == -ENOMEM)
		set_error(reterr, 0, "token client: out of memory");
	auth_free(a);
	return r;
}

static void drop_token(struct auth *a)
{
	wipe_free(a->token);
	a->token = NULL;
	a->renew_usec = 0;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	drop_token(a);
	wipe_free(a->secret);
	jwt_key_free(a->key);
	http_free(a->own_http);
	free(a->url);
	free(a->client_id);
	free(a->scope);
	free(a);
}

void auth_invalidate(struct auth *a)
{
	drop_token(a);
}

uint64_t auth_next_try_usec(const struct auth *a)
{
	return a->next_try_usec;
}

/* A fresh assertion: new jti, nbf = now on the wall clock. */
static int make_assertion(const struct auth *a, char **ret,
			  struct http_error *reterr)
{
	struct jwt_claims c = { .aud = a->url, .iss = a->client_id };
	char jti[JWT_JTI_LEN + 1];
	struct timespec ts;
	int r;

	r = jwt_new_jti(jti);
	if (r == 0) {
		(void)clock_gettime(CLOCK_REALTIME, &ts);
		c.jti = jti;
		c.now = (int64_t)ts.tv_sec;
		r = jwt_build(a->key, &c, ret);
	}
	if (r < 0)
		set_error(reterr, 0, "cannot sign the client assertion: %s",
			  strerror(-r));
	return r;
}

/* The POST body of the secret and certificate flows. */
static int build_form(const struct auth *a, char **ret,
		      struct http_error *reterr)
{
	const char *pairs[10] = { "client_id", a->client_id, "scope",
				  a->scope };
	char *assertion = NULL;
	size_t n = 2;
	int r = 0;

	if (a->kind == AUTH_SECRET) {
		pairs[2 * n] = "client_secret";
		pairs[2 * n++ + 1] = a->secret;
	} else {
		r = make_assertion(a, &assertion, reterr);
		pairs[2 * n] = "client_assertion_type";
		pairs[2 * n++ + 1] = ASSERTION_TYPE;
		pairs[2 * n] = "client_assertion";
		pairs[2 * n++ + 1] = assertion;
	}
	pairs[2 * n] = "grant_type";
	pairs[2 * n++ + 1] = "client_credentials";
	if (r == 0) {
		r = auth_form_encode(pairs, n, ret);
		if (r < 0)
			set_error(reterr, 0, TOKEN_PREFIX "out of memory");
	}
	wipe_free(assertion);
	return r;
}

/*
 * http_send() failed: no answer, worth a retry unless out of memory or
 * the peer's certificate was refused (a wrong CA does not heal itself).
 */
static int no_answer(int r, struct http_error *reterr)
{
	char why[sizeof(reterr->text)];

	memcpy(why, reterr->text, sizeof(why));
	why[sizeof(why) - 1] = '\0';
	set_error(reterr, 0, TOKEN_PREFIX "%s", why);
	return r == -ENOMEM || r == -EPROTO ? r : -EAGAIN;
}

/* Send the flow's request. */
static int send_request(const struct auth *a, struct http_response *resp,
			struct http_error *reterr)
{
	static const char *const form_headers[] = {
		"Content-Type: application/x-www-form-urlencoded",
		"Accept: application/json",
	};
	static const char *const imds_headers[] = {
		"Metadata: true",
		"Accept: application/json",
	};
	struct http_request req = { "GET", a->url, imds_headers, 2, NULL, 0 };
	char *form = NULL;
	int r;

	if (a->kind != AUTH_MANAGED_IDENTITY) {
		r = build_form(a, &form, reterr);
		if (r < 0)
			goto out;
		req.method = "POST";
		req.headers = form_headers;
		req.body = form;
		req.body_len = strlen(form);
	}
	r = http_send(a->http, &req, resp, reterr);
	if (r < 0)
		r = no_answer(r, reterr);
out:
	wipe_free(form);
	return r;
}

static bool is_retryable(enum auth_kind kind, long status)
{
	if (kind == AUTH_MANAGED_IDENTITY && (status == 404 || status == 410))
		return true; /* IMDS is updating */
	return status == 408 || status == 429 || status >= 500;
}

/* Printable ASCII without spaces: safe in an Authorization header. */
static bool is_token_ok(const char *t)
{
	size_t n = 0;

	for (; t[n] && n <= AUTH_MAX_TOKEN; n++)
		if ((unsigned char)t[n] <= 0x20 || (unsigned char)t[n] >= 0x7f)
			return false;
	return n > 0 && n <= AUTH_MAX_TOKEN;
}

/*
 * How long before expiry the token is used: AUTH_RENEW_BEFORE_SEC less
 * than its lifetime, or half of a lifetime no longer than that.
 */
static uint64_t use_for_usec(int64_t expires_in)
{
	if (expires_in <= 0)
		return 0;
	if (expires_in > AUTH_MAX_LIFETIME_SEC)
		expires_in = AUTH_MAX_LIFETIME_SEC;
	if (expires_in > AUTH_RENEW_BEFORE_SEC)
		return (uint64_t)(expires_in - AUTH_RENEW_BEFORE_SEC) *
		       USEC_PER_SEC;
	return (uint64_t)expires_in * USEC_PER_SEC / 2;
}

/* A 2xx answer: cache its token.  Returns 0 or -EBADMSG. */
static int take_token(struct auth *a, struct token_reply *t, uint64_t sent_usec)
{
	if (!t->access_token || !is_token_ok(t->access_token))
		return -EBADMSG;
	drop_token(a);
	a->token = t->access_token;
	t->access_token = NULL;
	a->renew_usec = sent_usec + use_for_usec(t->expires_in);
	return 0;
}

/* One request and its answer.  The token is cached on success. */
static int fetch(struct auth *a, uint64_t sent_usec,
		 double *reterr_retry_after_sec, struct http_error *reterr)
{
	struct http_response resp = { .retry_after_sec = -1 };
	struct decode_error derr = { "" };
	struct token_reply t;
	int r, decoded = -EBADMSG;

	memset(&t, 0, sizeof(t));
	r = send_request(a, &resp, reterr);
	if (r < 0)
		goto out;
	decoded = decode_token(resp.body, resp.body_len, &t, &derr);
	if (resp.status >= 200 && resp.status < 300) {
		r = decoded < 0 ? decoded : take_token(a, &t, sent_usec);
		if (r < 0)
			set_error(reterr, resp.status,
				  "token response unreadable: %s",
				  decoded < 0 ? derr.text
					      : "access_token: not a token");
		goto out;
	}
	auth_describe_error(resp.status, decoded < 0 ? 0 : t.aadsts,
			    decoded < 0 ? NULL : t.error,
			    decoded < 0 ? NULL : t.description, reterr);
	r = is_retryable(a->kind, resp.status) ? -EAGAIN : -EACCES;
	*reterr_retry_after_sec = resp.retry_after_sec;
out:
	decode_token_clear(&t);
	if (resp.body)
		explicit_bzero(resp.body, resp.body_len);
	http_response_clear(&resp);
	return r;
}

/* Seconds, rounded up, for texts. */
static unsigned long long ceil_sec(uint64_t usec)
{
	return (usec + USEC_PER_SEC - 1) / USEC_PER_SEC;
}

/*
 * After the n-th retryable failure in a row: no request for 2^n s (at
 * most AUTH_RETRY_MAX_SEC), or for Retry-After when that is longer.
 */
static void hold(struct auth *a, uint64_t now, double retry_after_sec,
		 struct http_error *err)
{
	uint64_t max = AUTH_RETRY_MAX_SEC * USEC_PER_SEC, delay = max;
	size_t len;

	if (a->n_failures < 8)
		a->n_failures++;
	if ((USEC_PER_SEC << a->n_failures) < max)
		delay = USEC_PER_SEC << a->n_failures;
	if (retry_after_sec > (double)delay / 1e6)
		delay = retry_after_sec < (double)AUTH_RETRY_MAX_SEC
				? (uint64_t)(retry_after_sec * 1e6)
				: max;
	a->next_try_usec = now + delay;
	a->last = *err;
	len = strlen(err->text);
	(void)snprintf(err->text + len, sizeof(err->text) - len,
		       "; next try in %llu s", ceil_sec(delay));
}

/* A call during a hold: the last failure and the time left. */
static void held(const struct auth *a, uint64_t now, struct http_error *reterr)
{
	size_t len;

	*reterr = a->last;
	len = strlen(reterr->text);
	(void)snprintf(reterr->text + len, sizeof(reterr->text) - len,
		       "; next try in %llu s",
		       ceil_sec(a->next_try_usec - now));
}

int auth_token(struct auth *a, const char **ret_token,
	       struct http_error *reterr)
{
	uint64_t now = now_usec();
	double retry_after_sec = -1;
	int r;

	if (a->token && now < a->renew_usec) {
		*ret_token = a->token;
		return 0;
	}
	drop_token(a);
	if (now < a->next_try_usec) {
		held(a, now, reterr);
		return -EAGAIN;
	}
	r = fetch(a, now, &retry_after_sec, reterr);
	if (r == -EAGAIN) {
		hold(a, now_usec(), retry_after_sec, reterr);
		return r;
	}
	a->n_failures = 0;
	if (r == 0)
		*ret_token = a->token;
	return r;
}
