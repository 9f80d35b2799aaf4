/*
 * decode: Graph JSON -> model structs.  The one header the rest of the
 * code includes for any decoder; it declares nothing itself, so it
 * includes every decoder's header rather than only what it needs.
 *
 * The decoders, one file each, named for what they read (the rules they
 * share, the limits and struct decode_error: decode_common.h):
 *   decode_skus.h         GET /subscribedSkus
 *   decode_user.h         pages of users: member listings, /users?$filter
 *   decode_group.h        GET /groups/{id}
 *   decode_graph_error.h  the error body of any Graph call
 *   decode_token.h        token endpoint and IMDS answers
 *   decode_batch.h        POST /$batch answers
 * Beneath them, graph/json.h (byte pass, cJSON wrapper, field readers) is
 * internal to graph/ and not included here, so that no caller sees cJSON.
 *
 * A new resource gets its own decode_<what>.c/.h on top of graph/json.h
 * and one line here; the delta queries of issue 9 (/users/delta,
 * /groups/delta with members@delta, @odata.deltaLink, @removed) are meant
 * to go that way rather than into decode_user.c.
 */
#ifndef LICENSED_DECODE_H
#define LICENSED_DECODE_H

#include "graph/decode_batch.h"
#include "graph/decode_common.h"
#include "graph/decode_graph_error.h"
#include "graph/decode_group.h"
#include "graph/decode_skus.h"
#include "graph/decode_token.h"
#include "graph/decode_user.h"

#endif
