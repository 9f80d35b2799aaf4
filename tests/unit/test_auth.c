/*
 * test_auth: token requests of the three flows, caching, error texts and
 * the hold after retryable failures.
 *
 * http.c is replaced at link time by the fake below (http_new, http_free,
 * http_send, http_response_clear; auth.o needs nothing else from it), which
 * records each request and answers from a queue.  The answers follow
 * GRAPH.md 1.3 to 1.5; decode.c is the real one.  End-to-end runs against
 * tests/graphsim are not here.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "graph/auth.h"

#define TENANT	  "contoso.example"
#define CLIENT	  "6fd2c87f-b296-42f0-b197-1e91e994b900"
#define SECRET	  "s3cr&t=+/ value~"
#define AUTHORITY "https://login.example"
#define GRAPH	  "https://graph.example"
#define TOKEN_URL AUTHORITY "/" TENANT "/oauth2/v2.0/token"
#define IMDS	  "http://169.254.169.254"
#define IMDS_URL                                                               \
	IMDS "/metadata/identity/oauth2/token?api-version=2018-02-01"          \
	     "&resource=https%3A%2F%2Fgraph.example%2F"
#define OK_BODY                                                                \
	"{\"token_type\":\"Bearer\",\"expires_in\":3599,"                      \
	"\"ext_expires_in\":3599,\"access_token\":\"tok-1\"}"
#define MAX_REPLIES 8

/* ---- the fake http.c ------------------------------------------------- */

struct http {
	char proxy[16];
	bool has_proxy;
};

struct fake_reply {
	int error; /* a negative errno from http_send, or 0 */
	long status;
	const char *body;
	double retry_after_sec;
};

/* Test-only state of the link-time fake (one test binary, no threads). */
static struct {
	struct fake_reply replies[MAX_REPLIES];
	size_t n_replies, next;
	size_t n_sent;
	const struct http *last_http;
	char method[8];
	char url[1024];
	char headers[4][128];
	size_t n_headers;
	char *body;
	struct http *created; /* by the last http_new */
} fake;

static void fake_reset(void)
{
	free(fake.body);
	memset(&fake, 0, sizeof(fake));
}

static void fake_push(int error, long status, const char *body,
		      double retry_after_sec)
{
	assert_true(fake.n_replies < MAX_REPLIES);
	fake.replies[fake.n_replies++] =
		(struct fake_reply){ error, status, body, retry_after_sec };
}

int http_new(const struct http_options *o, struct http **ret)
{
	struct http *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	if (o->proxy) {
		h->has_proxy = true;
		(void)snprintf(h->proxy, sizeof(h->proxy), "%s", o->proxy);
	}
	fake.created = h;
	*ret = h;
	return 0;
}

void http_free(struct http *h)
{
	free(h);
}

static void record(const struct http *h, const struct http_request *req)
{
	fake.n_sent++;
	fake.last_http = h;
	(void)snprintf(fake.method, sizeof(fake.method), "%s", req->method);
	(void)snprintf(fake.url, sizeof(fake.url), "%s", req->url);
	assert_true(req->n_headers <= 4);
	fake.n_headers = req->n_headers;
	for (size_t i = 0; i < req->n_headers; i++)
		(void)snprintf(fake.headers[i], sizeof(fake.headers[i]), "%s",
			       req->headers[i]);
	free(fake.body);
	fake.body = NULL;
	if (req->body) {
		fake.body = strndup(req->body, req->body_len);
		assert_non_null(fake.body);
	}
}

int http_send(struct http *h, const struct http_request *req,
	      struct http_response *ret, struct http_error *reterr)
{
	const struct fake_reply *r;

