/*
 * decode_graph_error: a Graph error body -> code and message.  See
 * decode_graph_error.h.
 */
#include <errno.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "graph/decode_graph_error.h"
#include "graph/json.h"

int decode_graph_error(const char *json, size_t len,
		       struct graph_error_body *ret)
{
	cJSON *doc = NULL;
	const cJSON *err;
	int r = json_parse(json, len, &doc, NULL);

	if (r < 0)
		goto out;
	err = json_member(doc, "error");
	if (!cJSON_IsObject(err)) {
		r = -EBADMSG;
		goto out;
	}
	json_copy_clean(ret->code, sizeof(ret->code),
			json_loose_text(err, "code"));
	json_copy_clean(ret->message, sizeof(ret->message),
			json_loose_text(err, "message"));
out:
	cJSON_Delete(doc);
	return r;
}
