/*
 * config: licensed.conf.  See config.h.
 *
 * One table names every key with its section, kind and place in struct
 * config; the INI callbacks only look keys up there and convert values.
 * Rules that involve several keys (exactly one authentication method,
 * plain http only for managed identity, required keys) and the checks of
 * files named by the config run once the whole file is read, in
 * config_finish().
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config/config.h"
#include "config/credential.h"
#include "config/inifile.h"
#include "config/value.h"
#include "policy/guid.h"

enum kind {
	KIND_TEXT, /* a credential name, resolved later */
	KIND_PATH, /* resolved against the config file's directory */
	KIND_TENANT,
	KIND_GUID,
	KIND_URL, /* https, or http to the local metadata endpoint */
	KIND_HTTPS_URL,
	KIND_PROXY,
	KIND_BOOL,
	KIND_DURATION,
	KIND_UINT,
	KIND_RATE, /* auto (0), or a cap of min to max */
	KIND_REMOVAL,
};

struct loader {
	struct config cfg;
	bool is_managed_identity;
	const char *path;
	char *dir;
	const char *section; /* current known section, or NULL */
	unsigned *seen;	     /* line of each key in keys[], 0 if unset */
	unsigned section_line[3];
	struct diags *diags;
	int error;
};

struct key {
	const char *section;
	const char *name;
	enum kind kind;
	size_t offset;	   /* into struct loader */
	uint64_t min, max; /* KIND_UINT, KIND_DURATION, KIND_RATE */
};

#define AT(field) offsetof(struct loader, field)

static const char *const sections[] = { "tenant", "daemon", "safety" };

static const struct key keys[] = {
	{ "tenant", "tenant_id", KIND_TENANT, AT(cfg.tenant_id), 0, 0 },
	{ "tenant", "client_id", KIND_GUID, AT(cfg.client_id), 0, 0 },
	{ "tenant", "client_secret_file", KIND_TEXT, AT(cfg.client_secret_file),
	  0, 0 },
	{ "tenant", "certificate_file", KIND_TEXT, AT(cfg.certificate_file), 0,
	  0 },
	{ "tenant", "managed_identity", KIND_BOOL, AT(is_managed_identity), 0,
	  0 },
	{ "tenant", "authority", KIND_URL, AT(cfg.authority), 0, 0 },
	{ "tenant", "graph", KIND_HTTPS_URL, AT(cfg.graph), 0, 0 },
	{ "tenant", "ca_file", KIND_PATH, AT(cfg.ca_file), 0, 0 },
	{ "tenant", "proxy", KIND_PROXY, AT(cfg.proxy), 0, 0 },
	{ "daemon", "policy", KIND_PATH, AT(cfg.policy), 0, 0 },
	{ "daemon", "state_dir", KIND_PATH, AT(cfg.state_dir), 0, 0 },
	{ "daemon", "interval", KIND_DURATION, AT(cfg.interval_sec), 1,
	  VALUE_DURATION_MAX },
	{ "daemon", "full_sync", KIND_DURATION, AT(cfg.full_sync_sec), 0,
	  VALUE_DURATION_MAX },
	{ "daemon", "dry_run", KIND_BOOL, AT(cfg.is_dry_run), 0, 0 },
	{ "daemon", "metrics_file", KIND_PATH, AT(cfg.metrics_file), 0, 0 },
	{ "daemon", "write_rate", KIND_RATE, AT(cfg.write_rate), 1,
	  CONFIG_WRITE_RATE_MAX },
	{ "daemon", "read_rate", KIND_RATE, AT(cfg.read_rate), 1,
	  CONFIG_READ_RATE_MAX },
	{ "safety", "removal", KIND_REMOVAL, AT(cfg.removal), 0, 0 },
	{ "safety", "removal_grace", KIND_DURATION, AT(cfg.removal_grace_sec),
	  0, VALUE_DURATION_MAX },
	{ "safety", "max_removals", KIND_UINT, AT(cfg.max_removals), 0,
	  1000000 },
	{ "safety", "max_removal_percent", KIND_UINT,
	  AT(cfg.max_removal_percent), 0, 100 },
};

#define N_KEYS	   (sizeof(keys) / sizeof(keys[0]))
#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))

static void *field(struct loader *l, const struct key *k)
{
	return (char *)l + k->offset;
}

