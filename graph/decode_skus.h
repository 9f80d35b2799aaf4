/*
 * decode_skus: the answer of GET /subscribedSkus -> struct sku (the
 * tenant's subscriptions, their seat counts and service plans).  It does
 * not read the licenses of users (decode_user.h) nor judge whether a SKU
 * may be assigned (the planner does).  Rules common to every decoder:
 * decode_common.h.
 */
#ifndef LICENSED_DECODE_SKUS_H
#define LICENSED_DECODE_SKUS_H

#include <stddef.h>

#include "graph/decode_common.h"
#include "policy/model.h"

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

#endif
