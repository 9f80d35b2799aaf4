/*
 * graphtool: drive the Graph client from the command line, for the
 * integration tests (and for poking at a tenant by hand).
 *
 *   graphtool -c CONF skus
 *   graphtool -c CONF group GROUP-ID
 *   graphtool -c CONF members GROUP-ID
 *   graphtool -c CONF holders SKU-ID
 *   graphtool -c CONF apply FILE
 *
 * FILE holds one write per line: a user id, then any of "usage=XX",
 * "+SKU-ID" or "+SKU-ID:PLAN-ID,PLAN-ID" (add with those plans disabled)
 * and "-SKU-ID" (remove).  Output is one line per item read or per write
 * outcome, then a line of request counters.  Exit 0, 1 (some write
 * failed) or 3 (a read or the client failed).
 *
 * With GRAPHTOOL_CHECKINS set, the client gets a wait hook (as the
 * daemon's loop gives it) that prints "checkin SECONDS" (wall clock) on
 * stderr each time it is called, so a test can see where the client
 * would feed the watchdog between requests.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "daemon/client.h"
#include "daemon/log.h"

#define MAX_WRITES 100000
#define MAX_ITEMS  32

struct parsed {
	struct graph_write w;
	struct license_add adds[MAX_ITEMS];
	struct guid removes[MAX_ITEMS];
	struct guid plans[MAX_ITEMS][MAX_ITEMS];
};

static void print_user(const struct user *u)
{
	char id[GUID_STRLEN + 1], sku[GUID_STRLEN + 1];
	static const char *const by[] = { "direct", "group", "unknown" };

	guid_format(&u->id, id);
	printf("user %s %s enabled=%d usage=%s", id, u->upn, u->is_enabled,
	       u->usage_location[0] ? u->usage_location : "-");
	for (size_t i = 0; i < u->n_assignments; i++) {
		guid_format(&u->assignments[i].sku, sku);
		printf(" %s:%s:%zu", sku, by[u->assignments[i].by],
		       u->assignments[i].n_disabled_plans);
	}
	putchar('\n');
}

static int print_users(struct user *users, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		print_user(&users[i]);
		decode_user_clear(&users[i]);
	}
	free(users);
	printf("%zu users\n", n);
	return 0;
}

static int read_cmd(struct graph *g, const char *cmd, const char *arg)
{
	struct graph_failure f;
	struct user *users = NULL;
	struct sku *skus = NULL;
	struct guid id = { { 0 } };
	char *name = NULL;
	size_t n = 0;
	int r;

	if (arg && guid_parse(arg, &id) < 0) {
		fprintf(stderr, "graphtool: '%s' is not a GUID\n", arg);
		return 2;
	}
	if (strcmp(cmd, "skus") == 0) {
		r = graph_read_skus(g, &skus, &n, &f);
		for (size_t i = 0; r == 0 && i < n; i++)
			printf("sku %s enabled=%lld consumed=%lld plans=%zu\n",
			       skus[i].part_number, (long long)skus[i].enabled,
			       (long long)skus[i].consumed, skus[i].n_plans);
		decode_skus_free(skus, n);
	} else if (strcmp(cmd, "group") == 0) {
		r = graph_read_group(g, &id, &name, &f);
		if (r == 0)
			printf("group %s\n", name);
		free(name);
	} else {
		r = strcmp(cmd, "members") == 0
			    ? graph_read_members(g, &id, &users, &n, &f)
			    : graph_read_holders(g, &id, &users, &n, &f);
		if (r == 0)
			print_users(users, n);
	}
	if (r < 0)
		fprintf(stderr, "graphtool: %s: %s (%s)\n", cmd, f.text,
			strerror(-r));
	return r < 0 ? 3 : 0;
}

static int parse_add(struct parsed *p, const char *tok)
{
	struct license_add *a = &p->adds[p->w.n_adds];
	char sku[GUID_STRLEN + 1];
	const char *colon = strchr(tok, ':');
	size_t len = colon ? (size_t)(colon - tok) : strlen(tok);

	if (len != GUID_STRLEN || p->w.n_adds >= MAX_ITEMS)
		return -EINVAL;
	memcpy(sku, tok, len);
	sku[len] = '\0';
	if (guid_parse(sku, &a->sku) < 0)
		return -EINVAL;
	a->disabled_plans = p->plans[p->w.n_adds];
	a->n_disabled_plans = 0;
	for (const char *s = colon; s && *s; s += GUID_STRLEN + 1) {
		char plan[GUID_STRLEN + 1];

		if (strlen(s + 1) < GUID_STRLEN ||
		    a->n_disabled_plans >= MAX_ITEMS)
			return -EINVAL;
		memcpy(plan, s + 1, GUID_STRLEN);
		plan[GUID_STRLEN] = '\0';
		if (guid_parse(plan,
			       &p->plans[p->w.n_adds][a->n_disabled_plans++]) <
		    0)
			return -EINVAL;
		if (s[1 + GUID_STRLEN] != ',' && s[1 + GUID_STRLEN] != '\0')
			return -EINVAL;
		if (s[1 + GUID_STRLEN] == '\0')
			break;
	}
	p->w.n_adds++;
	return 0;
}

static int parse_line(char *line, struct parsed *p)
{
	char *save = NULL, *tok = strtok_r(line, " \t\n", &save);

	memset(p, 0, sizeof(*p));
	if (!tok || guid_parse(tok, &p->w.user) < 0)
		return -EINVAL;
	p->w.adds = p->adds;
	p->w.removes = p->removes;
	while ((tok = strtok_r(NULL, " \t\n", &save))) {
		if (strncmp(tok, "usage=", 6) == 0 && strlen(tok) == 8)
			memcpy(p->w.usage_location, tok + 6, 3);
		else if (tok[0] == '+' && parse_add(p, tok + 1) == 0)
			continue;
		else if (tok[0] == '-' && p->w.n_removes < MAX_ITEMS &&
			 guid_parse(tok + 1, &p->removes[p->w.n_removes]) == 0)
			p->w.n_removes++;
		else
			return -EINVAL;
	}
	return 0;
}

static int apply_cmd(struct graph *g, const char *path)
{
	struct parsed *v = calloc(MAX_WRITES, sizeof(*v));
	struct graph_write *w = calloc(MAX_WRITES, sizeof(*w));
	struct graph_result *res = calloc(MAX_WRITES, sizeof(*res));
	FILE *f = fopen(path, "re");
	struct graph_failure fail = { 0 };
	char line[4096], id[GUID_STRLEN + 1];
	size_t n = 0;
	int r = 3;

	if (!v || !w || !res || !f)
		goto out;
	while (n < MAX_WRITES && fgets(line, sizeof(line), f)) {
		if (parse_line(line, &v[n]) < 0) {
			fprintf(stderr, "graphtool: bad line %zu\n", n + 1);
			goto out;
		}
		w[n] = v[n].w;
		n++;
	}
	r = graph_apply(g, w, n, res, &fail);
	for (size_t i = 0; i < n; i++) {
		guid_format(&w[i].user, id);
		printf("write %s %s %ld %s\n", id,
		       graph_outcome_name(res[i].outcome), res[i].status,
		       res[i].message);
	}
	if (r < 0)
		fprintf(stderr, "graphtool: apply: %s\n", fail.text);
	r = r < 0 ? 3 : r > 0 ? 1 : 0;
out:
	if (f)
		fclose(f);
	free(v);
	free(w);
	free(res);
	return r;
}

/* The wait hook of GRAPHTOOL_CHECKINS: say when, then wait. */
static int checkin(void *user, uint64_t until_usec)
{
	struct timespec now, until = { (time_t)(until_usec / 1000000),
				       (long)(until_usec % 1000000) * 1000 };

	(void)user;
	(void)clock_gettime(CLOCK_REALTIME, &now);
	fprintf(stderr, "checkin %lld.%06ld\n", (long long)now.tv_sec,
		now.tv_nsec / 1000);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) ==
	       EINTR)
		;
	return 0;
}

