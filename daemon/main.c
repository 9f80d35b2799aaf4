/*
 * main: command line, wiring and exit codes (SPEC section 1).
 *
 * Exit codes: 0 success, 1 the round ran with problems, 2 usage error or
 * invalid config/policy (nothing contacted), 3 the tenant could not be
 * read (nothing written).  Only main() decides the exit status.
 *
 * First of all, whatever the command, the process is made non-dumpable:
 * it will hold the client secret, a private key or a bearer token, and a
 * core file (or a same-user ptrace, or /proc/PID/mem) would hand them
 * out.  The systemd units also set LimitCORE=0.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "config/config.h"
#include "config/policy_load.h"
#include "config/value.h"
#include "daemon/client.h"
#include "daemon/cycle.h"
#include "daemon/exitcode.h"
#include "daemon/journal.h"
#include "daemon/log.h"
#include "daemon/loop.h"
#include "daemon/online.h"
#include "daemon/report.h"
#include "daemon/state.h"
#include "daemon/summary.h"
#include "policy/policy.h"

#ifndef LICENSED_VERSION
#define LICENSED_VERSION "unknown"
#endif

/* How long `approve` waits for a running round to release the lock. */
#define APPROVE_WAIT_SEC 30

/* Set by SIGALRM while `approve` waits for the round lock. */
static volatile sig_atomic_t approve_is_late;

struct args {
	const char *config;
	const char *command;
	const char *operand; /* approve N */
	bool is_help;
	bool is_version;
	bool is_online;
	bool is_json;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: licensed [-c FILE] COMMAND\n"
		"\n"
		"  run              the daemon (what systemd starts)\n"
		"  once             one reconcile round, then exit\n"
		"  plan [--json]    show what a round would change; change "
		"nothing\n"
		"  check [--online] validate the config and the policy "
		"(--online: also\n"
		"                   against the tenant)\n"
		"  status [--json]  the last round, pending removals; no "
		"network\n"
		"  approve [N]      let the next round apply up to N held "
		"removals\n"
		"\n"
		"  -c, --config FILE  the config file (default %s)\n"
		"  -h, --help         show this help\n"
		"  -V, --version      show the version\n",
		CONFIG_DEFAULT_PATH);
}

static int bad_option(char **argv)
{
	if (optopt)
		log_error("licensed: unknown or incomplete option '-%c'",
			  optopt);
	else
		log_error("licensed: unknown option '%s'", argv[optind - 1]);
	return -EINVAL;
}

/* Which commands take which options. */
static int check_combination(const struct args *a)
{
	const char *c = a->command ? a->command : "";

	if (a->is_online && strcmp(c, "check") != 0) {
		log_error("licensed: --online goes with 'check'");
		return -EINVAL;
	}
	if (a->is_json && strcmp(c, "plan") && strcmp(c, "status")) {
		log_error("licensed: --json goes with 'plan' or 'status'");
		return -EINVAL;
	}
	if (a->operand && strcmp(c, "approve") != 0) {
		log_error("licensed: unexpected argument '%s'", a->operand);
		return -EINVAL;
	}
	return 0;
}