	record(h, req);
	assert_true(fake.next < fake.n_replies);
	r = &fake.replies[fake.next++];
	if (r->error) {
		reterr->status = 0;
		(void)snprintf(reterr->text, sizeof(reterr->text),
			       "%s /x: Connection refused", req->method);
		return r->error;
	}
	memset(ret, 0, sizeof(*ret));
	ret->status = r->status;
	ret->body = strdup(r->body);
	assert_non_null(ret->body);
	ret->body_len = strlen(r->body);
	ret->retry_after_sec = r->retry_after_sec;
	return 0;
}

void http_response_clear(struct http_response *r)
{
	if (!r)
		return;
	free(r->body);
	memset(r, 0, sizeof(*r));
	r->retry_after_sec = -1;
}

/* ---- helpers ------------------------------------------------------- */

struct fixture {
	struct http *http; /* the borrowed client */
	struct auth *auth;
	EVP_PKEY *key; /* certificate flow only */
	X509 *cert;
	char *pem;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct http_options ho = { 0 };

	fake_reset();
	if (!f || http_new(&ho, &f->http) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	auth_free(f->auth);
	http_free(f->http);
	X509_free(f->cert);
	EVP_PKEY_free(f->key);
	free(f->pem);
	free(f);
	fake_reset();
	return 0;
}

static struct auth_options options(struct fixture *f, enum auth_kind kind)
{
	struct auth_options o = {
		.kind = kind,
		.tenant = TENANT,
		.client_id = CLIENT,
		.secret = kind == AUTH_SECRET ? SECRET : NULL,
		.pem = f->pem,
		.authority = kind == AUTH_MANAGED_IDENTITY ? IMDS : AUTHORITY,
		.graph = GRAPH,
		.http = f->http,
	};

	return o;
}

static struct auth *new_auth(struct fixture *f, enum auth_kind kind)
{
	struct auth_options o = options(f, kind);
	struct http_error e = { 0, "" };

	assert_int_equal(auth_new(&o, &f->auth, &e), 0);
	assert_string_equal(e.text, "");
	return f->auth;
}

static const char *token_ok(struct auth *a)
{
	struct http_error e = { 0, "" };
	const char *t = NULL;

	assert_int_equal(auth_token(a, &t, &e), 0);
	assert_non_null(t);
	return t;
}

/* auth_token must fail with r; returns the error text. */
static const char *token_fails(struct auth *a, int r, long status)
{
	static struct http_error e;
	const char *t = NULL;

	memset(&e, 0, sizeof(e));
	assert_int_equal(auth_token(a, &t, &e), r);
	assert_null(t);
	assert_int_equal(e.status, status);
	assert_null(strstr(e.text, SECRET));
	assert_null(strstr(e.text, "tok-"));
	return e.text;
}

static bool has_header(const char *h)
{
	for (size_t i = 0; i < fake.n_headers; i++)
		if (strcmp(fake.headers[i], h) == 0)
			return true;
	return false;
}

/* The raw (still encoded) value of form field name, or NULL. */
static char *form_field(const char *form, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = form; p; p = strchr(p, '&')) {
		if (*p == '&')
			p++;
		if (strncmp(p, name, n) == 0 && p[n] == '=')
			return strndup(p + n + 1, strcspn(p + n + 1, "&"));
	}
	return NULL;
}

static void assert_field(const char *form, const char *name, const char *want)
{
	char *v = form_field(form, name);

	assert_non_null(v);
	assert_string_equal(v, want);
	free(v);
}

/* ---- pure helpers ----------------------------------------------------- */

static void test_form_encode(void **state)
{
	const char *pairs[] = {
		"client_id",	 "abc",
		"scope",	 "https://graph.microsoft.com/.default",
		"client_secret", "a+b/c=d&e f~_.-%\xc3\xa9"
	};
	char *form = NULL;

	(void)state;
	assert_int_equal(auth_form_encode(pairs, 3, &form), 0);
	assert_string_equal(
		form, "client_id=abc"
		      "&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
		      "&client_secret=a%2Bb%2Fc%3Dd%26e%20f~_.-%25%C3%A9");
	free(form);
	assert_int_equal(auth_form_encode(pairs, 0, &form), 0);
	assert_string_equal(form, "");
	free(form);
}

