/*
 * test_jwt: PEM loading, x5t#S256, base64url and PS256 client assertions.
 *
 * Keys and self-signed certificates are made here with libcrypto, so no
 * fixture files are needed.  Signatures are checked with EVP_DigestVerify
 * (PSS, salt length 32, MGF1-SHA-256) against the certificate's public
 * key, and the thumbprint against an independent SHA-256 of the DER.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "graph/jwt.h"
#include "policy/guid.h"

#define NOW	INT64_C(1750000000)
#define CLIENT	"6fd2c87f-b296-42f0-b197-1e91e994b900"
#define AUD	"https://login.example/contoso.example/oauth2/v2.0/token"
#define JTI	"0b9a3f4e-2c1d-4e5f-8a7b-6c5d4e3f2a1b"
#define MAX_JWT 65536

struct fixture {
	EVP_PKEY *key; /* RSA 2048 */
	X509 *cert;
	EVP_PKEY *other; /* another RSA 2048 key */
	X509 *other_cert;
	struct jwt_key *jk; /* loaded from cert + key */
};

struct jwt_parts {
	cJSON *header;
	cJSON *claims;
	unsigned char sig[1024];
	size_t sig_len;
	size_t signed_len; /* length of "header.claims" */
};

static X509 *make_cert(EVP_PKEY *pkey, const char *cn)
{
	X509 *x = X509_new();
	X509_NAME *name;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 7), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_int_equal(X509_set_pubkey(x, pkey), 1);
	name = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
						    (const unsigned char *)cn,
						    -1, -1, 0),
			 1);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);
	return x;
}

static BIO *pem_bio(void)
{
	BIO *b = BIO_new(BIO_s_mem());

	assert_non_null(b);
	return b;
}

static void put_key(BIO *b, EVP_PKEY *k)
{
	assert_int_equal(
		PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL), 1);
}

static void put_cert(BIO *b, X509 *x)
{
	assert_int_equal(PEM_write_bio_X509(b, x), 1);
}

/* The BIO's contents as a NUL-terminated string; frees the BIO. */
static char *pem_text(BIO *b)
{
	char *data, *s;
	long n = BIO_get_mem_data(b, &data);

	assert_true(n >= 0);
	s = calloc(1, (size_t)n + 1);
	assert_non_null(s);
	memcpy(s, data, (size_t)n);
	BIO_free(b);
	return s;
}

static char *pem_of(X509 *x, EVP_PKEY *k)
{
	BIO *b = pem_bio();

	if (x)
		put_cert(b, x);
	if (k)
		put_key(b, k);
	return pem_text(b);
}

static int group_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *why = NULL;
	char *pem;

	if (!f)
		return -1;
	f->key = EVP_RSA_gen(2048);
	f->other = EVP_RSA_gen(2048);
	if (!f->key || !f->other)
		return -1;
	f->cert = make_cert(f->key, "licensed test");
	f->other_cert = make_cert(f->other, "another");
	pem = pem_of(f->cert, f->key);
	if (jwt_key_load(pem, &f->jk, &why) != 0)
		return -1;
	free(pem);
	*state = f;
	return 0;
}

static int group_teardown(void **state)
{
	struct fixture *f = *state;

	jwt_key_free(f->jk);
	X509_free(f->cert);
	X509_free(f->other_cert);
	EVP_PKEY_free(f->key);
	EVP_PKEY_free(f->other);
	free(f);
	return 0;
}

/* Independent base64url: libcrypto's base64, then the URL alphabet. */
static void b64url_ref(const unsigned char *in, size_t len, char *out)
{
	int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);

	for (int i = 0; i < n; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
		else if (out[i] == '=')
			out[i] = '\0';
	}
	out[n] = '\0';
}

