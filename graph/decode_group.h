/*
 * decode_group: the answer of GET /groups/{id}?$select=id,displayName ->
 * its id and name (graph_read_group()).  It does not
 * read members (decode_user.h reads member pages).  Rules common to every
 * decoder: decode_common.h.
 */
#ifndef LICENSED_DECODE_GROUP_H
#define LICENSED_DECODE_GROUP_H

#include <stddef.h>

#include "graph/decode_common.h"
#include "policy/guid.h"

/*
 * Returns 0, *ret_id and a new string in *ret_name ("" when displayName is
 * null), or -EBADMSG/-ENOMEM.  An @odata.type other than
 * "#microsoft.graph.group" is refused.
 */
int decode_group(const char *json, size_t len, struct guid *ret_id,
		 char **ret_name, struct decode_error *reterr);

#endif