static void expect_text(long aadsts, const char *want)
{
	struct http_error e = { 0, "" };

	auth_describe_error(401, aadsts, "invalid_client",
			    "AADSTS0: whatever\r\nTrace ID: x", &e);
	assert_int_equal(e.status, 401);
	assert_string_equal(e.text, want);
}

static void test_describe_known_codes(void **state)
{
	(void)state;
	expect_text(7000215, "token request failed: AADSTS7000215: invalid "
			     "client secret; check client_secret_file holds "
			     "the secret VALUE, not its id");
	expect_text(7000222, "token request failed: AADSTS7000222: client "
			     "secret expired; create a new one");
	expect_text(700016, "token request failed: AADSTS700016: application "
			    "not found in the tenant; check client_id and "
			    "tenant_id, and that admin consent was granted");
	expect_text(90002, "token request failed: AADSTS90002: tenant not "
			   "found; check tenant_id");
	expect_text(700027, "token request failed: AADSTS700027: certificate "
			    "not registered or signature invalid; upload the "
			    "certificate to the app registration");
	expect_text(700024, "token request failed: AADSTS700024: assertion "
			    "time invalid; check the clock, e.g. timedatectl");
	expect_text(7000214,
		    "token request failed: AADSTS7000214: certificate "
		    "revoked; create a new certificate and upload it to the "
		    "app registration");
}

static void test_describe_other_errors(void **state)
{
	struct http_error e = { 0, "" };
	char long_text[2000];

	(void)state;
	auth_describe_error(
		400, 50027, "invalid_request",
		"AADSTS50027: JWT token is invalid or malformed.\r\n"
		"Trace ID: 1\r\nCorrelation ID: 2",
		&e);
	assert_string_equal(e.text, "token request failed: invalid_request: "
				    "AADSTS50027: JWT token is invalid or "
				    "malformed.");
	auth_describe_error(400, 0, "bad\tname", NULL, &e);
	assert_string_equal(e.text,
			    "token request failed: bad?name (HTTP 400)");
	auth_describe_error(400, 0, "", "Identity not found", &e);
	assert_string_equal(e.text,
			    "token request failed: Identity not found (HTTP "
			    "400)");
	auth_describe_error(502, 0, NULL, NULL, &e);
	assert_int_equal(e.status, 502);
	assert_string_equal(e.text, "token request failed: HTTP 502");
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	auth_describe_error(400, 0, long_text, long_text, &e);
	assert_true(strlen(e.text) < sizeof(e.text));
}

/* ---- set-up ------------------------------------------------------------ */

static void test_new_refuses_incomplete_options(void **state)
{
	struct fixture *f = *state;
	struct auth_options o = options(f, AUTH_SECRET);
	struct http_error e = { 0, "" };
	struct auth *a = NULL;

	o.secret = NULL;
	assert_int_equal(auth_new(&o, &a, &e), -EINVAL);
	assert_null(a);
	assert_string_equal(e.text, "token client: incomplete options");
	o = options(f, AUTH_SECRET);
	o.tenant = "";
	assert_int_equal(auth_new(&o, &a, &e), -EINVAL);
	o = options(f, AUTH_CERTIFICATE);
	o.pem = NULL;
	assert_int_equal(auth_new(&o, &a, &e), -EINVAL);
	assert_null(a);
}

static void test_new_refuses_bad_pem(void **state)
{
	struct fixture *f = *state;
	struct auth_options o = options(f, AUTH_CERTIFICATE);
	struct http_error e = { 0, "" };
	struct auth *a = NULL;

	o.pem = "-----BEGIN CERTIFICATE-----\nnot base64\n"
		"-----END CERTIFICATE-----\n";
	assert_int_equal(auth_new(&o, &a, &e), -EINVAL);
	assert_null(a);
	assert_string_equal(e.text, "bad certificate: no private key found "
				    "(encrypted keys are not supported)");
	assert_int_equal(fake.n_sent, 0);
}