static void report(struct loader *l, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct loader *l, unsigned line, const char *fmt, ...)
{
	char text[DIAG_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (diags_add(l->diags, l->path, line, "%s", text) < 0)
		l->error = -ENOMEM;
}

static char *resolve_path(const char *dir, const char *p)
{
	size_t len;
	char *s;

	if (p[0] == '/' || strcmp(dir, ".") == 0)
		return strdup(p);
	len = strlen(dir) + strlen(p) + 2;
	s = malloc(len);
	if (s)
		(void)snprintf(s, len, "%s/%s", dir, p);
	return s;
}

static int on_section(void *user, const struct inifile_pos *at,
		      const char *name)
{
	struct loader *l = user;

	l->section = NULL;
	for (size_t i = 0; i < N_SECTIONS; i++)
		if (strcmp(name, sections[i]) == 0) {
			if (l->section_line[i])
				report(l, at->line,
				       "duplicate section '[%s]' (first on "
				       "line %u)",
				       name, l->section_line[i]);
			l->section_line[i] = at->line;
			l->section = sections[i];
		}
	if (!l->section)
		report(l, at->line,
		       "unknown section '[%s]' (expected [tenant], [daemon] "
		       "or [safety])",
		       name);
	return l->error;
}

static int set_string(struct loader *l, const struct key *k, const char *value)
{
	char **dst = field(l, k);

	free(*dst);
	*dst = k->kind == KIND_PATH ? resolve_path(l->dir, value)
				    : strdup(value);
	return *dst ? 0 : -ENOMEM;
}

static int set_number(struct loader *l, const struct key *k,
		      const struct inifile_pos *at, const char *value)
{
	uint64_t v;
	int r;

	if (k->kind == KIND_DURATION)
		r = value_duration(value, &v);
	else
		r = value_uint(value, k->min, k->max, &v);
	if (r == 0 && (v < k->min || v > k->max))
		r = -ERANGE;
	if (r < 0 && k->kind == KIND_DURATION)
		report(l, at->line,
		       "invalid duration '%s' for '%s' (a number of seconds, "
		       "or with an s, m, h or d suffix%s)",
		       value, k->name, k->min ? ", at least 1s" : "");
	else if (r < 0)
		report(l, at->line,
		       "invalid number '%s' for '%s' (%llu to %llu)", value,
		       k->name, (unsigned long long)k->min,
		       (unsigned long long)k->max);
	else
		*(uint64_t *)field(l, k) = v;
	return 0;
}

/* auto, or a cap no higher than Graph's documented rate. */
static int set_rate(struct loader *l, const struct key *k,
		    const struct inifile_pos *at, const char *value)
{
	uint64_t v;

	if (strcasecmp(value, "auto") == 0)
		v = 0;
	else if (value_uint(value, k->min, k->max, &v) < 0) {
		report(l, at->line,
		       "invalid rate '%s' for '%s' (auto, or a cap of %llu to "
		       "%llu per second: Graph's documented limit)",
		       value, k->name, (unsigned long long)k->min,
		       (unsigned long long)k->max);
		return 0;
	}
	*(uint64_t *)field(l, k) = v;
	return 0;
}

static int set_removal(struct loader *l, const struct key *k,
		       const struct inifile_pos *at, const char *value)
{
	static const char *const modes[] = { "owned", "authoritative",
					     "never" };

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(value, modes[i]) == 0) {
			*(enum config_removal *)field(l, k) =
				(enum config_removal)i;
			return 0;
		}
	report(l, at->line,
	       "invalid removal mode '%s' (owned, authoritative or never)",
	       value);
	return 0;
}

/* Convert and store one value; problems are reported, not returned. */
static int set_value(struct loader *l, const struct key *k,
		     const struct inifile_pos *at, const char *value)
{
	const char *why = NULL;
	struct guid g;
	bool b;

	switch (k->kind) {
	case KIND_TENANT:
		if (!value_is_tenant(value))
			why = "a tenant GUID or a verified domain such as "
			      "contoso.onmicrosoft.com";
		break;
	case KIND_GUID:
		if (guid_parse(value, &g) < 0)
			why = "a GUID: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
		break;
	case KIND_URL:
	case KIND_HTTPS_URL:
		(void)value_url(value, k->kind == KIND_URL, &why);
		break;
	case KIND_PROXY:
		(void)value_proxy(value, &why);
		break;
	case KIND_BOOL:
		if (value_bool(value, &b) < 0)
			why = "yes or no";
		else
			*(bool *)field(l, k) = b;
		break;
	case KIND_DURATION:
	case KIND_UINT:
		return set_number(l, k, at, value);
	case KIND_RATE:
		return set_rate(l, k, at, value);
	case KIND_REMOVAL:
		return set_removal(l, k, at, value);
	case KIND_TEXT:
	case KIND_PATH:
		break;
	}
	if (why) {
		report(l, at->line, "invalid value '%s' for '%s' (%s)", value,
		       k->name, why);
		return 0;
	}
	return k->kind == KIND_BOOL ? 0 : set_string(l, k, value);
}

