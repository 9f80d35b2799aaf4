/*
 * model: the plain data every layer shares.
 *
 * Two halves: the policy as the admin wrote it (struct policy), and the
 * tenant as Graph showed it (struct snapshot and its parts).
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
#include <stdint.h>

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

/* ---- the tenant, as read from Graph ---------------------------------- */

/* subscribedSku.capabilityStatus */
enum sku_status {
	SKU_ENABLED,
	SKU_WARNING,
	SKU_SUSPENDED,
	SKU_DELETED,
	SKU_LOCKED_OUT,
	SKU_OTHER,
};

struct service_plan {
	struct guid id;
	char *name;	   /* servicePlanName */
	bool is_for_users; /* appliesTo == "User" */
};

struct sku {
	struct guid id;
	char *part_number; /* skuPartNumber */
	bool is_for_users; /* appliesTo == "User" */
	enum sku_status status;
	int64_t enabled; /* prepaidUnits.enabled */
	int64_t warning; /* prepaidUnits.warning */
	int64_t suspended;
	int64_t locked_out;
	int64_t consumed; /* consumedUnits */
	struct service_plan *plans;
	size_t n_plans;
};

/* Where a user's license comes from (licenseAssignmentStates). */
enum assigned_by {
	ASSIGNED_DIRECTLY, /* assignedByGroup null */
	ASSIGNED_BY_GROUP, /* inherited from group-based licensing */
	ASSIGNED_UNKNOWN,  /* in assignedLicenses without a state entry */
};

/* licenseAssignmentStates[].state (GRAPH.md 3.2); NONE: no state entry. */
enum assignment_state {
	ASSIGNMENT_STATE_NONE,
	ASSIGNMENT_ACTIVE,
	ASSIGNMENT_ACTIVE_WITH_ERROR,
	ASSIGNMENT_DISABLED,
	ASSIGNMENT_ERROR,
	ASSIGNMENT_STATE_OTHER,
};

/* licenseAssignmentStates[].error; NONE for null or "None". */
enum assignment_error {
	ASSIGNMENT_ERROR_NONE,
	ASSIGNMENT_COUNT_VIOLATION,
	ASSIGNMENT_MUTUALLY_EXCLUSIVE_VIOLATION,
	ASSIGNMENT_DEPENDENCY_VIOLATION,
	ASSIGNMENT_PROHIBITED_IN_USAGE_LOCATION_VIOLATION,
	ASSIGNMENT_UNIQUENESS_VIOLATION,
	ASSIGNMENT_ERROR_OTHER,
};

/*
 * One license of a user.  Enums, not the texts: a million users hold a
 * few million of these (issue 9: the texts inline cost 60 bytes each).
 */
struct assignment {
	struct guid sku;
	struct guid group; /* assignedByGroup, when ASSIGNED_BY_GROUP */
	struct guid *disabled_plans;
	size_t n_disabled_plans;
	enum assigned_by by;
	enum assignment_state state;
	enum assignment_error error;
};

struct user {
	struct guid id;
	char *upn;
	bool is_enabled;	/* accountEnabled */
	char usage_location[3]; /* "" when none */
	struct assignment *assignments;
	size_t n_assignments;
};

/* Limits on what one read may hold. */
#define SNAPSHOT_MAX_SKUS	 1000
#define SNAPSHOT_MAX_PLANS	 500 /* per SKU */
#define SNAPSHOT_MAX_ASSIGNMENTS 200 /* per user */

/* A group of the policy as read: its transitive user members. */
struct group_members {
	struct guid id;
	bool is_found;	   /* false: the group does not exist */
	uint32_t *members; /* indices into snapshot.users */
	size_t n_members;
};

/*
 * Everything one round read, complete: a partial read never becomes a
 * snapshot.  users holds every member of a policy group and every holder
 * of a managed SKU, each once.
 */
struct snapshot {
	struct sku *skus;
	size_t n_skus;
	struct user *users;
	size_t n_users;
	struct group_members *groups;
	size_t n_groups;
};

/* ---- what the daemon remembers between rounds (state_dir) ----------- */

enum removal_mode {
	REMOVAL_OWNED,	       /* remove or edit only what licensed assigned */
	REMOVAL_AUTHORITATIVE, /* every direct assignment follows the policy */
	REMOVAL_NEVER,	       /* add and correct owned ones; never remove */
};

/*
 * licensed assigned sku to user (at, by rule), or is about to (SPEC 5.7).
 * A record is written before the add goes out, unconfirmed; a complete
 * read that shows the user holding the SKU directly confirms it.  An
 * unconfirmed record is dropped only when the add was refused, or when a
 * read begun OWNED_SETTLE_SEC after since still does not show the SKU:
 * a request in flight when the process died may be applied late.
 */
struct owned {
	struct guid user;
	struct guid sku;
	int64_t since;	   /* wall clock, seconds: the intent, then the add */
	const char *rule;  /* interned in the owner's pool (struct state) */
	bool is_confirmed; /* a read has shown the direct assignment */
};

/* How long an unanswered add may still land (see struct owned). */
#define OWNED_SETTLE_SEC 600

/* user lost the entitlement to sku at since; removal due at since+grace. */
struct pending {
	struct guid user;
	struct guid sku;
	int64_t since;
};

#endif