/* ---- client secret ---------------------------------------------------- */

static void test_secret_request_and_cache(void **state)
{
	struct fixture *f = *state;
	struct auth *a = new_auth(f, AUTH_SECRET);

	fake_push(0, 200, OK_BODY, -1);
	assert_string_equal(token_ok(a), "tok-1");
	assert_int_equal(fake.n_sent, 1);
	assert_ptr_equal(fake.last_http, f->http);
	assert_string_equal(fake.method, "POST");
	assert_string_equal(fake.url, TOKEN_URL);
	assert_true(has_header("Content-Type: application/x-www-form-"
			       "urlencoded"));
	assert_string_equal(fake.body,
			    "client_id=" CLIENT
			    "&scope=https%3A%2F%2Fgraph.example%2F.default"
			    "&client_secret=s3cr%26t%3D%2B%2F%20value~"
			    "&grant_type=client_credentials");
	/* Cached: no second request. */
	assert_string_equal(token_ok(a), "tok-1");
	assert_int_equal(fake.n_sent, 1);
}

static void test_invalidate_fetches_again(void **state)
{
	struct fixture *f = *state;
	struct auth *a = new_auth(f, AUTH_SECRET);

	fake_push(0, 200, OK_BODY, -1);
	fake_push(0, 200,
		  "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
		  "\"access_token\":\"tok-2\"}",
		  -1);
	assert_string_equal(token_ok(a), "tok-1");
	auth_invalidate(a);
	assert_string_equal(token_ok(a), "tok-2");
	assert_int_equal(fake.n_sent, 2);
}

/* A lifetime under AUTH_RENEW_BEFORE_SEC is used for half of it. */
static void test_short_lifetime_renews_at_half(void **state)
{
	struct fixture *f = *state;
	struct auth *a = new_auth(f, AUTH_SECRET);
	struct timespec ts = { 0, 600 * 1000 * 1000 };

	fake_push(0, 200,
		  "{\"token_type\":\"Bearer\",\"expires_in\":1,"
		  "\"access_token\":\"tok-1\"}",
		  -1);
	fake_push(0, 200, OK_BODY, -1);
	assert_string_equal(token_ok(a), "tok-1");
	assert_string_equal(token_ok(a), "tok-1");
	assert_int_equal(fake.n_sent, 1);
	(void)nanosleep(&ts, NULL);
	assert_string_equal(token_ok(a), "tok-1");
	assert_int_equal(fake.n_sent, 2);
}

static void test_secret_refused(void **state)
{
	struct fixture *f = *state;
	struct auth *a = new_auth(f, AUTH_SECRET);

	fake_push(0, 401,
		  "{\"error\":\"invalid_client\",\"error_description\":"
		  "\"AADSTS7000215: Invalid client secret provided.\\r\\n"
		  "Trace ID: 1\",\"error_codes\":[7000215]}",
		  -1);
	fake_push(0, 400,
		  "{\"error\":\"invalid_request\",\"error_description\":"
		  "\"AADSTS90002: Tenant 'x' not found.\","
		  "\"error_codes\":[90002]}",
		  -1);
	assert_string_equal(token_fails(a, -EACCES, 401),
			    "token request failed: AADSTS7000215: invalid "
			    "client secret; check client_secret_file holds "
			    "the secret VALUE, not its id");
	/* A refusal is final, not held back: the next call asks again. */
	assert_string_equal(token_fails(a, -EACCES, 400),
			    "token request failed: AADSTS90002: tenant not "
			    "found; check tenant_id");
	assert_int_equal(fake.n_sent, 2);
}

