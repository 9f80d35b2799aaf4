/*
 * summary: render config + policy for `licensed check`.
 *
 * The layout is stable (golden tests compare it byte for byte): one block
 * for the config, one for the policy, one line per rule and per chain.
 */
#include <errno.h>
#include <string.h>

#include "config/value.h"
#include "daemon/summary.h"
#include "policy/policy.h"

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void print_config(FILE *f, const struct config *c)
{
	char interval[32], full[32], grace[32];

	value_format_duration(c->interval_sec, interval, sizeof(interval));
	value_format_duration(c->full_sync_sec, full, sizeof(full));
	value_format_duration(c->removal_grace_sec, grace, sizeof(grace));
	fprintf(f, "config %s\n", c->path);
	fprintf(f, "  tenant    %s\n", c->tenant_id);
	fprintf(f, "  auth      %s", config_auth_name(c->auth));
	if (c->client_id)
		fprintf(f, ", client %s", c->client_id);
	if (c->credential_path)
		fprintf(f, ", from %s%s", c->credential_path,
			c->is_credential_from_systemd ? " (systemd credential)"
						      : "");
	fprintf(f, "\n  endpoints %s, %s\n", c->authority, c->graph);
	if (c->ca_file)
		fprintf(f, "  ca_file   %s\n", c->ca_file);
	if (c->proxy)
		fprintf(f, "  proxy     %s\n", c->proxy);
	fprintf(f,
		"  rates     writes up to %llu/s (%s), reads up to %llu/s "
		"(%s)\n",
		(unsigned long long)(c->write_rate ? c->write_rate
						   : CONFIG_WRITE_RATE_MAX),
		c->write_rate ? "write_rate" : "Graph's limit",
		(unsigned long long)(c->read_rate ? c->read_rate
						  : CONFIG_READ_RATE_MAX),
		c->read_rate ? "read_rate" : "Graph's limit");
	fprintf(f, "  rounds    every %s, full read every %s%s\n", interval,
		full, c->is_dry_run ? ", dry run (no writes)" : "");
	fprintf(f, "  state     %s\n", c->state_dir);
	if (c->metrics_file)
		fprintf(f, "  metrics   %s\n", c->metrics_file);
	fprintf(f,
		"  safety    removal %s, grace %s, hold removals above %llu "
		"or %llu%% per round\n",
		config_removal_name(c->removal), grace,
		(unsigned long long)c->max_removals,
		(unsigned long long)c->max_removal_percent);
}

static void print_rule(FILE *f, const struct rule *r, int width)
{
	fprintf(f, "  rule %-*s %s, %zu %s", width, r->name, r->sku.name,
		r->n_groups, plural(r->n_groups, "group", "groups"));
	if (r->has_plans) {
		fprintf(f, ", %s:",
			r->is_allow_list ? "only plans" : "disabled plans");
		for (size_t i = 0; i < r->n_plans; i++)
			fprintf(f, "%s%s", i ? ", " : " ", r->plans[i].name);
	}
	if (r->usage_location[0])
		fprintf(f, ", usage location %s", r->usage_location);
	fputc('\n', f);
}

static int print_policy(FILE *f, const struct config *c, const struct policy *p)
{
	ssize_t n_groups = policy_count_groups(p);
	size_t n_skus = policy_count_skus(p);
	size_t n_excluded = p->n_excluded_ids + p->n_excluded_upns;
	int width = 0;

	if (n_groups < 0)
		return (int)n_groups;
	fprintf(f, "policy %s (%zu %s)\n", c->policy, p->n_files,
		plural(p->n_files, "file", "files"));
	fprintf(f,
		"  %zu %s, %zd %s, %zu %s, %zu precedence %s, %zu excluded "
		"%s",
		p->n_rules, plural(p->n_rules, "rule", "rules"), n_groups,
		plural((size_t)n_groups, "group", "groups"), n_skus,
		plural(n_skus, "SKU", "SKUs"), p->n_chains,
		plural(p->n_chains, "chain", "chains"), n_excluded,
		plural(n_excluded, "user", "users"));
	if (p->usage_location[0])
		fprintf(f, ", default usage location %s", p->usage_location);
	fputc('\n', f);
	for (size_t i = 0; i < p->n_rules; i++)
		if ((int)strlen(p->rules[i].name) > width)
			width = (int)strlen(p->rules[i].name);
	for (size_t i = 0; i < p->n_rules; i++)
		print_rule(f, &p->rules[i], width);
	for (size_t i = 0; i < p->n_chains; i++) {
		const struct chain *ch = &p->chains[i];

		fprintf(f, "  precedence %s:", ch->name);
		for (size_t j = 0; j < ch->n_skus; j++)
			fprintf(f, "%s%s", j ? " > " : " ", ch->skus[j].name);
		fputc('\n', f);
	}
	return 0;
}

int summary_print(FILE *f, const struct config *c, const struct policy *p)
{
	int r;

	print_config(f, c);
	r = print_policy(f, c, p);
	if (r < 0)
		return r;
	if (fflush(f) != 0 || ferror(f))
		return -EIO;
	return 0;
}
