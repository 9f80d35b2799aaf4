/*
 * client: a Graph client set up from the config (credentials read here).
 */
#ifndef LICENSED_CLIENT_H
#define LICENSED_CLIENT_H

#include "config/config.h"
#include "graph/graph.h"

/*
 * Read the credential named by the config and create the client.  Returns
 * 0, or a negative errno after logging why (the secret is never logged).
 */
int client_open(const struct config *c, struct graph **ret);

#endif
