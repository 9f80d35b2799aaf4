/*
 * decode_user: pages of users -> struct user (id, UPN, account state,
 * usage location and license assignments), as the member listings and
 * /users?$filter=... return them.  Objects of other types in a member
 * list (devices, groups, contacts) are skipped and counted.  It does not
 * follow the pages (graph.c asks for each next_link) nor decide whose
 * licenses change (the planner).  Rules common to every decoder:
 * decode_common.h.
 */
#ifndef LICENSED_DECODE_USER_H
#define LICENSED_DECODE_USER_H

#include <stddef.h>

#include "graph/decode_common.h"
#include "policy/model.h"

/* Longest userPrincipalName accepted, in bytes. */
#define DECODE_MAX_UPN 1024

/* One page of users (transitiveMembers, /users?$filter=...). */
struct user_page {
	struct user *users;
	size_t n_users;
	size_t n_skipped; /* non-user objects on the page */
	char *next_link;  /* @odata.nextLink, or NULL on the last page */
};

/*
 * Returns 0 and *ret (release with decode_user_page_clear), or
 * -EBADMSG/-ENOMEM.  "value" must be an array of at most
 * DECODE_MAX_PAGE_OBJECTS.  Per user: id and userPrincipalName and
 * assignedLicenses (non-null in the schema) are required; accountEnabled
 * missing or null reads as true (only a stated false is believed);
 * usageLocation null is "", else two letters, stored upper case.
 * assignments: one per licenseAssignmentStates entry (error "None" is
 * stored as ""), then one ASSIGNED_UNKNOWN per assignedLicenses SKU that
 * no state entry names.
 */
int decode_user_page(const char *json, size_t len, struct user_page *ret,
		     struct decode_error *reterr);
void decode_user_page_clear(struct user_page *p);

/* Release what one struct user owns (not the struct itself). */
void decode_user_clear(struct user *u);

#endif
