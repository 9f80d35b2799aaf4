/*
 * decode_graph_error: the error body of any Graph call,
 * {"error":{"code","message"}}, -> two short texts fit for a log line.  It
 * does not classify errors (graph.c does, from the status and the code).
 * Unlike the other decoders it is lenient inside the error object and
 * gives no reason: a body that is not of this shape is simply not one.
 */
#ifndef LICENSED_DECODE_GRAPH_ERROR_H
#define LICENSED_DECODE_GRAPH_ERROR_H

#include <stddef.h>

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

#endif
