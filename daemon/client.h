/*
 * client: a Graph client set up from the config (credentials read here).
 */
#ifndef LICENSED_CLIENT_H
#define LICENSED_CLIENT_H

#include <stdint.h>

#include "config/config.h"
#include "graph/graph.h"

/* What the daemon's loop adds to a client; NULL for the commands. */
struct client_hooks {
	int (*wait)(void *user, uint64_t until_usec);
	void *user;
	long timeout_ms; /* per HTTP request; 0: the default */
};

/*
 * Read the credential named by the config and create the client.  Returns
 * 0, or a negative errno after logging why (the secret is never logged):
 * -EINVAL when the credential itself is unusable (a bad PEM).
 */
int client_open(const struct config *c, const struct client_hooks *hooks,
		struct graph **ret);

#endif