static void unknown_key(struct loader *l, const struct inifile_pos *at,
			const char *name)
{
	const char *names[N_KEYS];
	const char *hint;
	size_t n = 0;

	for (size_t i = 0; i < N_KEYS; i++) {
		if (strcmp(keys[i].name, name) == 0) {
			/* e.g. write_rate, which moved to [daemon] */
			report(l, at->line,
			       "unknown key '%s' in [%s] (it belongs in [%s])",
			       name, l->section, keys[i].section);
			return;
		}
		if (strcmp(keys[i].section, l->section) == 0)
			names[n++] = keys[i].name;
	}
	hint = value_closest(name, names, n);
	if (hint)
		report(l, at->line,
		       "unknown key '%s' in [%s] (did you mean '%s'?)", name,
		       l->section, hint);
	else
		report(l, at->line, "unknown key '%s' in [%s]", name,
		       l->section);
}

static int on_key(void *user, const struct inifile_pos *at, const char *section,
		  const char *name, const char *value)
{
	struct loader *l = user;

	if (section[0] == '\0') {
		report(l, at->line, "'%s' is outside any section", name);
		return l->error;
	}
	if (!l->section)
		return l->error; /* the unknown section was reported */
	if (at->is_continuation) {
		report(l, at->line,
		       "indented line would continue the value of '%s'; "
		       "remove the indentation",
		       name);
		return l->error;
	}
	for (size_t i = 0; i < N_KEYS; i++) {
		if (strcmp(keys[i].section, l->section) ||
		    strcmp(keys[i].name, name))
			continue;
		if (l->seen[i]) {
			report(l, at->line,
			       "duplicate key '%s' (first set on line %u)",
			       name, l->seen[i]);
			return l->error;
		}
		l->seen[i] = at->line;
		if (value[0] == '\0') {
			report(l, at->line, "missing value for '%s'", name);
			return l->error;
		}
		return set_value(l, &keys[i], at, value) < 0 ? -ENOMEM
							     : l->error;
	}
	unknown_key(l, at, name);
	return l->error;
}

static unsigned key_line(const struct loader *l, const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return l->seen[i];
	return 0;
}

static void strip_slash(char *url)
{
	size_t len = url ? strlen(url) : 0;

	while (len > 0 && url[len - 1] == '/')
		url[--len] = '\0';
}

/* Exactly one of client_secret_file, certificate_file, managed_identity. */
static void finish_auth(struct loader *l)
{
	struct config *c = &l->cfg;
	unsigned line_secret =
		c->client_secret_file ? key_line(l, "client_secret_file") : 0;
	unsigned line_cert =
		c->certificate_file ? key_line(l, "certificate_file") : 0;
	unsigned line_mi =
		l->is_managed_identity ? key_line(l, "managed_identity") : 0;
	unsigned n = !!line_secret + !!line_cert + !!line_mi;

	if (n == 0) {
		report(l, l->section_line[0],
		       "no authentication method: set client_secret_file, "
		       "certificate_file or managed_identity = yes in "
		       "[tenant]");
		return;
	}
	if (n > 1) {
		unsigned last =
			line_secret > line_cert ? line_secret : line_cert;

		report(l, line_mi > last ? line_mi : last,
		       "more than one authentication method: keep one of "
		       "client_secret_file, certificate_file and "
		       "managed_identity");
		return;
	}
	c->auth = line_secret ? CONFIG_AUTH_SECRET
		  : line_cert ? CONFIG_AUTH_CERTIFICATE
			      : CONFIG_AUTH_MANAGED_IDENTITY;
	if (c->auth != CONFIG_AUTH_MANAGED_IDENTITY && !c->client_id)
		report(l, l->section_line[0],
		       "missing required key 'client_id' in [tenant]");
}

static int finish_credential(struct loader *l)
{
	struct config *c = &l->cfg;
	bool is_cert = c->auth == CONFIG_AUTH_CERTIFICATE;
	const char *key = is_cert ? "certificate_file" : "client_secret_file";
	char why[DIAG_TEXT_MAX - 64];
	int r;

	if (c->auth != CONFIG_AUTH_SECRET && !is_cert)
		return 0;
	r = credential_resolve(
		l->dir, is_cert ? c->certificate_file : c->client_secret_file,
		&c->credential_path, &c->is_credential_from_systemd);
	if (r < 0)
		return r;
	if (credential_check(c->credential_path, c->is_credential_from_systemd,
			     is_cert, why, sizeof(why)) < 0)
		report(l, key_line(l, key), "%s: %s", key, why);
	return 0;
}

