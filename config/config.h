/*
 * config: licensed.conf -> struct config.
 *
 * Every key of SPEC section 2, its default and its check live in one table
 * in config.c.  A file with any problem is rejected whole: config_load()
 * either fills a complete, validated struct config or leaves the caller's
 * untouched, so a reload can keep the running one.  Paths in the file are
 * resolved against the file's directory; the credential file is located
 * (a relative name in $CREDENTIALS_DIRECTORY when systemd sets it, else
 * next to the config file; no fallback from one to the other) and
 * checked, but its contents are read only when the Graph client is set
 * up.
 */
#ifndef LICENSED_CONFIG_H
#define LICENSED_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/diag.h"

#define CONFIG_DEFAULT_PATH "/etc/licensed/licensed.conf"

/*
 * The highest write_rate and read_rate accepted: Graph's documented
 * ceilings, which `auto` starts from (THROTTLE_*_CEILING in
 * graph/throttle.h; daemon/client.c checks that the two agree).
 */
#define CONFIG_WRITE_RATE_MAX 20
#define CONFIG_READ_RATE_MAX  70

enum config_auth {
	CONFIG_AUTH_NONE,
	CONFIG_AUTH_SECRET,
	CONFIG_AUTH_CERTIFICATE,
	CONFIG_AUTH_MANAGED_IDENTITY,
};

enum config_removal {
	CONFIG_REMOVAL_OWNED,
	CONFIG_REMOVAL_AUTHORITATIVE,
	CONFIG_REMOVAL_NEVER,
};

struct config {
	char *path; /* the file, as named by the caller */

	/* [tenant] */
	char *tenant_id; /* GUID or verified domain */
	char *client_id; /* NULL for a system-assigned managed identity */
	enum config_auth auth;
	char *client_secret_file; /* as written */
	char *certificate_file;	  /* as written */
	char *credential_path;	  /* resolved secret or certificate file */
	bool is_credential_from_systemd;
	char *authority; /* no trailing '/'; for managed identity the
			    metadata endpoint */
	char *graph;	 /* no trailing '/' */
	char *ca_file;	 /* resolved, or NULL */
	char *proxy;	 /* or NULL */

	/* [daemon] */
	char *policy;	 /* resolved file or directory */
	char *state_dir; /* resolved */
	uint64_t interval_sec;
	uint64_t full_sync_sec;
	bool is_dry_run;
	char *metrics_file;  /* resolved, or NULL */
	uint64_t write_rate; /* cap, writes per second; 0: auto */
	uint64_t read_rate;  /* cap, reads per second; 0: auto */

	/* [safety] */
	enum config_removal removal;
	uint64_t removal_grace_sec;
	uint64_t max_removals;
	uint64_t max_removal_percent;
};

/*
 * Load and validate path.  Returns 0 and fills *ret (free with
 * config_free), 2 when the file has problems (each appended to diags as
 * FILE:LINE: text; *ret untouched), or -ENOMEM.
 */
int config_load(const char *path, struct config *ret, struct diags *diags);

/* Free what a config owns and zero it.  Accepts NULL. */
void config_free(struct config *c);

/* Text for enums, for summaries and logs. */
const char *config_auth_name(enum config_auth a);
const char *config_removal_name(enum config_removal r);

#endif
