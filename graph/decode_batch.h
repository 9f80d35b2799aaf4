/*
 * decode_batch: the answer of POST /$batch -> one struct batch_reply per
 * inner response (id, status, Retry-After, body).  It does not match
 * replies to requests, read the inner error bodies (decode_graph_error.h)
 * or decide what to retry (graph.c).  Rules common to every decoder:
 * decode_common.h.
 */
#ifndef LICENSED_DECODE_BATCH_H
#define LICENSED_DECODE_BATCH_H

#include <stddef.h>

#include "graph/decode_common.h"

/* One inner response of a $batch. */
struct batch_reply {
	char id[16];
	long status;
	double retry_after_sec; /* from its headers, or -1 */
	char retry_after[40];	/* the header's text when not seconds */
	char *body;		/* the inner body re-serialised, or NULL */
	size_t body_len;
};

/*
 * POST /$batch response: {"responses":[...]}.  Inner responses may come
 * in any order; duplicates (ids compared case-insensitively) or an unknown
 * shape are -EBADMSG.  At most ENCODE_BATCH_MAX; ids of 1 to 15 bytes;
 * status 100-599.  Retry-After (header name in any case) as decimal
 * seconds, a string or a number; anything else (an HTTP date: decoding
 * reads no clock) reads as -1 with its text in retry_after.  Bodies
 * are cJSON-printed, released by decode_batch_free with free().
 */
int decode_batch(const char *json, size_t len, struct batch_reply **ret,
		 size_t *ret_n, struct decode_error *reterr);
void decode_batch_free(struct batch_reply *r, size_t n);

#endif
