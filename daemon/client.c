/*
 * client: config -> struct graph_options -> struct graph.
 *
 * The only place that reads the secret or the certificate file; the
 * buffer is wiped as soon as the Graph client has its own copy.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/credential.h"
#include "daemon/client.h"
#include "daemon/log.h"
#include "graph/throttle.h"

/* config/ accepts caps up to the ceilings graph/ starts from. */
_Static_assert(CONFIG_WRITE_RATE_MAX == (int)THROTTLE_WRITE_CEILING,
	       "write_rate limit differs from Graph's documented ceiling");
_Static_assert(CONFIG_READ_RATE_MAX == (int)THROTTLE_READ_CEILING,
	       "read_rate limit differs from the documented read ceiling");

static enum auth_kind auth_kind_of(enum config_auth a)
{
	switch (a) {
	case CONFIG_AUTH_CERTIFICATE:
		return AUTH_CERTIFICATE;
	case CONFIG_AUTH_MANAGED_IDENTITY:
		return AUTH_MANAGED_IDENTITY;
	case CONFIG_AUTH_SECRET:
	case CONFIG_AUTH_NONE:
		break;
	}
	return AUTH_SECRET;
}

int client_open(const struct config *c, const struct client_hooks *hooks,
		struct graph **ret)
{
	struct graph_options o = {
		.graph = c->graph,
		.http = { .ca_file = c->ca_file, .proxy = c->proxy },
		.auth = { .kind = auth_kind_of(c->auth),
			  .tenant = c->tenant_id,
			  .client_id = c->client_id,
			  .authority = c->authority,
			  .graph = c->graph },
		.read_rate = (double)c->read_rate, /* caps; 0: auto */
		.write_rate = (double)c->write_rate,
		/* SPEC 4: a longer Retry-After ends the phase. */
		.max_wait_sec = c->interval_sec < GRAPH_MAX_WAIT_SEC
					? (double)c->interval_sec
					: GRAPH_MAX_WAIT_SEC,
	};
	struct graph_failure f;
	char *credential = NULL;
	size_t len = 0;
	int r = 0;

	if (hooks) {
		o.wait = hooks->wait;
		o.wait_user = hooks->user;
		o.http.timeout_ms = hooks->timeout_ms;
		o.http.connect_timeout_ms =
			hooks->timeout_ms && hooks->timeout_ms < 10000
				? hooks->timeout_ms
				: 0;
	}
	if (c->credential_path && hooks)
		log_info("reading the %s from '%s'%s",
			 c->auth == CONFIG_AUTH_CERTIFICATE ? "certificate"
							    : "client secret",
			 c->credential_path,
			 c->is_credential_from_systemd
				 ? " ($CREDENTIALS_DIRECTORY)"
				 : "");
	if (c->credential_path) {
		r = credential_read(c->credential_path, &credential, &len);
		if (r < 0) {
			log_error("cannot read '%s': %s", c->credential_path,
				  strerror(-r));
			return r;
		}
		if (c->auth == CONFIG_AUTH_CERTIFICATE)
			o.auth.pem = credential;
		else
			o.auth.secret = credential;
	}
	r = graph_new(&o, ret, &f);
	if (r < 0)
		log_error("cannot set up the Graph client: %s", f.text);
	if (credential)
		explicit_bzero(credential, len);
	free(credential);
	return r;
}