static size_t b64url_decode(const char *s, size_t len, unsigned char *out,
			    size_t size)
{
	char *buf = calloc(1, len + 4);
	size_t pad = (4 - len % 4) % 4;
	int n;

	assert_non_null(buf);
	assert_true(pad < 3);
	for (size_t i = 0; i < len; i++) {
		assert_true(strchr("+/=", s[i]) == NULL);
		buf[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	}
	memset(buf + len, '=', pad);
	assert_true((len + pad) / 4 * 3 <= size);
	n = EVP_DecodeBlock(out, (const unsigned char *)buf, (int)(len + pad));
	assert_true(n >= 0);
	free(buf);
	return (size_t)n - pad;
}

static cJSON *decode_json(const char *s, size_t len)
{
	unsigned char buf[8192];
	size_t n = b64url_decode(s, len, buf, sizeof(buf));
	cJSON *j = cJSON_ParseWithLength((const char *)buf, n);

	assert_non_null(j);
	assert_true(cJSON_IsObject(j));
	return j;
}

static void split(const char *jwt, struct jwt_parts *p)
{
	const char *dot1 = strchr(jwt, '.');
	const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;

	assert_non_null(dot2);
	assert_null(strchr(dot2 + 1, '.'));
	p->header = decode_json(jwt, (size_t)(dot1 - jwt));
	p->claims = decode_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	p->sig_len = b64url_decode(dot2 + 1, strlen(dot2 + 1), p->sig,
				   sizeof(p->sig));
	p->signed_len = (size_t)(dot2 - jwt);
}

static void parts_clear(struct jwt_parts *p)
{
	cJSON_Delete(p->header);
	cJSON_Delete(p->claims);
}

static const char *str_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static double num_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

static bool verify_pss(EVP_PKEY *pub, const char *in, size_t len,
		       const unsigned char *sig, size_t sig_len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	bool ok;

	assert_non_null(md);
	assert_int_equal(
		EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, pub), 1);
	assert_int_equal(
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()), 1);
	ok = EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)in,
			      len) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok;
}

static char *build(const struct jwt_key *k, const char *aud)
{
	struct jwt_claims c = {
		.aud = aud, .iss = CLIENT, .jti = JTI, .now = NOW
	};
	char *jwt = NULL;

	assert_int_equal(jwt_build(k, &c, &jwt), 0);
	assert_non_null(jwt);
	return jwt;
}

static void test_base64url_vectors(void **state)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "", "" },
		{ "f", "Zg" },
		{ "fo", "Zm8" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg" },
		{ "fooba", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy" },
	};
	static const unsigned char url[] = { 0xfb, 0xff, 0xbf, 0xff, 0xef };
	char buf[16];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = strlen(v[i].in);

		assert_int_equal(jwt_base64url(v[i].in, n, buf, sizeof(buf)),
				 (int)strlen(v[i].out));
		assert_string_equal(buf, v[i].out);
	}
	assert_int_equal(jwt_base64url(url, sizeof(url), buf, sizeof(buf)), 7);
	assert_string_equal(buf, "-_-__-8");
}

static void test_base64url_short_buffer(void **state)
{
	char buf[5] = "xxxx";

	(void)state;
	assert_int_equal(jwt_base64url("foo", 3, buf, 4), -ENOBUFS);
	assert_string_equal(buf, "xxxx");
	assert_int_equal(jwt_base64url("foo", 3, buf, 5), 4);
	assert_int_equal(jwt_base64url("", 0, buf, 0), -ENOBUFS);
}

static void assert_thumbprint(const struct jwt_key *k, X509 *x)
{
	unsigned char *der = NULL, md[SHA256_DIGEST_LENGTH];
	char want[64];
	int n = i2d_X509(x, &der);

	assert_true(n > 0);
	SHA256(der, (size_t)n, md);
	OPENSSL_free(der);
	b64url_ref(md, sizeof(md), want);
	assert_int_equal(strlen(want), JWT_THUMBPRINT_LEN);
	assert_string_equal(jwt_key_thumbprint(k), want);
}

static void test_thumbprint_matches_der_sha256(void **state)
{
	struct fixture *f = *state;

	assert_thumbprint(f->jk, f->cert);
}

/* Key first, PKCS#1 ("RSA PRIVATE KEY"), and a chain in any order. */
static void test_load_orders_and_formats(void **state)
{
	struct fixture *f = *state;
	struct jwt_key *k = NULL;
	const char *why = NULL;
	char *pem;
	BIO *b = pem_bio();

	assert_int_equal(PEM_write_bio_PrivateKey_traditional(
				 b, f->key, NULL, NULL, 0, NULL, NULL),
			 1);
	put_cert(b, f->other_cert);
	put_cert(b, f->cert);
	pem = pem_text(b);
	assert_non_null(strstr(pem, "BEGIN RSA PRIVATE KEY"));
	assert_int_equal(jwt_key_load(pem, &k, &why), 0);
	assert_null(why);
	assert_thumbprint(k, f->cert);
	jwt_key_free(k);
	free(pem);
	assert_int_equal(ERR_peek_error(), 0);
}