/* Options may come before or after the command.  0, or -EINVAL. */
static int parse_args(int argc, char **argv, struct args *ret)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "online", no_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct args a = { .config = CONFIG_DEFAULT_PATH };
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:hV", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			a.config = optarg;
			break;
		case 'h':
			a.is_help = true;
			break;
		case 'V':
			a.is_version = true;
			break;
		case 'o':
			a.is_online = true;
			break;
		case 'j':
			a.is_json = true;
			break;
		default:
			return bad_option(argv);
		}
	}
	if (optind < argc)
		a.command = argv[optind++];
	if (optind < argc)
		a.operand = argv[optind++];
	if (optind < argc) {
		log_error("licensed: unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (check_combination(&a) < 0)
		return -EINVAL;
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

/*
 * Load the config and, with pol, the policy.  Returns 0, or EXITCODE_INVALID
 * after printing every problem, or -errno.
 */
static int load(const char *path, struct config *cfg, struct policy *pol)
{
	struct diags diags = { 0 };
	int r;

	r = config_load(path, cfg, &diags);
	if (r == 0 && pol)
		r = policy_load(cfg->policy, pol, &diags);
	if (r > 0) {
		print_diags(&diags);
		log_error("licensed: %zu %s; nothing was contacted",
			  diags_count(&diags),
			  diags_count(&diags) == 1 ? "error" : "errors");
		r = EXITCODE_INVALID;
	} else if (r < 0) {
		log_error("licensed: cannot load the configuration: %s",
			  strerror(-r));
	}
	diags_clear(&diags);
	return r;
}

static int cmd_check(const struct config *cfg, const struct policy *pol,
		     bool is_online)
{
	int r;

	if (is_online)
		return online_check(stdout, cfg, pol);
	r = summary_print(stdout, cfg, pol);
	if (r < 0) {
		log_error("licensed: cannot write the summary: %s",
			  strerror(-r));
		return EXITCODE_INVALID;
	}
	printf("ok: config and policy are valid (offline: groups, SKUs and "
	       "plans are resolved by 'check --online' and at each round)\n");
	return EXITCODE_OK;
}

/* once, plan and plan --json: one round against the tenant. */
static int cmd_round(const struct config *cfg, const struct policy *pol,
		     enum cycle_mode mode)
{
	struct round_report rep = { 0 };
	struct graph *g = NULL;
	int r;

	r = client_open(cfg, NULL, &g);
	if (r < 0)
		return r == -EINVAL ? EXITCODE_INVALID : EXITCODE_UNREADABLE;
	r = cycle_run(cfg, pol, g, mode, stdout, &rep);
	graph_free(g);
	if (r == -EPROTONOSUPPORT)
		return EXITCODE_INVALID; /* a state file from a newer licensed
					  */
	return r < 0 ? EXITCODE_UNREADABLE : rep.exit_code;
}

static void on_alarm(int sig)
{
	(void)sig;
	approve_is_late = 1;
}

/*
 * Lock the file open on fd, waiting at most APPROVE_WAIT_SEC: a blocking
 * flock() that SIGALRM interrupts (an event wait, no polling).  The timer
 * repeats each second after the deadline, in case its first signal came
 * just before flock() started.  0, -ETIMEDOUT, or -errno.
 */
static int wait_lock(int fd)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	struct itimerval t = { .it_value = { .tv_sec = APPROVE_WAIT_SEC },
			       .it_interval = { .tv_sec = 1 } };
	struct itimerval off = { 0 };
	int r = 0;

	approve_is_late = 0;
	(void)sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, &old) < 0)
		return -errno; /* no SA_RESTART: flock() returns EINTR */
	if (setitimer(ITIMER_REAL, &t, NULL) < 0)
		r = -errno;
	while (r == 0 && flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			r = -errno;
		else if (approve_is_late)
			r = -ETIMEDOUT;
	(void)setitimer(ITIMER_REAL, &off, NULL);
	(void)sigaction(SIGALRM, &old, NULL);
	return r;
}

/*
 * The round lock, for approve.  A round reads the approval when it starts
 * and deletes it when it ends: an approval written in between would be
 * deleted unused.  So approve takes the lock too, and when a round holds
 * it, says so and waits for that round to end (bounded: APPROVE_WAIT_SEC).
 * Returns the locked fd, -ETIMEDOUT, or -errno.
 */