static void test_unavailable_is_held(void **state)
{
	struct fixture *f = *state;
	struct auth *a = new_auth(f, AUTH_SECRET);

	fake_push(0, 503, "", -1);
	assert_string_equal(token_fails(a, -EAGAIN, 503),
			    "token request failed: HTTP 503; next try in 2 s");
	/* Within the hold nothing is sent. */
	assert_string_equal(token_fails(a, -EAGAIN, 503),
			    "token request failed: HTTP 503; next try in 2 s");
	assert_int_equal(fake.n_sent, 1);
}

static void test_retry_after_lengthens_hold(void **state)
{
	struct fixture *f = *state;
	struct auth *a = new_auth(f, AUTH_SECRET);

	fake_push(0, 429,
		  "{\"error\":\"temporarily_unavailable\","
		  "\"error_description\":\"AADSTS50196: loop\"}",
		  7.5);
	assert_string_equal(token_fails(a, -EAGAIN, 429),
			    "token request failed: temporarily_unavailable: "
			    "AADSTS50196: loop; next try in 8 s");
}

static void test_retry_after_is_capped(void **state)
{
	struct fixture *f = *state;
	struct auth *a = new_auth(f, AUTH_SECRET);

	fake_push(0, 503, "", 3600);
	assert_string_equal(token_fails(a, -EAGAIN, 503),
			    "token request failed: HTTP 503; next try in 30 s");
}

static void test_no_answer(void **state)
{
	struct fixture *f = *state;
	struct auth *a = new_auth(f, AUTH_SECRET);

	fake_push(-ECONNREFUSED, 0, NULL, -1);
	assert_string_equal(token_fails(a, -EAGAIN, 0),
			    "token request failed: POST /x: Connection "
			    "refused; next try in 2 s");
}

static void test_out_of_memory_in_send_is_not_retried(void **state)
{
	struct fixture *f = *state;
	struct auth *a = new_auth(f, AUTH_SECRET);

	fake_push(-ENOMEM, 0, NULL, -1);
	fake_push(0, 200, OK_BODY, -1);
	(void)token_fails(a, -ENOMEM, 0);
	assert_string_equal(token_ok(a), "tok-1");
}

static void test_unreadable_success(void **state)
{
	struct fixture *f = *state;
	struct auth *a = new_auth(f, AUTH_SECRET);

	fake_push(0, 200, "{\"access_token\":", -1);
	fake_push(0, 200,
		  "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
		  "\"access_token\":\"tok-\\u00e9\"}",
		  -1);
	(void)token_fails(a, -EBADMSG, 200);
	assert_string_equal(token_fails(a, -EBADMSG, 200),
			    "token response unreadable: access_token: not a "
			    "token");
}

/* ---- certificate ------------------------------------------------------ */

static X509 *make_cert(EVP_PKEY *pkey)
{
	X509 *x = X509_new();
	X509_NAME *name;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_int_equal(X509_set_pubkey(x, pkey), 1);
	name = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(
				 name, "CN", MBSTRING_ASC,
				 (const unsigned char *)"licensed", -1, -1, 0),
			 1);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);
	return x;
}

static void make_pem(struct fixture *f)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;

	assert_non_null(b);
	f->key = EVP_RSA_gen(2048);
	assert_non_null(f->key);
	f->cert = make_cert(f->key);
	assert_int_equal(PEM_write_bio_X509(b, f->cert), 1);
	assert_int_equal(
		PEM_write_bio_PrivateKey(b, f->key, NULL, NULL, 0, NULL, NULL),
		1);
	n = BIO_get_mem_data(b, &data);
	f->pem = strndup(data, (size_t)n);
	assert_non_null(f->pem);
	BIO_free(b);
}