static void expect_refused(const char *pem, const char *reason)
{
	struct jwt_key *k = NULL;
	const char *why = NULL;

	assert_int_equal(jwt_key_load(pem, &k, &why), -EINVAL);
	assert_null(k);
	assert_non_null(why);
	assert_non_null(strstr(why, reason));
	assert_int_equal(ERR_peek_error(), 0);
}

static void test_load_refuses_missing_parts(void **state)
{
	struct fixture *f = *state;
	char *pem;

	expect_refused("", "no private key");
	expect_refused("garbage\n-----BEGIN CERTIFICATE-----\nxx\n",
		       "no private key");
	pem = pem_of(f->cert, NULL);
	expect_refused(pem, "no private key");
	free(pem);
	pem = pem_of(NULL, f->key);
	expect_refused(pem, "no certificate");
	free(pem);
	pem = pem_of(f->cert, f->other);
	expect_refused(pem, "does not match");
	free(pem);
}

static void test_load_refuses_weak_and_foreign_keys(void **state)
{
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	EVP_PKEY *small = EVP_RSA_gen(1024);
	X509 *ec_cert, *small_cert;
	char *pem;

	(void)state;
	assert_non_null(ec);
	assert_non_null(small);
	ec_cert = make_cert(ec, "ec");
	small_cert = make_cert(small, "small");
	pem = pem_of(ec_cert, ec);
	expect_refused(pem, "not an RSA key");
	free(pem);
	pem = pem_of(small_cert, small);
	expect_refused(pem, "shorter than 2048 bits");
	free(pem);
	X509_free(ec_cert);
	X509_free(small_cert);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(small);
}

/* An encrypted key is refused without asking for a pass phrase. */
static void test_load_refuses_encrypted_key(void **state)
{
	struct fixture *f = *state;
	BIO *b = pem_bio();
	char *pem;

	put_cert(b, f->cert);
	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(b, f->key,
						       EVP_aes_256_cbc(), "pw",
						       2, NULL, NULL),
			 1);
	pem = pem_text(b);
	assert_non_null(strstr(pem, "ENCRYPTED PRIVATE KEY"));
	expect_refused(pem, "encrypted keys are not supported");
	free(pem);
}

static void test_load_refuses_oversized_pem(void **state)
{
	char *pem = malloc(JWT_MAX_PEM + 2);

	(void)state;
	assert_non_null(pem);
	memset(pem, '\n', JWT_MAX_PEM + 1);
	pem[JWT_MAX_PEM + 1] = '\0';
	expect_refused(pem, "too large");
	free(pem);
}

static void test_build_header_and_claims(void **state)
{
	struct fixture *f = *state;
	char *jwt = build(f->jk, AUD);
	struct jwt_parts p;

	split(jwt, &p);
	assert_int_equal(cJSON_GetArraySize(p.header), 3);
	assert_string_equal(str_of(p.header, "alg"), "PS256");
	assert_string_equal(str_of(p.header, "typ"), "JWT");
	assert_string_equal(str_of(p.header, "x5t#S256"),
			    jwt_key_thumbprint(f->jk));
	assert_int_equal(cJSON_GetArraySize(p.claims), 7);
	assert_string_equal(str_of(p.claims, "aud"), AUD);
	assert_string_equal(str_of(p.claims, "iss"), CLIENT);
	assert_string_equal(str_of(p.claims, "sub"), CLIENT);
	assert_string_equal(str_of(p.claims, "jti"), JTI);
	assert_true(num_of(p.claims, "nbf") == (double)NOW);
	assert_true(num_of(p.claims, "iat") == (double)NOW);
	assert_true(num_of(p.claims, "exp") == (double)(NOW + 600));
	parts_clear(&p);
	free(jwt);
}

static void test_build_signature_verifies(void **state)
{
	struct fixture *f = *state;
	char *jwt = build(f->jk, AUD);
	EVP_PKEY *pub = X509_get0_pubkey(f->cert);
	struct jwt_parts p;

	split(jwt, &p);
	assert_int_equal(p.sig_len, 256);
	assert_true(verify_pss(pub, jwt, p.signed_len, p.sig, p.sig_len));
	/* The check is real: another key or a changed claim fails it. */
	assert_false(verify_pss(f->other, jwt, p.signed_len, p.sig, p.sig_len));
	jwt[p.signed_len - 2] ^= 1;
	assert_false(verify_pss(pub, jwt, p.signed_len, p.sig, p.sig_len));
	parts_clear(&p);
	free(jwt);
}

