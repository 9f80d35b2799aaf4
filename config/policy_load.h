/*
 * policy_load: the policy INI file(s) -> struct policy (SPEC section 3).
 *
 * It lives in config/ because only config/ may include inih; the model it
 * fills and the checks that need no file are in policy/.  A policy is a
 * file, or a directory whose *.ini files are read in lexical order as if
 * they were one file (rule names are unique across them).  Any problem in
 * any file rejects the whole policy.
 */
#ifndef LICENSED_POLICY_LOAD_H
#define LICENSED_POLICY_LOAD_H

#include "policy/diag.h"
#include "policy/model.h"

/*
 * Load path.  Returns 0 and fills *ret (free with policy_free), 2 when
 * there are problems (all appended to diags; *ret untouched), or -ENOMEM.
 */
int policy_load(const char *path, struct policy *ret, struct diags *diags);

#endif
