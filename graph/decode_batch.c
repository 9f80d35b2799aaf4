/*
 * decode_batch: POST /$batch answers -> struct batch_reply.  See
 * decode_batch.h.
 *
 * An inner body may be any JSON value; it is printed back to text so that
 * graph.c can hand it to decode_graph_error() like any other body.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "graph/decode_batch.h"
#include "graph/decode_common.h"
#include "graph/encode.h"
#include "graph/json.h"

/*
 * Retry-After from the inner headers, its name in any case; else -1.  A
 * text that is not seconds is kept for the caller, who has a clock.
 */
static int read_retry_after(const cJSON *el, struct batch_reply *b,
			    struct decode_error *e)
{
	const cJSON *h = json_member(el, "headers"), *v;

	b->retry_after_sec = -1;
	b->retry_after[0] = '\0';
	if (h && !cJSON_IsObject(h))
		return json_fail(e, "headers: not an object");
	cJSON_ArrayForEach(v, h) if (v->string &&
				     strcasecmp(v->string, "Retry-After") == 0)
	{
		b->retry_after_sec = json_seconds(v);
		if (b->retry_after_sec < 0 && cJSON_IsString(v) &&
		    strlen(v->valuestring) < sizeof(b->retry_after))
			memcpy(b->retry_after, v->valuestring,
			       strlen(v->valuestring) + 1);
		return 0;
	}
	return 0;
}

/* The inner body re-serialised (any JSON value), NULL when absent. */
static int read_body(const cJSON *el, struct batch_reply *b,
		     struct decode_error *e)
{
	const cJSON *v = json_member(el, "body");

	if (!v)
		return 0;
	b->body = cJSON_PrintUnformatted(v);
	if (!b->body)
		return json_nomem(e);
	b->body_len = strlen(b->body);
	return 0;
}

/* One inner response into a zeroed *b. */
static int decode_reply(const cJSON *el, struct batch_reply *b,
			struct decode_error *e)
{
	const char *id;
	int64_t status = 0;
	int r;

	if (!cJSON_IsObject(el))
		return json_fail(e, ": not an object");
	r = json_need_text(el, "id", sizeof(b->id) - 1, &id, e);
	if (r == 0)
		r = json_read_count(el, "status", true, &status, e);
	if (r == 0 && (status < 100 || status > 599))
		r = json_fail(e, "status: not an HTTP status");
	if (r == 0)
		r = read_retry_after(el, b, e);
	if (r < 0)
		return r;
	memcpy(b->id, id, strlen(id) + 1);
	b->status = (long)status;
	return read_body(el, b, e);
}

/* Ids are unique in a batch regardless of case (GRAPH.md 5). */
static bool has_id(const struct batch_reply *r, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(r[i].id, id) == 0)
			return true;
	return false;
}

int decode_batch(const char *json, size_t len, struct batch_reply **ret,
		 size_t *ret_n, struct decode_error *reterr)
{
	cJSON *doc = NULL;
	struct batch_reply *v = NULL;
	struct json_list l = { NULL, 0 };
	const cJSON *el;
	size_t i = 0;
	int r;

	r = json_parse(json, len, &doc, reterr);
	if (r == 0)
		r = json_need_list(doc, "responses", ENCODE_BATCH_MAX, &l,
				   reterr);
	if (r < 0)
		goto out;
	v = json_alloc_array(l.n, sizeof(*v));
	if (!v) {
		r = json_nomem(reterr);
		goto out;
	}
	for (el = json_first(&l); r == 0 && el; el = el->next, i++) {
		r = decode_reply(el, &v[i], reterr);
		if (r == 0 && has_id(v, i, v[i].id))
			r = json_fail(reterr, "id: repeated");
		(void)json_nest(reterr, r, "responses", i);
	}
	if (r < 0)
		goto out;
	*ret = v;
	*ret_n = l.n;
	v = NULL;
out:
	decode_batch_free(v, l.n);
	cJSON_Delete(doc);
	return r;
}

void decode_batch_free(struct batch_reply *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++)
		free(r[i].body);
	free(r);
}
