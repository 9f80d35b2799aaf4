/*
 * plan: the reconciliation planner (SPEC section 5), a pure function.
 *
 * plan_build(policy, snapshot, state, options) decides, for every user
 * of the snapshot and every managed SKU, what should change and why, or
 * why it waits.  It does no I/O, reads no clock (now is an input) and
 * never points into its inputs' strings: the plan refers to users, SKUs
 * and rules by index and to disabled-plan sets by id.  The same inputs
 * always give the same plan, items sorted by user id then SKU.
 *
 * Rules applied, each in its own function below:
 *   5.1 entitlement through transitive groups, exclusions, precedence:
 *       the best SKU of a chain that can be given now;
 *   5.2 plans: union over rules (intersection of disabled sets), allow
 *       lists against the SKU's current plans;
 *   5.3 ownership: owned / authoritative / never; group-inherited
 *       licenses never touched;
 *   5.4 grace before removal, cancelled by regained entitlement;
 *       precedence swaps in one call, never delayed;
 *   5.5 seats: adds in rule order then user id, up to the free seats;
 *   5.6 the removal cap and its one-shot approval;
 *   5.8 usage location set before an add, or the add skipped.
 */
#ifndef LICENSED_PLAN_H
#define LICENSED_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/diag.h"
#include "policy/model.h"
#include "policy/planset.h"

#define PLAN_NONE UINT32_MAX

enum plan_action {
	PLAN_ADD,    /* assign the SKU with its disabled plans */
	PLAN_UPDATE, /* re-assign to correct the disabled plans */
	PLAN_REMOVE, /* take the SKU away */
};

enum plan_reason {
	PLAN_ENTITLED,	   /* add: a rule's group holds the user */
	PLAN_PLANS_DIFFER, /* update: disabled plans differ */
	PLAN_NOT_ENTITLED, /* remove: no rule entitles the user */
	PLAN_SUPERSEDED,   /* remove: a better SKU of a precedence chain */
};

/* Why an item is not applied this round (PLAN_GO: it is). */
enum plan_hold {
	PLAN_GO,
	PLAN_GRACE,		/* removal waits for removal_grace */
	PLAN_NO_SEATS,		/* waits for a free seat */
	PLAN_NO_USAGE_LOCATION, /* user has none and none is configured */
	PLAN_EXCLUDED,		/* [exclude] */
	PLAN_INHERITED,		/* held through group-based licensing */
	PLAN_NOT_OWNED,		/* direct assignment licensed did not make */
	PLAN_NEVER_REMOVE,	/* removal = never */
	PLAN_CAPPED,		/* held by the removal cap (5.6) */
	PLAN_RULE_ERROR,	/* the SKU's rules failed this round */
	PLAN_STATE_UNTRUSTED,	/* no removals until the state is rebuilt */
	PLAN_SWAP_WAITS,	/* kept until the better SKU can be added */
	PLAN_NO_SKU_FOR_USERS,	/* SKU cannot be assigned to users */
};

struct plan_item {
	uint32_t user; /* snapshot.users index */
	uint32_t sku;  /* snapshot.skus index */
	uint32_t rule; /* deciding rule, or PLAN_NONE */
	/*
	 * PLAN_SUPERSEDED: the better SKU (added in the same call, or held).
	 * PLAN_ADD: PLAN_NONE, or the best SKU of the chain, which cannot
	 * be added now: this add is the next one that can (5.1).
	 */
	uint32_t better;
	uint32_t planset; /* ADD/UPDATE: the disabled plans */
	enum plan_action action;
	enum plan_reason reason;
	enum plan_hold hold;
	/*
	 * NOT_ENTITLED: entitlement lost at, from the pending record or now;
	 * 0: no grace clock runs (PLAN_RULE_ERROR without a pending record:
	 * the loss is unknown, so start none).  due is since + grace, or 0.
	 */
	int64_t since;
	int64_t due;
	char usage_location[3]; /* ADD: set this first ("" if not) */
};

struct plan_options {
	enum removal_mode removal;
	int64_t grace_sec;
	uint64_t max_removals;
	uint64_t max_removal_percent;
	int64_t now; /* wall clock, seconds */
	/*
	 * Wall clock when the tenant read began (0: not known, now is
	 * used).  An unconfirmed ownership record is kept while read_at <
	 * since + OWNED_SETTLE_SEC even if the user does not hold the SKU:
	 * the read may have missed an add still in flight (SPEC 5.7).
	 */
	int64_t read_at;
};

/* What the daemon remembers, as the planner needs it. */
struct plan_state {
	const struct owned *owned;
	size_t n_owned;
	const struct pending *pending;
	size_t n_pending;
	bool has_approval; /* `licensed approve N` before this round */
	uint64_t approved; /* N */
	bool is_untrusted; /* state was unreadable: no removals */
};

struct plan_totals {
	size_t adds, updates, removes; /* PLAN_GO items */
	size_t waiting_seats;	       /* PLAN_NO_SEATS */
	size_t no_usage_location;
	size_t grace;  /* removals waiting */
	size_t capped; /* removals held by the cap */
	size_t not_owned;
	size_t inherited;
	size_t excluded;
	size_t rule_errors; /* rules not applied */
	size_t holders;	    /* users holding a managed SKU */
	bool is_capped;
	bool is_approval_used;
};

struct plan {
	struct plan_item *items; /* sorted: user id, then SKU */
	size_t n_items;
	struct plansets sets;
	bool *is_managed; /* per snapshot SKU */
	uint32_t *owned;  /* indices of the state.owned records to keep */
	size_t n_owned;
	struct plan_totals totals;
	struct diags problems; /* rule errors: FILE:LINE text */
	/*
	 * Parallel to owned: this snapshot shows the user holding the SKU
	 * directly, which confirms the record (set is_confirmed).  A kept
	 * record that is not seen is unjudged (SKU not managed or blocked)
	 * or unconfirmed and still settling.
	 */
	bool *owned_is_seen;
};

/*
 * Build the plan.  Returns 0 and fills *ret (free with plan_free), or
 * -ENOMEM.  Problems with the policy against the tenant (unknown SKU or
 * plan, missing group) are not failures: they are in ret->problems and
 * their SKUs get PLAN_RULE_ERROR.
 */
int plan_build(const struct policy *p, const struct snapshot *s,
	       const struct plan_state *state, const struct plan_options *o,
	       struct plan *ret);

void plan_free(struct plan *plan);

/* Short text for a hold / an action / a reason ("waiting for a seat"). */
const char *plan_hold_name(enum plan_hold h);
const char *plan_action_name(enum plan_action a);
const char *plan_reason_name(enum plan_reason r);

#endif