static int approve_lock(const char *dir)
{
	char path[4096];
	int fd = state_lock(dir), r;

	if (fd != -EWOULDBLOCK)
		return fd;
	log_info("licensed: waiting for the running round to finish (at "
		 "most %d s)",
		 APPROVE_WAIT_SEC);
	/* The file exists: state_lock() has created it and set its owner. */
	if (snprintf(path, sizeof(path), "%s/lock", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	r = wait_lock(fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

static int cmd_approve(const struct config *cfg, const char *operand)
{
	uint64_t n = 0;
	int lock, r;

	if (!operand) {
		log_error("licensed: approve needs the number of removals to "
			  "allow (see 'licensed status')");
		return EXITCODE_INVALID;
	}
	if (value_uint(operand, 1, UINT32_MAX, &n) < 0) {
		log_error("licensed: '%s' is not a number of removals",
			  operand);
		return EXITCODE_INVALID;
	}
	lock = approve_lock(cfg->state_dir);
	if (lock == -ETIMEDOUT) {
		log_error("licensed: a round is still running after %d s; "
			  "nothing approved, run 'licensed approve %llu' again "
			  "when it has finished",
			  APPROVE_WAIT_SEC, (unsigned long long)n);
		return EXITCODE_INCOMPLETE;
	}
	if (lock < 0) {
		log_error("licensed: cannot lock '%s/lock': %s", cfg->state_dir,
			  strerror(-lock));
		return EXITCODE_UNREADABLE;
	}
	r = state_approval_set(cfg->state_dir, n);
	close(lock);
	if (r < 0) {
		log_error("licensed: cannot write '%s/approval': %s",
			  cfg->state_dir, strerror(-r));
		return EXITCODE_UNREADABLE;
	}
	printf("approved: the next round may apply up to %llu held "
	       "removals\n",
	       (unsigned long long)n);
	return EXITCODE_OK;
}

static int dispatch(const struct args *a)
{
	struct config cfg = { 0 };
	struct policy pol = { 0 };
	const char *c = a->command;
	bool needs_policy = strcmp(c, "status") && strcmp(c, "approve");
	int r;

	r = load(a->config, &cfg, needs_policy ? &pol : NULL);
	if (r != 0) {
		r = r < 0 ? EXITCODE_UNREADABLE : r;
		goto out;
	}
	if (strcmp(c, "check") == 0)
		r = cmd_check(&cfg, &pol, a->is_online);
	else if (strcmp(c, "once") == 0)
		r = cmd_round(&cfg, &pol, CYCLE_APPLY);
	else if (strcmp(c, "plan") == 0)
		r = cmd_round(&cfg, &pol,
			      a->is_json ? CYCLE_PLAN_JSON : CYCLE_PLAN);
	else if (strcmp(c, "status") == 0)
		r = report_status(stdout, &cfg, a->is_json) < 0
			    ? EXITCODE_UNREADABLE
			    : EXITCODE_OK;
	else if (strcmp(c, "approve") == 0)
		r = cmd_approve(&cfg, a->operand);
	else
		r = loop_run(a->config, &cfg, &pol);
out:
	policy_free(&pol);
	config_free(&cfg);
	return r;
}

static bool is_command(const char *c)
{
	static const char *const commands[] = { "run",	 "once",   "plan",
						"check", "status", "approve" };

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(c, commands[i]) == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	struct args a;
	int rc;

	/* Before anything is read (see the head of this file). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		log_warning("licensed: cannot disable core dumps: %s, ignoring",
			    strerror(errno));
	if (parse_args(argc, argv, &a) < 0) {
		usage(stderr);
		return EXITCODE_INVALID;
	}
	if (a.is_help || a.is_version) {
		if (a.is_help)
			usage(stdout);
		else
			printf("licensed %s\n", LICENSED_VERSION);
		return EXITCODE_OK;
	}
	if (!a.command || !is_command(a.command)) {
		if (a.command)
			log_error("licensed: unknown command '%s'", a.command);
		else
			log_error("licensed: no command given");
		usage(stderr);
		return EXITCODE_INVALID;
	}
	journal_open(strcmp(a.command, "run") == 0);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		log_error("licensed: cannot initialise libcurl");
		return EXITCODE_UNREADABLE;
	}
	rc = dispatch(&a);
	curl_global_cleanup();
	return rc;
}
