/*
 * jwt: PS256 client assertions from a PEM certificate and key.  See jwt.h.
 *
 * JSON is written by hand into bounded buffers rather than with cJSON: the
 * two objects are flat, their keys fixed, and only three strings need
 * escaping.  Every libcrypto call runs between ERR_set_mark() and
 * ERR_pop_to_mark() so that no error of ours stays queued for the TLS code
 * of libcurl, which shares the thread's error queue.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "graph/jwt.h"
#include "policy/guid.h"

static_assert(JWT_JTI_LEN == GUID_STRLEN, "a jti is a GUID");

/* Longest JSON text of the claims: three escaped strings plus numbers. */
#define JWT_MAX_CLAIMS_JSON (3 * 6 * JWT_MAX_CLAIM + 256)

struct jwt_key {
	EVP_PKEY *pkey;
	char thumbprint[JWT_THUMBPRINT_LEN + 1];
};

/* A bounded text buffer: once something did not fit, it stays full. */
struct text {
	char *p;
	size_t size;
	size_t len;
	bool is_full;
};

int jwt_base64url(const void *data, size_t len, char *buf, size_t size)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *p = data;
	size_t o = 0;

	if (len > (size_t)INT_MAX / 4 * 3 || JWT_BASE64URL_LEN(len) >= size)
		return -ENOBUFS;
	for (size_t i = 0; i < len; i += 3) {
		size_t n = len - i < 3 ? len - i : 3;
		uint32_t v = (uint32_t)p[i] << 16;

		if (n > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (n > 2)
			v |= p[i + 2];
		for (size_t j = 0; j <= n; j++)
			buf[o++] = alphabet[(v >> (18 - 6 * j)) & 63];
	}
	buf[o] = '\0';
	return (int)o;
}

