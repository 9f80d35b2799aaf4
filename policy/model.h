/*
 * model: the plain data every layer shares.
 *
 * policy/ owns this vocabulary because it is the leaf everyone points at:
 * config/ fills a struct policy from INI files, graph/ will fill a tenant
 * snapshot, and the planner reads both.  Everything here is transparent
 * data with one owner; policy_free() releases a whole policy.
 */
#ifndef LICENSED_MODEL_H
#define LICENSED_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/guid.h"

/* Limits on what one policy may hold; beyond them the loader refuses. */
#define POLICY_MAX_FILES    1000
#define POLICY_MAX_RULES    5000
#define POLICY_MAX_GROUPS   1000 /* per rule */
#define POLICY_MAX_PLANS    500	 /* per rule */
#define POLICY_MAX_CHAIN    32	 /* SKUs in one precedence chain */
#define POLICY_MAX_CHAINS   100
#define POLICY_MAX_EXCLUDED 10000
#define POLICY_NAME_MAX	    128 /* rule, chain, SKU and plan names */

/*
 * A SKU or service plan as the admin wrote it: a name (skuPartNumber,
 * servicePlanName) or an id.  Names are matched against the tenant at each
 * round; offline we only know their spelling.
 */
struct ref {
	char *name; /* as written (a GUID is kept in its text form too) */
	bool is_id;
	struct guid id; /* valid when is_id */
};

/* Where something was written, for FILE:LINE messages. */
struct origin {
	const char *file; /* points into policy.files */
	unsigned line;
};

struct rule {
	char *name;
	struct origin at; /* the [section] line */
	struct guid *groups;
	size_t n_groups;
	struct ref sku;
	bool has_sku;
	struct ref *plans; /* disabled_plans, or enabled_plans */
	size_t n_plans;
	bool is_allow_list; /* plans came from enabled_plans */
	bool has_plans;
	char usage_location[3]; /* "" when the rule sets none */
};

struct chain {
	char *name;
	struct origin at;
	struct ref *skus; /* best first */
	size_t n_skus;
};

struct policy {
	char **files; /* the files read, in order; origins point here */
	size_t n_files;
	struct rule *rules; /* in file order, then line order */
	size_t n_rules;
	struct chain *chains;
	size_t n_chains;
	struct guid *excluded_ids;
	size_t n_excluded_ids;
	char **excluded_upns; /* lower case */
	size_t n_excluded_upns;
	char usage_location[3]; /* [defaults]; "" when none */
};

#endif
