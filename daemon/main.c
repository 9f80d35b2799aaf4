/*
 * main: command line, wiring and exit codes (SPEC section 1).
 *
 * Exit codes: 0 success, 1 the round ran with problems, 2 usage error or
 * invalid config/policy (nothing contacted), 3 the tenant could not be
 * read.  Only main() decides the exit status.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "config/config.h"
#include "config/policy_load.h"
#include "daemon/log.h"
#include "daemon/online.h"
#include "daemon/summary.h"
#include "policy/policy.h"

#ifndef LICENSED_VERSION
#define LICENSED_VERSION "unknown"
#endif

enum {
	EXIT_OK = 0,
	EXIT_INVALID = 2,
	EXIT_UNREADABLE = 3,
};

struct args {
	const char *config;
	const char *command;
	bool is_help;
	bool is_version;
	bool is_online;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: licensed [-c FILE] check\n"
		"       licensed --version | --help\n"
		"\n"
		"  check            validate the config and the policy "
		"offline\n"
		"\n"
		"  -c, --config FILE  the config file (default %s)\n"
		"  -h, --help         show this help\n"
		"  -V, --version      show the version\n",
		CONFIG_DEFAULT_PATH);
}

/* Options may come before or after the command.  0, or -EINVAL. */
static int parse_args(int argc, char **argv, struct args *ret)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "online", no_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct args a = { CONFIG_DEFAULT_PATH, NULL, false, false, false };
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:hV", options, NULL)) != -1) {
		if (c == 'c') {
			a.config = optarg;
		} else if (c == 'h') {
			a.is_help = true;
		} else if (c == 'V') {
			a.is_version = true;
		} else if (c == 'o') {
			a.is_online = true;
		} else {
			if (optopt)
				log_error("licensed: unknown or incomplete "
					  "option '-%c'",
					  optopt);
			else
				log_error("licensed: unknown option '%s'",
					  argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc)
		a.command = argv[optind++];
	if (optind < argc) {
		log_error("licensed: unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (a.is_online && (!a.command || strcmp(a.command, "check") != 0)) {
		log_error("licensed: --online goes with 'check'");
		return -EINVAL;
	}
	*ret = a;
	return 0;
}

static void print_diags(struct diags *d)
{
	char line[DIAG_TEXT_MAX + 512];

	diags_sort(d);
	for (size_t i = 0; i < d->n; i++) {
		diags_format(d, i, line, sizeof(line));
		log_error("%s", line);
	}
	if (d->n_dropped)
		log_error("... and %zu more errors", d->n_dropped);
}

static int cmd_check(const char *config_path, bool is_online)
{
	struct config cfg = { 0 };
	struct policy pol = { 0 };
	struct diags diags = { 0 };
	int r, rc = EXIT_INVALID;

	r = config_load(config_path, &cfg, &diags);
	if (r == 0)
		r = policy_load(cfg.policy, &pol, &diags);
	if (r < 0) {
		log_error("licensed: cannot check: %s", strerror(-r));
		goto out;
	}
	if (r > 0) {
		print_diags(&diags);
		log_error("licensed: %zu %s; nothing was contacted",
			  diags_count(&diags),
			  diags_count(&diags) == 1 ? "error" : "errors");
		goto out;
	}
	if (is_online) {
		rc = online_check(stdout, &cfg, &pol);
		goto out;
	}
	r = summary_print(stdout, &cfg, &pol);
	if (r < 0) {
		log_error("licensed: cannot write the summary: %s",
			  strerror(-r));
		goto out;
	}
	printf("ok: config and policy are valid (offline: groups, SKUs and "
	       "plans are resolved by 'check --online' and at each round)\n");
	rc = EXIT_OK;
out:
	diags_clear(&diags);
	policy_free(&pol);
	config_free(&cfg);
	return rc;
}

int main(int argc, char **argv)
{
	struct args a;
	int rc;

	if (parse_args(argc, argv, &a) < 0) {
		usage(stderr);
		return EXIT_INVALID;
	}
	if (a.is_help) {
		usage(stdout);
		return EXIT_OK;
	}
	if (a.is_version) {
		printf("licensed %s\n", LICENSED_VERSION);
		return EXIT_OK;
	}
	if (a.command && strcmp(a.command, "check") == 0) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
			log_error("licensed: cannot initialise libcurl");
			return EXIT_UNREADABLE;
		}
		rc = cmd_check(a.config, a.is_online);
		curl_global_cleanup();
		return rc;
	}
	if (a.command)
		log_error("licensed: unknown command '%s'", a.command);
	else
		log_error("licensed: no command given");
	usage(stderr);
	return EXIT_INVALID;
}