static void text_add(struct text *t, const char *s, size_t n)
{
	if (t->is_full || n >= t->size - t->len) {
		t->is_full = true;
		return;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void text_add_str(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

/* s as a JSON string: quotes, backslashes and controls escaped. */
static void text_add_json(struct text *t, const char *s)
{
	char esc[8];

	text_add(t, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			text_add(t, esc, 2);
		} else if (c < 0x20) {
			(void)snprintf(esc, sizeof(esc), "\\u%04x", c);
			text_add(t, esc, 6);
		} else {
			text_add(t, s, 1);
		}
	}
	text_add(t, "\"", 1);
}

static bool is_claim_ok(const char *s)
{
	return s && strnlen(s, JWT_MAX_CLAIM + 1) <= JWT_MAX_CLAIM;
}

/* The claims object into buf.  Returns 0 or -EINVAL. */
static int claims_json(const struct jwt_claims *c, char *buf, size_t size)
{
	struct text t = { buf, size, 0, false };
	char num[128];

	if (!is_claim_ok(c->aud) || !is_claim_ok(c->iss) ||
	    !is_claim_ok(c->jti) || c->now < 0 ||
	    c->now > INT64_MAX - JWT_LIFETIME_SEC)
		return -EINVAL;
	text_add_str(&t, "{\"aud\":");
	text_add_json(&t, c->aud);
	text_add_str(&t, ",\"iss\":");
	text_add_json(&t, c->iss);
	text_add_str(&t, ",\"sub\":");
	text_add_json(&t, c->iss);
	text_add_str(&t, ",\"jti\":");
	text_add_json(&t, c->jti);
	(void)snprintf(num, sizeof(num),
		       ",\"nbf\":%" PRId64 ",\"iat\":%" PRId64
		       ",\"exp\":%" PRId64 "}",
		       c->now, c->now, c->now + JWT_LIFETIME_SEC);
	text_add_str(&t, num);
	return t.is_full ? -EINVAL : 0;
}

/*
 * "base64url(header).base64url(claims)" in a buffer with room for
 * ".signature" of up to sig_max bytes.  Returns NULL when out of memory.
 */
static char *signing_input(const char *header, const char *claims,
			   size_t sig_max, size_t *ret_len)
{
	size_t h = JWT_BASE64URL_LEN(strlen(header));
	size_t c = JWT_BASE64URL_LEN(strlen(claims));
	size_t size = h + 1 + c + 1 + JWT_BASE64URL_LEN(sig_max) + 1;
	char *p = malloc(size);

	if (!p)
		return NULL;
	(void)jwt_base64url(header, strlen(header), p, size);
	p[h] = '.';
	(void)jwt_base64url(claims, strlen(claims), p + h + 1, size - h - 1);
	*ret_len = h + 1 + c;
	return p;
}

/* RSASSA-PSS over SHA-256 with a salt as long as the digest (PS256). */
static int sign_pss(EVP_PKEY *pkey, const char *in, size_t len,
		    unsigned char *sig, size_t *sig_len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL; /* owned by md */
	bool is_ok;

	if (!md)
		return -ENOMEM;
	(void)ERR_set_mark();
	is_ok = EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, pkey) == 1;
	is_ok = is_ok &&
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1;
	is_ok = is_ok && EVP_PKEY_CTX_set_rsa_pss_saltlen(
				 pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
	is_ok = is_ok && EVP_DigestSign(md, sig, sig_len,
					(const unsigned char *)in, len) == 1;
	(void)ERR_pop_to_mark();
	EVP_MD_CTX_free(md);
	return is_ok ? 0 : -EIO;
}

int jwt_build(const struct jwt_key *k, const struct jwt_claims *c, char **ret)
{
	char header[64 + JWT_THUMBPRINT_LEN];
	size_t sig_max = (size_t)EVP_PKEY_get_size(k->pkey), sig_len, n;
	unsigned char *sig = NULL;
	char *claims = NULL, *jwt = NULL;
	int r;

	claims = malloc(JWT_MAX_CLAIMS_JSON);
	sig = malloc(sig_max);
	if (!claims || !sig) {
		r = -ENOMEM;
		goto out;
	}
	r = claims_json(c, claims, JWT_MAX_CLAIMS_JSON);
	if (r < 0)
		goto out;
	(void)snprintf(
		header, sizeof(header),
		"{\"alg\":\"PS256\",\"typ\":\"JWT\",\"x5t#S256\":\"%s\"}",
		k->thumbprint);
	jwt = signing_input(header, claims, sig_max, &n);
	if (!jwt) {
		r = -ENOMEM;
		goto out;
	}
	sig_len = sig_max;
	r = sign_pss(k->pkey, jwt, n, sig, &sig_len);
	if (r < 0)
		goto out;
	jwt[n] = '.';
	(void)jwt_base64url(sig, sig_len, jwt + n + 1,
			    JWT_BASE64URL_LEN(sig_max) + 1);
	*ret = jwt;
	jwt = NULL;
out:
	free(claims);
	free(sig);
	free(jwt);
	return r;
}

/* Never prompt for a pass phrase: a daemon has no one to ask. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int read_key(const char *pem, size_t len, EVP_PKEY **ret,
		    const char **reterr_reason)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pkey = NULL;
	int r = -EINVAL;

	if (!bio)
		return -ENOMEM;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
	if (!pkey)
		*reterr_reason = "no private key found (encrypted keys are "
				 "not supported)";
	else if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA)
		*reterr_reason = "the private key is not an RSA key";
	else if (EVP_PKEY_get_bits(pkey) < JWT_MIN_RSA_BITS)
		*reterr_reason = "the RSA key is shorter than 2048 bits";
	else
		r = 0;
	if (r == 0) {
		*ret = pkey;
		pkey = NULL;
	}
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return r;
}

/* The first certificate in pem whose public key matches pkey. */
static int find_cert(const char *pem, size_t len, EVP_PKEY *pkey, X509 **ret,
		     const char **reterr_reason)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *x;
	size_t n = 0;

	if (!bio)
		return -ENOMEM;
	while ((x = PEM_read_bio_X509(bio, NULL, no_password, NULL))) {
		n++;
		if (X509_check_private_key(x, pkey) == 1)
			break;
		X509_free(x);
	}
	BIO_free(bio);
	if (x) {
		*ret = x;
		return 0;
	}
	*reterr_reason = n == 0 ? "no certificate found"
				: "the private key does not match the "
				  "certificate";
	return -EINVAL;
}

static int thumbprint(X509 *x, char ret[JWT_THUMBPRINT_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	if (X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32)
		return -ENOMEM;
	(void)jwt_base64url(md, n, ret, JWT_THUMBPRINT_LEN + 1);
	return 0;
}

int jwt_key_load(const char *pem, struct jwt_key **ret,
		 const char **reterr_reason)
{
	size_t len = strnlen(pem, JWT_MAX_PEM + 1);
	const char *reason = "the PEM text is too large";
	struct jwt_key *k = NULL;
	EVP_PKEY *pkey = NULL;
	X509 *cert = NULL;
	int r = -EINVAL;

	(void)ERR_set_mark();
	if (len > JWT_MAX_PEM)
		goto out;
	r = read_key(pem, len, &pkey, &reason);
	if (r < 0)
		goto out;
	r = find_cert(pem, len, pkey, &cert, &reason);
	if (r < 0)
		goto out;
	k = calloc(1, sizeof(*k));
	r = k ? thumbprint(cert, k->thumbprint) : -ENOMEM;
	if (r < 0)
		goto out;
	k->pkey = pkey;
	pkey = NULL;
	*ret = k;
	k = NULL;
out:
	(void)ERR_pop_to_mark();
	if (r == -EINVAL)
		*reterr_reason = reason;
	jwt_key_free(k);
	EVP_PKEY_free(pkey);
	X509_free(cert);
	return r;
}

void jwt_key_free(struct jwt_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

const char *jwt_key_thumbprint(const struct jwt_key *k)
{
	return k->thumbprint;
}

int jwt_new_jti(char ret[JWT_JTI_LEN + 1])
{
	struct guid g;

	(void)ERR_set_mark();
	if (RAND_bytes(g.b, sizeof(g.b)) != 1) {
		(void)ERR_pop_to_mark();
		return -EIO;
	}
	(void)ERR_pop_to_mark();
	g.b[6] = (uint8_t)((g.b[6] & 0x0f) | 0x40); /* version 4 */
	g.b[8] = (uint8_t)((g.b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	guid_format(&g, ret);
	return 0;
}