static cJSON *jwt_part(const char *s, size_t len)
{
	char buf[4096];
	unsigned char out[4096];
	size_t pad = (4 - len % 4) % 4;
	int n;

	assert_true(len + pad < sizeof(buf));
	for (size_t i = 0; i < len; i++)
		buf[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	memset(buf + len, '=', pad);
	n = EVP_DecodeBlock(out, (const unsigned char *)buf, (int)(len + pad));
	assert_true(n > (int)pad);
	return cJSON_ParseWithLength((const char *)out, (size_t)n - pad);
}

static bool verify(EVP_PKEY *pub, const char *jwt)
{
	const char *dot = strrchr(jwt, '.');
	unsigned char sig[512], b64[1024];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t len = strlen(dot + 1), pad = (4 - len % 4) % 4;
	bool ok;
	int n;

	assert_true(len + pad < sizeof(b64));
	for (size_t i = 0; i < len; i++)
		b64[i] = dot[1 + i] == '-'   ? '+'
			 : dot[1 + i] == '_' ? '/'
					     : dot[1 + i];
	memset(b64 + len, '=', pad);
	n = EVP_DecodeBlock(sig, b64, (int)(len + pad));
	assert_non_null(md);
	assert_int_equal(
		EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, pub), 1);
	assert_int_equal(
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32), 1);
	ok = EVP_DigestVerify(md, sig, (size_t)n - pad,
			      (const unsigned char *)jwt,
			      (size_t)(dot - jwt)) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok;
}

static void check_claims(const char *jwt)
{
	const char *dot = strchr(jwt, '.');
	const char *dot2 = strchr(dot + 1, '.');
	cJSON *c = jwt_part(dot + 1, (size_t)(dot2 - dot - 1));
	double now = (double)time(NULL), nbf, exp;

	assert_non_null(c);
	assert_string_equal(cJSON_GetObjectItem(c, "aud")->valuestring,
			    TOKEN_URL);
	assert_string_equal(cJSON_GetObjectItem(c, "iss")->valuestring, CLIENT);
	assert_string_equal(cJSON_GetObjectItem(c, "sub")->valuestring, CLIENT);
	assert_int_equal(strlen(cJSON_GetObjectItem(c, "jti")->valuestring),
			 36);
	nbf = cJSON_GetObjectItem(c, "nbf")->valuedouble;
	exp = cJSON_GetObjectItem(c, "exp")->valuedouble;
	assert_true(nbf <= now && nbf >= now - 5);
	assert_true(exp == nbf + 600);
	cJSON_Delete(c);
}

static void test_certificate_request(void **state)
{
	struct fixture *f = *state;
	struct auth *a;
	char *jwt, *first;

	make_pem(f);
	a = new_auth(f, AUTH_CERTIFICATE);
	fake_push(0, 200, OK_BODY, -1);
	fake_push(0, 200, OK_BODY, -1);
	assert_string_equal(token_ok(a), "tok-1");
	assert_string_equal(fake.method, "POST");
	assert_string_equal(fake.url, TOKEN_URL);
	assert_field(fake.body, "client_id", CLIENT);
	assert_field(fake.body, "scope",
		     "https%3A%2F%2Fgraph.example%2F.default");
	assert_field(fake.body, "grant_type", "client_credentials");
	assert_field(fake.body, "client_assertion_type",
		     "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3A"
		     "jwt-bearer");
	assert_null(form_field(fake.body, "client_secret"));
	jwt = form_field(fake.body, "client_assertion");
	assert_non_null(jwt);
	check_claims(jwt);
	assert_true(verify(X509_get0_pubkey(f->cert), jwt));
	/* Each request carries a new assertion (new jti). */
	first = jwt;
	auth_invalidate(a);
	assert_string_equal(token_ok(a), "tok-1");
	jwt = form_field(fake.body, "client_assertion");
	assert_string_not_equal(jwt, first);
	free(first);
	free(jwt);
}

static void test_certificate_refused(void **state)
{
	struct fixture *f = *state;
	struct auth *a;

	make_pem(f);
	a = new_auth(f, AUTH_CERTIFICATE);
	fake_push(0, 401,
		  "{\"error\":\"invalid_client\",\"error_description\":"
		  "\"AADSTS700027: Client assertion contains an invalid "
		  "signature.\",\"error_codes\":[700027]}",
		  -1);
	assert_string_equal(token_fails(a, -EACCES, 401),
			    "token request failed: AADSTS700027: certificate "
			    "not registered or signature invalid; upload the "
			    "certificate to the app registration");
}

