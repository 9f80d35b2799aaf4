/*
 * policy: pure helpers over the policy model (no I/O).
 *
 * The INI reading lives in config/policy_load.c because only config/ may
 * include inih; what can be decided without a file (is this a country
 * code, is this a valid name, do two references name the same SKU, is a
 * chain consistent) lives here and is shared by the loader and, later, by
 * the planner.
 */
#ifndef LICENSED_POLICY_H
#define LICENSED_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy/diag.h"
#include "policy/model.h"

/* Free everything a policy owns and zero it.  Accepts NULL. */
void policy_free(struct policy *p);

/*
 * Parse one SKU or plan reference: a GUID, or a name of letters, digits,
 * '_', '-' and '.'.  Returns 0 and fills *ret (ret->name owned by the
 * caller), -EINVAL for a bad spelling, -ENOMEM.
 */
int policy_ref_parse(const char *text, struct ref *ret);

/* True when both references spell the same thing (names ignore case). */
bool policy_ref_same(const struct ref *a, const struct ref *b);

/* True for an assigned ISO 3166-1 alpha-2 code, upper case ("DE"). */
bool policy_is_country(const char *code);

/*
 * Checks across the precedence chains once every file is read: no SKU is
 * ranked twice, in one chain (a cycle) or in two.  Appends to diags;
 * returns the number of problems found or -ENOMEM.
 */
int policy_validate(const struct policy *p, struct diags *diags);

/*
 * Seats of a SKU that can still be assigned: enabled - warning - consumed,
 * never below 0.  Units in warning are not counted as free (GRAPH.md
 * section 2: the simpler enabled - consumed over-counts).
 */
int64_t policy_sku_free(const struct sku *s);

/*
 * The SKU of the snapshot a reference names (skuId, or skuPartNumber with
 * case ignored), or NULL.
 */
const struct sku *policy_find_sku(const struct sku *skus, size_t n,
				  const struct ref *r);

/* The plan of s a reference names (id, or name with case ignored). */
const struct service_plan *policy_find_plan(const struct sku *s,
					    const struct ref *r);

/* Number of distinct groups over all rules, or -ENOMEM. */
ssize_t policy_count_groups(const struct policy *p);

/* Number of distinct SKU spellings over all rules (rules are few). */
size_t policy_count_skus(const struct policy *p);

#endif
