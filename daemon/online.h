/*
 * online: `licensed check --online`, the policy held against the tenant.
 */
#ifndef LICENSED_ONLINE_H
#define LICENSED_ONLINE_H

#include <stdio.h>

#include "config/config.h"
#include "policy/model.h"

/*
 * Sign in, resolve every SKU, plan and group of the policy, and print per
 * rule its member count and per SKU its seats to f.  Returns the exit code:
 * 0, 2 (the policy names something the tenant does not have) or 3 (the
 * tenant could not be read).
 */
int online_check(FILE *f, const struct config *c, const struct policy *p);

#endif