static void test_build_is_base64url_without_padding(void **state)
{
	struct fixture *f = *state;
	char *jwt = build(f->jk, AUD);
	size_t dots = 0;

	for (const char *s = jwt; *s; s++) {
		assert_true(strchr("+/=", *s) == NULL);
		dots += *s == '.';
	}
	assert_int_equal(dots, 2);
	assert_int_equal(strspn(jwt, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
				     "opqrstuvwxyz0123456789-_."),
			 strlen(jwt));
	free(jwt);
}

/* PSS salts are random: two assertions differ, both verify. */
static void test_build_salts_differ(void **state)
{
	struct fixture *f = *state;
	char *a = build(f->jk, AUD), *b = build(f->jk, AUD);
	struct jwt_parts pa, pb;

	assert_string_not_equal(a, b);
	split(a, &pa);
	split(b, &pb);
	assert_int_equal(pa.signed_len, pb.signed_len);
	assert_memory_equal(a, b, pa.signed_len);
	assert_true(verify_pss(f->key, b, pb.signed_len, pb.sig, pb.sig_len));
	parts_clear(&pa);
	parts_clear(&pb);
	free(a);
	free(b);
}

static void test_build_escapes_strings(void **state)
{
	struct fixture *f = *state;
	const char *odd = "https://x/\"q\"\\b\n\x01/t";
	char *jwt = build(f->jk, odd);
	struct jwt_parts p;

	split(jwt, &p);
	assert_string_equal(str_of(p.claims, "aud"), odd);
	parts_clear(&p);
	free(jwt);
}

static void test_build_claim_limits(void **state)
{
	struct fixture *f = *state;
	char *aud = malloc(JWT_MAX_CLAIM + 2), *jwt = NULL;
	struct jwt_claims c = {
		.aud = aud, .iss = CLIENT, .jti = JTI, .now = NOW
	};
	struct jwt_parts p;

	assert_non_null(aud);
	memset(aud, '\x1f', JWT_MAX_CLAIM); /* escapes to six characters */
	aud[JWT_MAX_CLAIM] = '\0';
	assert_int_equal(jwt_build(f->jk, &c, &jwt), 0);
	split(jwt, &p);
	assert_int_equal(strlen(str_of(p.claims, "aud")), JWT_MAX_CLAIM);
	parts_clear(&p);
	free(jwt);
	jwt = NULL;
	aud[JWT_MAX_CLAIM] = 'x';
	aud[JWT_MAX_CLAIM + 1] = '\0';
	assert_int_equal(jwt_build(f->jk, &c, &jwt), -EINVAL);
	assert_null(jwt);
	c.aud = AUD;
	c.now = -1;
	assert_int_equal(jwt_build(f->jk, &c, &jwt), -EINVAL);
	c.now = INT64_MAX - 599;
	assert_int_equal(jwt_build(f->jk, &c, &jwt), -EINVAL);
	assert_null(jwt);
	free(aud);
}

static void test_jti_is_random_v4_guid(void **state)
{
	char a[JWT_JTI_LEN + 1], b[JWT_JTI_LEN + 1];
	struct guid g;

	(void)state;
	assert_int_equal(jwt_new_jti(a), 0);
	assert_int_equal(jwt_new_jti(b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(strlen(a), JWT_JTI_LEN);
	assert_int_equal(guid_parse(a, &g), 0);
	assert_int_equal(a[14], '4');
	assert_non_null(strchr("89ab", a[19]));
	assert_int_equal(strspn(a, "0123456789abcdef-"), JWT_JTI_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64url_vectors),
		cmocka_unit_test(test_base64url_short_buffer),
		cmocka_unit_test(test_thumbprint_matches_der_sha256),
		cmocka_unit_test(test_load_orders_and_formats),
		cmocka_unit_test(test_load_refuses_missing_parts),
		cmocka_unit_test(test_load_refuses_weak_and_foreign_keys),
		cmocka_unit_test(test_load_refuses_encrypted_key),
		cmocka_unit_test(test_load_refuses_oversized_pem),
		cmocka_unit_test(test_build_header_and_claims),
		cmocka_unit_test(test_build_signature_verifies),
		cmocka_unit_test(test_build_is_base64url_without_padding),
		cmocka_unit_test(test_build_salts_differ),
		cmocka_unit_test(test_build_escapes_strings),
		cmocka_unit_test(test_build_claim_limits),
		cmocka_unit_test(test_jti_is_random_v4_guid),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
