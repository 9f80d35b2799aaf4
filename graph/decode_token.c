/*
 * decode_token: a token endpoint or IMDS answer -> struct token_reply.
 * See decode_token.h.
 *
 * The token is a secret: it is never put in a reason, and cJSON's copy of
 * it is wiped before the tree is freed, on every path.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "graph/decode_common.h"
#include "graph/decode_token.h"
#include "graph/json.h"

/* "3599" as IMDS sends it: 1 to 15 digits. */
static int parse_digits(const char *s, int64_t *ret)
{
	size_t n = strspn(s, "0123456789");
	int64_t v = 0;

	if (n == 0 || n > 15 || s[n] != '\0')
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	*ret = v;
	return 0;
}

/* expires_in: a JSON number (v2 endpoint) or a digit string (IMDS). */
static int read_expires_in(const cJSON *doc, int64_t *ret,
			   struct decode_error *e)
{
	const cJSON *v = json_member(doc, "expires_in");
	int64_t n = 0;
	int r;

	if (!v)
		return json_fail(e, "expires_in: missing");
	r = cJSON_IsString(v) ? parse_digits(v->valuestring, &n)
			      : json_to_count(v, &n);
	if (r < 0 || n <= 0)
		return json_fail(
			e, "expires_in: not a positive number of seconds");
	*ret = n;
	return 0;
}

static int token_success(const cJSON *doc, struct token_reply *t,
			 struct decode_error *e)
{
	const char *token, *type;
	int r;

	r = json_need_text(doc, "access_token", DECODE_MAX_TOKEN, &token, e);
	if (r == 0 && strchr(token, ' '))
		r = json_fail(e, "access_token: contains a space");
	if (r == 0)
		r = json_maybe_text(doc, "token_type", DECODE_MAX_NAME, &type,
				    e);
	if (r == 0 && type && strcasecmp(type, "Bearer") != 0)
		r = json_fail(e, "token_type: not Bearer");
	if (r == 0)
		r = read_expires_in(doc, &t->expires_in, e);
	if (r < 0)
		return r;
	t->access_token = strdup(token);
	return t->access_token ? 0 : json_nomem(e);
}

/* error_codes[0], or 0 when absent or not a plausible code. */
static long first_error_code(const cJSON *doc)
{
	const cJSON *codes = json_member(doc, "error_codes");
	int64_t n;

	if (!cJSON_IsArray(codes) || json_to_count(codes->child, &n) < 0 ||
	    n > LONG_MAX)
		return 0;
	return (long)n;
}

/*
 * An OAuth error body ("error" a string, GRAPH.md 1.4), or the Graph
 * shape ("error" an object) that some token services answer with.
 */
static int token_error(const cJSON *doc, struct token_reply *t,
		       struct decode_error *e)
{
	const cJSON *err = json_member(doc, "error");

	if (cJSON_IsString(err)) {
		json_copy_clean(t->error, sizeof(t->error), err->valuestring);
		json_copy_clean(t->description, sizeof(t->description),
				json_loose_text(doc, "error_description"));
	} else if (cJSON_IsObject(err)) {
		json_copy_clean(t->error, sizeof(t->error),
				json_loose_text(err, "code"));
		json_copy_clean(t->description, sizeof(t->description),
				json_loose_text(err, "message"));
	} else {
		return json_fail(e, "error: neither a string nor an object");
	}
	t->aadsts = first_error_code(doc);
	return 0;
}

/* Overwrite cJSON's copy of the token before the tree is freed. */
static void wipe_token(cJSON *doc)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "access_token");

	if (cJSON_IsString(v))
		explicit_bzero(v->valuestring, strlen(v->valuestring));
}

int decode_token(const char *json, size_t len, struct token_reply *ret,
		 struct decode_error *reterr)
{
	struct token_reply t;
	cJSON *doc = NULL;
	int r;

	memset(&t, 0, sizeof(t));
	r = json_parse(json, len, &doc, reterr);
	if (r < 0)
		goto out;
	if (json_member(doc, "error"))
		r = token_error(doc, &t, reterr);
	else
		r = token_success(doc, &t, reterr);
	if (r < 0)
		goto out;
	*ret = t;
	t.access_token = NULL;
out:
	wipe_token(doc);
	decode_token_clear(&t);
	cJSON_Delete(doc);
	return r;
}

void decode_token_clear(struct token_reply *t)
{
	if (!t)
		return;
	if (t->access_token) {
		explicit_bzero(t->access_token, strlen(t->access_token));
		free(t->access_token);
	}
	memset(t, 0, sizeof(*t));
}
