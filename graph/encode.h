/*
 * encode: request bodies for Graph writes.  Pure: model values in, JSON
 * text out (caller frees with free()).  GUIDs are written lower case.
 * *ret is written only on success.
 */
#ifndef LICENSED_ENCODE_H
#define LICENSED_ENCODE_H

#include <stddef.h>

#include "policy/guid.h"

/* One SKU to add with its complete set of disabled plans. */
struct license_add {
	struct guid sku;
	const struct guid *disabled_plans;
	size_t n_disabled_plans;
};

/*
 * assignLicense body: both "addLicenses" and "removeLicenses" always
 * present (empty arrays allowed), each add with its "disabledPlans" array.
 * Returns 0 and a new string in *ret, -EINVAL (more than SNAPSHOT_MAX_SKUS
 * adds or removes, more than SNAPSHOT_MAX_PLANS plans in one add, a NULL
 * array with a count), or -ENOMEM.
 */
int encode_assign_license(const struct license_add *adds, size_t n_adds,
			  const struct guid *removes, size_t n_removes,
			  char **ret);

/*
 * PATCH /users/{id} body {"usageLocation":"DE"}.  Returns 0, -EINVAL
 * unless code is two ASCII letters (sent upper case), or -ENOMEM.
 */
int encode_usage_location(const char code[3], char **ret);

/* One request of a $batch. */
struct batch_item {
	const char *id; /* unique in the batch */
	const char *method;
	const char *url;	/* relative to /v1.0, e.g. "/users/{id}/..." */
	const char *body;	/* JSON text, or NULL */
	const char *depends_on; /* id of a prerequisite, or NULL */
};

/* Max requests in one $batch (GRAPH.md section 5). */
#define ENCODE_BATCH_MAX 20

/*
 * {"requests":[...]} with "headers":{"Content-Type":"application/json"}
 * on items with a body (the body embedded as JSON, not as a string).
 * Returns 0, -EINVAL (none or more than ENCODE_BATCH_MAX, a body that is
 * not a JSON object, an id missing, longer than 15 bytes or repeated
 * (case-insensitively), no method, no url or an absolute one, dependsOn
 * naming no other item), or -ENOMEM.
 */
int encode_batch(const struct batch_item *items, size_t n, char **ret);

#endif