/* ---- managed identity ------------------------------------------------- */

static void test_imds_request(void **state)
{
	struct fixture *f = *state;
	struct auth_options o = options(f, AUTH_MANAGED_IDENTITY);
	struct http_error e = { 0, "" };
	const char *t = NULL;

	o.client_id = NULL;
	assert_int_equal(auth_new(&o, &f->auth, &e), 0);
	/* Its own client, never through a proxy. */
	assert_non_null(fake.created);
	assert_ptr_not_equal(fake.created, f->http);
	assert_true(fake.created->has_proxy);
	assert_string_equal(fake.created->proxy, "");
	fake_push(0, 200,
		  "{\"access_token\":\"tok-mi\",\"refresh_token\":\"\","
		  "\"expires_in\":\"3599\",\"expires_on\":\"1750003599\","
		  "\"not_before\":\"1750000000\",\"resource\":"
		  "\"https://graph.example/\",\"token_type\":\"Bearer\"}",
		  -1);
	assert_int_equal(auth_token(f->auth, &t, &e), 0);
	assert_string_equal(t, "tok-mi");
	assert_ptr_equal(fake.last_http, fake.created);
	assert_string_equal(fake.method, "GET");
	assert_string_equal(fake.url, IMDS_URL);
	assert_true(has_header("Metadata: true"));
	assert_null(fake.body);
}

static void test_imds_user_assigned(void **state)
{
	struct fixture *f = *state;
	struct auth *a = new_auth(f, AUTH_MANAGED_IDENTITY);

	fake_push(0, 400,
		  "{\"error\":\"invalid_request\",\"error_description\":"
		  "\"Identity not found\"}",
		  -1);
	assert_string_equal(token_fails(a, -EACCES, 400),
			    "token request failed: invalid_request: Identity "
			    "not found");
	assert_string_equal(fake.url, IMDS_URL "&client_id=" CLIENT);
}

static void test_imds_updating_is_retryable(void **state)
{
	struct fixture *f = *state;
	struct auth *a = new_auth(f, AUTH_MANAGED_IDENTITY);
	struct auth *b;

	fake_push(0, 410, "", -1);
	assert_string_equal(token_fails(a, -EAGAIN, 410),
			    "token request failed: HTTP 410; next try in 2 s");
	auth_free(a);
	f->auth = NULL;
	b = new_auth(f, AUTH_MANAGED_IDENTITY);
	fake_push(0, 404, "", -1);
	(void)token_fails(b, -EAGAIN, 404);
	/* The v2 endpoint's 404 is final. */
	auth_free(b);
	f->auth = NULL;
	b = new_auth(f, AUTH_SECRET);
	fake_push(0, 404, "", -1);
	assert_string_equal(token_fails(b, -EACCES, 404),
			    "token request failed: HTTP 404");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_encode),
		cmocka_unit_test(test_describe_known_codes),
		cmocka_unit_test(test_describe_other_errors),
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_new_refuses_incomplete_options),
		T(test_new_refuses_bad_pem),
		T(test_secret_request_and_cache),
		T(test_invalidate_fetches_again),
		T(test_short_lifetime_renews_at_half),
		T(test_secret_refused),
		T(test_unavailable_is_held),
		T(test_retry_after_lengthens_hold),
		T(test_retry_after_is_capped),
		T(test_no_answer),
		T(test_out_of_memory_in_send_is_not_retried),
		T(test_unreadable_success),
		T(test_certificate_request),
		T(test_certificate_refused),
		T(test_imds_request),
		T(test_imds_user_assigned),
		T(test_imds_updating_is_retryable),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
