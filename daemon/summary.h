/*
 * summary: the human summary `licensed check` prints.
 */
#ifndef LICENSED_SUMMARY_H
#define LICENSED_SUMMARY_H

#include <stdio.h>

#include "config/config.h"
#include "policy/model.h"

/* Print what the config and policy say, in a stable layout.  0 or -errno. */
int summary_print(FILE *f, const struct config *c, const struct policy *p);

#endif
