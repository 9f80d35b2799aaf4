/*
 * jwt: the signed client assertion of the certificate flow (GRAPH.md 1.2).
 *
 * Loads an RSA key and its certificate from PEM text, and builds compact
 * JWTs signed PS256 (RSASSA-PSS, SHA-256, MGF1-SHA-256, salt length 32)
 * whose header names the certificate by x5t#S256.  Pure apart from the
 * randomness of PSS salts and jti values: the caller passes the clock, no
 * I/O, no logging.  It knows nothing of HTTP or forms (auth.c sends the
 * assertion).  Key material stays inside struct jwt_key; built tokens are
 * the caller's to wipe and free.
 */
#ifndef LICENSED_JWT_H
#define LICENSED_JWT_H

#include <stddef.h>
#include <stdint.h>

/* Assertion lifetime: exp = nbf + this (docs advise 5 to 10 minutes). */
#define JWT_LIFETIME_SEC 600

/* Largest PEM text accepted (certificate, chain and key). */
#define JWT_MAX_PEM (256 * 1024)

/* Longest aud, iss or jti accepted, in bytes before JSON escaping. */
#define JWT_MAX_CLAIM 1024

/* Smallest RSA modulus accepted (Entra requires 2048 bits). */
#define JWT_MIN_RSA_BITS 2048

/* Characters of base64url without padding for n bytes. */
#define JWT_BASE64URL_LEN(n) ((n) / 3 * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))

/* x5t#S256: base64url of a 32-byte SHA-256 digest. */
#define JWT_THUMBPRINT_LEN JWT_BASE64URL_LEN(32)

/* A jti: a version-4 GUID in lower-case text. */
#define JWT_JTI_LEN 36

struct jwt_key;

/*
 * Parse PEM text holding one unencrypted RSA private key (PKCS#8 or
 * PKCS#1) and one or more certificates; the first certificate that matches
 * the key is the one named in assertions, so a chain may come with it in
 * any order.  Encrypted keys are refused, never prompted for.  Returns 0
 * and *ret (free with jwt_key_free), -EINVAL with *reterr_reason (a static
 * string without secrets), or -ENOMEM.
 */
int jwt_key_load(const char *pem, struct jwt_key **ret,
		 const char **reterr_reason);
void jwt_key_free(struct jwt_key *k);

/* The certificate's x5t#S256 (JWT_THUMBPRINT_LEN characters). */
const char *jwt_key_thumbprint(const struct jwt_key *k);

struct jwt_claims {
	const char *aud; /* the token endpoint URL */
	const char *iss; /* the client id; also the sub claim */
	const char *jti; /* unique per assertion, see jwt_new_jti() */
	int64_t now;	 /* wall clock, epoch seconds: nbf and iat */
};

/*
 * Build and sign a compact JWT: header {"alg":"PS256","typ":"JWT",
 * "x5t#S256":...}, claims aud, iss, sub, jti, nbf, iat and exp (now +
 * JWT_LIFETIME_SEC).  Returns 0 and *ret (NUL-terminated; the caller wipes
 * it with explicit_bzero and frees it), -EINVAL (a claim longer than
 * JWT_MAX_CLAIM), -ENOMEM, or -EIO (libcrypto failed to sign).
 */
int jwt_build(const struct jwt_key *k, const struct jwt_claims *c, char **ret);

/* A fresh random version-4 GUID for jti.  Returns 0, or -EIO (no RNG). */
int jwt_new_jti(char ret[JWT_JTI_LEN + 1]);

/*
 * base64url (RFC 4648 section 5) of len bytes into buf, without padding,
 * NUL-terminated.  Returns the number of characters, or -ENOBUFS when buf
 * cannot hold JWT_BASE64URL_LEN(len) + 1 bytes (buf is then untouched).
 */
int jwt_base64url(const void *data, size_t len, char *buf, size_t size);

#endif
