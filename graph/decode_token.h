/*
 * decode_token: the answer of a token endpoint or IMDS -> the access token
 * and its lifetime, or the error the endpoint gave.  It does not cache
 * or refresh the token (auth.c).  Rules common to every
 * decoder: decode_common.h.
 */
#ifndef LICENSED_DECODE_TOKEN_H
#define LICENSED_DECODE_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "graph/decode_common.h"

/* Longest access_token accepted, in bytes. */
#define DECODE_MAX_TOKEN 65536

/*
 * A token endpoint or IMDS answer.  On success access_token is set and
 * expires_in > 0 (a JSON number, or a string as IMDS sends it).  On an
 * error body, error/description/aadsts are set and access_token is NULL.
 */
struct token_reply {
	char *access_token; /* owned; wipe before free */
	int64_t expires_in;
	char error[64];	       /* "invalid_client", ... */
	char description[512]; /* error_description */
	long aadsts;	       /* first of error_codes, or 0 */
};

/*
 * Returns 0 for either kind of reply (release with decode_token_clear), or
 * -EBADMSG/-ENOMEM.  The token is never copied into any text.
 */
int decode_token(const char *json, size_t len, struct token_reply *ret,
		 struct decode_error *reterr);
void decode_token_clear(struct token_reply *t);

#endif