static int run(const char *conf, const char *cmd, const char *arg)
{
	struct client_hooks hooks = { .wait = checkin };
	struct config c = { 0 };
	struct diags d = { 0 };
	struct graph *g = NULL;
	struct graph_counters n;
	int r = 3;

	if (config_load(conf, &c, &d) != 0) {
		fprintf(stderr, "graphtool: bad config %s\n", conf);
		goto out;
	}
	if (client_open(&c, getenv("GRAPHTOOL_CHECKINS") ? &hooks : NULL, &g) <
	    0)
		goto out;
	graph_round_start(g);
	r = strcmp(cmd, "apply") == 0 ? apply_cmd(g, arg)
				      : read_cmd(g, cmd, arg);
	graph_counters(g, &n);
	printf("requests reads=%lu writes=%lu batches=%lu retries=%lu "
	       "throttled=%lu\n",
	       n.reads, n.writes, n.batches, n.retries, n.throttled);
out:
	graph_free(g);
	config_free(&c);
	diags_clear(&d);
	return r;
}

int main(int argc, char **argv)
{
	int r;

	if (argc < 4 || strcmp(argv[1], "-c") != 0 ||
	    (argc < 5 && strcmp(argv[3], "skus") != 0)) {
		fprintf(stderr,
			"usage: graphtool -c CONF "
			"skus|group ID|members ID|holders ID|apply FILE\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r = run(argv[2], argv[3], argc > 4 ? argv[4] : NULL);
	curl_global_cleanup();
	return r;
}
