/*
 * decode: Graph JSON -> model structs.  Pure functions over text: no I/O,
 * no allocation beyond the results, fuzzed (tests/fuzz/fuzz_decode.c).
 *
 * Every decoder takes the raw body and its length, refuses anything that is
 * not exactly the documented shape (truncated JSON, a missing "value", an
 * id that is not a GUID, numbers out of range) with -EBADMSG and a reason,
 * and never returns a partial result: a short member list must never reach
 * the planner.  Objects of other types in a member list (devices, groups,
 * contacts) are skipped and counted.  GUIDs are kept binary, strings
 * copied; the caller owns the results.
 *
 * Common to every decoder: json need not be NUL-terminated; the whole of
 * len bytes must be one JSON object (trailing blanks allowed) in UTF-8,
 * without control characters or "\u0000" in strings, at most
 * DECODE_MAX_DEPTH deep.  Results (ret*) are written only on success,
 * reterr only on failure (it may be NULL).  -ENOMEM is returned when an
 * allocation fails, except inside cJSON's parser, which cannot tell that
 * from bad syntax (-EBADMSG).  The reason in reterr names the JSON path
 * ("value[3].skuId: not a GUID") and never quotes a value.
 */
#ifndef LICENSED_DECODE_H
#define LICENSED_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "policy/model.h"

/* Deepest JSON nesting accepted. */
#define DECODE_MAX_DEPTH 32

/* Longest @odata.nextLink accepted. */
#define DECODE_MAX_LINK 8192

/* Largest body accepted (http.h caps responses at the same size). */
#define DECODE_MAX_BODY (32 * 1024 * 1024)

/* Most JSON values (array elements and members) in one body. */
#define DECODE_MAX_VALUES (4 * 1024 * 1024)

/* Most objects on one page of users ($top is at most 999). */
#define DECODE_MAX_PAGE_OBJECTS 10000

/* Longest strings accepted, in bytes. */
#define DECODE_MAX_UPN	 1024
#define DECODE_MAX_NAME	 256   /* skuPartNumber, plan and group names */
#define DECODE_MAX_TOKEN 65536 /* access_token */

struct decode_error {
	char text[256];
};

/*
 * GET /subscribedSkus.  Returns 0 and *ret / *ret_n, or -EBADMSG/-ENOMEM.
 * skuId, skuPartNumber and consumedUnits are required; prepaidUnits and
 * its fields default to 0; an unknown capabilityStatus is SKU_OTHER.  At
 * most SNAPSHOT_MAX_SKUS SKUs and SNAPSHOT_MAX_PLANS plans each.  Release
 * with decode_skus_free(*ret, *ret_n).
 */
int decode_skus(const char *json, size_t len, struct sku **ret, size_t *ret_n,
		struct decode_error *reterr);
void decode_skus_free(struct sku *skus, size_t n);

/* One page of users (transitiveMembers, /users?$filter=...). */
struct user_page {
	struct user *users;
	size_t n_users;
	size_t n_skipped; /* non-user objects on the page */
	char *next_link;  /* @odata.nextLink, or NULL on the last page */
};

/*
 * Returns 0 and *ret (release with decode_user_page_clear), or
 * -EBADMSG/-ENOMEM.  "value" must be an array.  Per user: id and
 * userPrincipalName and assignedLicenses (non-null in the schema) are
 * required; accountEnabled missing or null reads as
 * true (only a stated false is believed); usageLocation null is "", else
 * two letters, stored upper case.  assignments: one per
 * licenseAssignmentStates entry (error "None" is stored as ""), then one
 * ASSIGNED_UNKNOWN per assignedLicenses SKU that no state entry names.
 */
int decode_user_page(const char *json, size_t len, struct user_page *ret,
		     struct decode_error *reterr);
void decode_user_page_clear(struct user_page *p);

/* Release what one struct user owns (not the struct itself). */
void decode_user_clear(struct user *u);

/*
 * GET /groups/{id}?$select=id,displayName.  Returns 0, *ret_id and a new
 * string in *ret_name ("" when displayName is null), or -EBADMSG/-ENOMEM.
 */
int decode_group(const char *json, size_t len, struct guid *ret_id,
		 char **ret_name, struct decode_error *reterr);

/* The error body of any Graph call: {"error":{"code","message"}}. */
struct graph_error_body {
	char code[64];
	char message[384];
};

/*
 * Returns 0 with code and message filled (missing ones "", long ones cut
 * between UTF-8 characters, control characters turned into spaces), or
 * -EBADMSG when the body is not of that shape.  *ret is untouched then.
 */
int decode_graph_error(const char *json, size_t len,
		       struct graph_error_body *ret);

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

/* One inner response of a $batch. */
struct batch_reply {
	char id[16];
	long status;
	double retry_after_sec; /* from its headers, or -1 */
	char *body;		/* the inner body re-serialised, or NULL */
	size_t body_len;
};

/*
 * POST /$batch response: {"responses":[...]}.  Inner responses may come
 * in any order; duplicates (ids compared case-insensitively) or an unknown
 * shape are -EBADMSG.  At most ENCODE_BATCH_MAX; ids of 1 to 15 bytes;
 * status 100-599.  Retry-After (header name in any case) as decimal
 * seconds, a string or a number; an HTTP date or junk reads as -1.  Bodies
 * are cJSON-printed, released by decode_batch_free with free().
 */
int decode_batch(const char *json, size_t len, struct batch_reply **ret,
		 size_t *ret_n, struct decode_error *reterr);
void decode_batch_free(struct batch_reply *r, size_t n);

#endif
