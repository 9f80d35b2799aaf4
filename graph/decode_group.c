/*
 * decode_group: GET /groups/{id} -> id and name.  See decode_group.h.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "graph/decode_common.h"
#include "graph/decode_group.h"
#include "graph/json.h"
#include "policy/guid.h"

int decode_group(const char *json, size_t len, struct guid *ret_id,
		 char **ret_name, struct decode_error *reterr)
{
	cJSON *doc = NULL;
	const char *type, *name;
	struct guid id;
	char *copy = NULL;
	int r;

	r = json_parse(json, len, &doc, reterr);
	if (r == 0)
		r = json_maybe_text(doc, "@odata.type", DECODE_MAX_NAME, &type,
				    reterr);
	if (r == 0 && type && strcmp(type, "#microsoft.graph.group") != 0)
		r = json_fail(reterr, "@odata.type: not a group");
	if (r == 0)
		r = json_need_guid(doc, "id", &id, reterr);
	if (r == 0)
		r = json_maybe_text(doc, "displayName", DECODE_MAX_NAME, &name,
				    reterr);
	if (r < 0)
		goto out;
	copy = strdup(name ? name : "");
	if (!copy) {
		r = json_nomem(reterr);
		goto out;
	}
	*ret_id = id;
	*ret_name = copy;
	copy = NULL;
out:
	free(copy);
	cJSON_Delete(doc);
	return r;
}