static int set_default(char **dst, const char *value)
{
	if (*dst)
		return 0;
	*dst = strdup(value);
	return *dst ? 0 : -ENOMEM;
}

static int finish_urls(struct loader *l)
{
	struct config *c = &l->cfg;
	bool is_mi = c->auth == CONFIG_AUTH_MANAGED_IDENTITY;

	if (c->authority && !is_mi &&
	    strncasecmp(c->authority, "http:", 5) == 0)
		report(l, key_line(l, "authority"),
		       "plain http is only accepted for the managed identity "
		       "endpoint; use https");
	if (set_default(&c->authority,
			is_mi ? "http://169.254.169.254"
			      : "https://login.microsoftonline.com") < 0 ||
	    set_default(&c->graph, "https://graph.microsoft.com") < 0)
		return -ENOMEM;
	strip_slash(c->authority);
	strip_slash(c->graph);
	if (c->ca_file && access(c->ca_file, R_OK) < 0)
		report(l, key_line(l, "ca_file"), "ca_file '%s': %s",
		       c->ca_file, strerror(errno));
	return 0;
}

static int config_finish(struct loader *l)
{
	struct config *c = &l->cfg;

	if (!c->tenant_id)
		report(l, l->section_line[0],
		       "missing required key 'tenant_id' in [tenant]");
	finish_auth(l);
	if (finish_credential(l) < 0 || finish_urls(l) < 0 ||
	    set_default(&c->policy, "/etc/licensed/policy.ini") < 0 ||
	    set_default(&c->state_dir, "/var/lib/licensed") < 0)
		return -ENOMEM;
	return l->error;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static void loader_defaults(struct config *c)
{
	c->write_rate = 0; /* auto */
	c->read_rate = 0;
	c->interval_sec = 5 * 60;
	c->full_sync_sec = 24 * 3600;
	c->removal = CONFIG_REMOVAL_OWNED;
	c->removal_grace_sec = 24 * 3600;
	c->max_removals = 50;
	c->max_removal_percent = 10;
}

int config_load(const char *path, struct config *ret, struct diags *diags)
{
	static const struct inifile_ops ops = { on_section, on_key };
	unsigned seen[N_KEYS] = { 0 };
	struct loader l = { .path = path, .seen = seen, .diags = diags };
	size_t before = diags_count(diags);
	int r;

	loader_defaults(&l.cfg);
	l.dir = dir_of(path);
	l.cfg.path = strdup(path);
	if (!l.dir || !l.cfg.path) {
		r = -ENOMEM;
		goto out;
	}
	r = inifile_parse(path, &ops, &l, diags);
	if (r < 0)
		goto out;
	if (diags_count(diags) == before) {
		r = config_finish(&l);
		if (r < 0)
			goto out;
	}
	if (diags_count(diags) > before) {
		r = 2;
		goto out;
	}
	*ret = l.cfg;
	memset(&l.cfg, 0, sizeof(l.cfg));
	r = 0;
out:
	config_free(&l.cfg);
	free(l.dir);
	return r;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->tenant_id);
	free(c->client_id);
	free(c->client_secret_file);
	free(c->certificate_file);
	free(c->credential_path);
	free(c->authority);
	free(c->graph);
	free(c->ca_file);
	free(c->proxy);
	free(c->policy);
	free(c->state_dir);
	free(c->metrics_file);
	memset(c, 0, sizeof(*c));
}

const char *config_auth_name(enum config_auth a)
{
	switch (a) {
	case CONFIG_AUTH_SECRET:
		return "client secret";
	case CONFIG_AUTH_CERTIFICATE:
		return "certificate";
	case CONFIG_AUTH_MANAGED_IDENTITY:
		return "managed identity";
	case CONFIG_AUTH_NONE:
		break;
	}
	return "none";
}

const char *config_removal_name(enum config_removal r)
{
	switch (r) {
	case CONFIG_REMOVAL_OWNED:
		return "owned";
	case CONFIG_REMOVAL_AUTHORITATIVE:
		return "authoritative";
	case CONFIG_REMOVAL_NEVER:
		break;
	}
	return "never";
}
