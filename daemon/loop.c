/*
 * loop: the daemon's event loop.  See loop.h.
 *
 * Timing: a round at start, then every `interval` plus up to 10% jitter
 * (so that many instances do not beat in step); after a round that could
 * not read the tenant the wait doubles, up to 8 intervals, and drops back
 * after the next good round.  Rounds never overlap: they run inside the
 * loop.  Reload (SIGHUP) happens between rounds: a signal during a round
 * is remembered.  Stop (SIGTERM/SIGINT) ends a round at the next request
 * boundary; the round saves what it did.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "config/policy_load.h"
#include "daemon/client.h"
#include "daemon/cycle.h"
#include "daemon/exitcode.h"
#include "daemon/journal.h"
#include "daemon/log.h"
#include "daemon/loop.h"
#include "policy/policy.h"

#define BACKOFF_MAX_SHIFT 3 /* at most 8 intervals after failures */

/*
 * The longest wait before the next round that a Retry-After can impose:
 * Graph asks for seconds or minutes; a day-long or 31-year value is a
 * broken proxy or server, and must not stop reconciliation for good.
 */
#define ASKED_WAIT_MAX_SEC 86400

struct loop {
	const char *config_path;
	struct config cfg;
	struct policy pol;
	struct graph *g;
	int signal_fd;
	int round_fd;
	int watchdog_fd;
	uint64_t watchdog_usec; /* 0: no watchdog */
	bool is_stopping;
	bool is_reload_wanted;
	unsigned n_failures;
	uint64_t rng;
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static int arm(int fd, uint64_t delay_usec, uint64_t interval_usec)
{
	struct itimerspec its = {
		.it_value = { (time_t)(delay_usec / 1000000),
			      (long)(delay_usec % 1000000) * 1000 },
		.it_interval = { (time_t)(interval_usec / 1000000),
				 (long)(interval_usec % 1000000) * 1000 },
	};

	if (delay_usec == 0)
		its.it_value.tv_nsec = 1; /* 0 would disarm */
	return timerfd_settime(fd, 0, &its, NULL) < 0 ? -errno : 0;
}

static void drain(int fd)
{
	uint64_t n;

	while (read(fd, &n, sizeof(n)) < 0 && errno == EINTR)
		;
}

static void on_signal(struct loop *l)
{
	struct signalfd_siginfo si;

	while (read(l->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			l->is_reload_wanted = true;
		else
			l->is_stopping = true;
	}
}

/* Handle whatever is ready; timeout_ms -1 blocks.  Returns poll's count. */
static int poll_once(struct loop *l, int timeout_ms, bool *ret_round_due)
{
	struct pollfd fds[3] = { { l->signal_fd, POLLIN, 0 },
				 { l->watchdog_fd, POLLIN, 0 },
				 { l->round_fd, POLLIN, 0 } };
	int n = poll(fds, ret_round_due ? 3 : 2, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (fds[0].revents & POLLIN)
		on_signal(l);
	if (fds[1].revents & POLLIN) {
		drain(l->watchdog_fd);
		(void)sd_notify(0, "WATCHDOG=1");
	}
	if (ret_round_due && (fds[2].revents & POLLIN)) {
		drain(l->round_fd);
		*ret_round_due = true;
	}
	return n;
}

/*
 * The Graph client's wait hook: wait until until_usec while feeding the
 * watchdog and watching for signals.  -ECANCELED once stopping.
 */
static int wait_hook(void *user, uint64_t until_usec)
{
	struct loop *l = user;

	for (;;) {
		uint64_t now = now_usec();
		int timeout = until_usec > now
				      ? (int)((until_usec - now + 999) / 1000)
				      : 0;
		int r = poll_once(l, timeout, NULL);

		if (r < 0)
			return r;
		if (l->is_stopping)
			return -ECANCELED;
		if (now_usec() >= until_usec)
			return 0;
	}
}

static int open_client(struct loop *l)
{
	struct client_hooks h = { wait_hook, l, 60000 };

	/* Keep every request shorter than half the watchdog interval. */
	if (l->watchdog_usec && l->watchdog_usec / 2000 - 1000 < 60000)
		h.timeout_ms = (long)(l->watchdog_usec / 2000) - 1000;
	if (h.timeout_ms < 2000)
		h.timeout_ms = 2000;
	return client_open(&l->cfg, &h, &l->g);
}

/*
 * The wait before the next round: the interval with jitter, doubled after
 * each round that could not read the tenant, and never shorter than what
 * Graph asked for (a Retry-After the round would not sit out).
 */
static uint64_t next_delay_usec(struct loop *l, const struct round_report *r)
{
	uint64_t base = l->cfg.interval_sec * 1000000ULL, jitter, asked;

	l->n_failures = r->is_read_failed ? l->n_failures + 1 : 0;
	base <<= l->n_failures < BACKOFF_MAX_SHIFT ? l->n_failures
						   : BACKOFF_MAX_SHIFT;
	l->rng ^= l->rng << 13;
	l->rng ^= l->rng >> 7;
	l->rng ^= l->rng << 17;
	jitter = base / 10 ? l->rng % (base / 10) : 0;
	asked = r->wait_sec > 0 ? (uint64_t)(r->wait_sec < ASKED_WAIT_MAX_SEC
						     ? r->wait_sec * 1e6
						     : ASKED_WAIT_MAX_SEC * 1e6)
				: 0;
	if (r->wait_sec > ASKED_WAIT_MAX_SEC)
		log_warning("Graph asked to wait %.0f s; the next round comes "
			    "in %d s at most",
			    r->wait_sec, ASKED_WAIT_MAX_SEC);
	return base + jitter > asked ? base + jitter : asked;
}

static void clock_text(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (!localtime_r(&t, &tm) || strftime(buf, size, "%H:%M", &tm) == 0)
		(void)snprintf(buf, size, "?");
}

/* STATUS=: the last round in a line, its words from what was sent. */
static void notify_status(const struct round_report *r, bool has_run,
			  uint64_t delay_usec)
{
	char last[16], next[32];
	time_t t = time(NULL) + (time_t)(delay_usec / 1000000);

	clock_text((time_t)r->finished, last, sizeof(last));
	clock_text(t, next, sizeof(next));
	if (delay_usec > 12 * 3600 * 1000000ULL) { /* not today, maybe */
		struct tm tm;

		if (localtime_r(&t, &tm))
			(void)strftime(next, sizeof(next), "%Y-%m-%d %H:%M",
				       &tm);
	}
	if (!has_run) { /* no round ran: the state or the lock */
		(void)sd_notifyf(0,
				 "STATUS=last round %s did not run: %s; "
				 "next %s",
				 last, r->problem, next);
		return;
	}
	if (r->is_read_failed) {
		(void)sd_notifyf(0,
				 "STATUS=last round %s could not read the "
				 "tenant, nothing written; next %s",
				 last, next);
		return;
	}
	(void)sd_notifyf(0,
			 "STATUS=last round %s: %zu assigned, %zu removed, "
			 "%zu updated, %zu waiting for seats, %zu skipped, "
			 "%zu held, %zu errors, %zu without answer%s%s; "
			 "next %s",
			 last, r->assigned, r->removed, r->updated,
			 r->totals.waiting_seats, r->totals.no_usage_location,
			 r->totals.capped,
			 r->failed + r->unsent + r->totals.rule_errors,
			 r->unknown, r->is_dry_run ? " (dry run)" : "",
			 r->problem[0] ? " (stopped early)" : "", next);
}

static int do_round(struct loop *l)
{
	struct round_report rep = { .exit_code = EXITCODE_UNREADABLE,
				    .is_read_failed = true };
	uint64_t delay;
	int r = cycle_run(&l->cfg, &l->pol, l->g, CYCLE_APPLY, stdout, &rep);

	if (r == -ENOMEM || r == -EPROTONOSUPPORT)
		return r; /* a newer licensed's state: stop, exit 2 */
	if (l->is_stopping)
		return 0;
	if (r < 0) { /* no round: a busy lock or an unusable state dir */
		rep.finished = (int64_t)time(NULL);
		(void)snprintf(rep.problem, sizeof(rep.problem), "%s",
			       r == -EWOULDBLOCK
				       ? "another licensed round holds the lock"
				       : "the state directory cannot be used "
					 "(see the journal)");
		rep.is_read_failed = false; /* not the tenant: no backoff */
	}
	delay = next_delay_usec(l, &rep);
	notify_status(&rep, r == 0, delay);
	return arm(l->round_fd, delay, 0);
}

/*
 * SIGHUP: read config and policy again; swap them in only if both are
 * valid and the new credentials load (STYLE: bgpd parses before it
 * merges).  Otherwise log every problem and keep running as before.
 */
static void reload(struct loop *l)
{
	struct journal_fields f = { .message_id = JOURNAL_CONFIG_REJECTED };
	struct config cfg = { 0 };
	struct policy pol = { 0 };
	struct diags d = { 0 };
	struct config old_cfg = l->cfg;
	struct graph *old_g = l->g;
	char line[DIAG_TEXT_MAX + 512];
	int r;

	l->is_reload_wanted = false;
	(void)sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, now_usec());
	r = config_load(l->config_path, &cfg, &d);
	if (r == 0)
		r = policy_load(cfg.policy, &pol, &d);
	diags_sort(&d);
	for (size_t i = 0; i < d.n; i++) {
		diags_format(&d, i, line, sizeof(line));
		journal_record(LOG_ERR, &f, "%s", line);
	}
	if (r == 0) {
		l->cfg = cfg;
		r = open_client(l);
		if (r < 0)
			l->cfg = old_cfg;
	}
	if (r != 0) {
		journal_record(LOG_ERR, &f,
			       "reload rejected; the previous configuration "
			       "stays in force");
		l->g = old_g;
		config_free(&cfg);
		policy_free(&pol);
	} else {
		f.message_id = JOURNAL_RELOADED;
		journal_record(LOG_NOTICE, &f,
			       "configuration and policy reloaded: %zu rules",
			       pol.n_rules);
		graph_free(old_g);
		config_free(&old_cfg);
		policy_free(&l->pol);
		l->pol = pol;
	}
	diags_clear(&d);
	(void)sd_notify(0, "READY=1");
}

static int open_fds(struct loop *l)
{
	sigset_t mask;
	uint64_t wd = 0;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	l->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	l->round_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	l->watchdog_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (l->signal_fd < 0 || l->round_fd < 0 || l->watchdog_fd < 0)
		return -errno;
	if (sd_watchdog_enabled(0, &wd) > 0 && wd > 0) {
		l->watchdog_usec = wd;
		return arm(l->watchdog_fd, wd / 2, wd / 2);
	}
	return 0;
}

static void close_fds(struct loop *l)
{
	if (l->signal_fd >= 0)
		close(l->signal_fd);
	if (l->round_fd >= 0)
		close(l->round_fd);
	if (l->watchdog_fd >= 0)
		close(l->watchdog_fd);
}

static int serve(struct loop *l)
{
	bool is_due = true; /* a round at start */
	int r = 0;

	while (!l->is_stopping && r >= 0) {
		if (is_due) {
			is_due = false;
			r = do_round(l);
			continue;
		}
		if (l->is_reload_wanted) {
			reload(l);
			continue;
		}
		r = poll_once(l, -1, &is_due);
	}
	return r;
}

int loop_run(const char *config_path, struct config *cfg, struct policy *pol)
{
	struct loop l = { .config_path = config_path,
			  .cfg = *cfg,
			  .pol = *pol,
			  .signal_fd = -1,
			  .round_fd = -1,
			  .watchdog_fd = -1 };
	int r, rc = EXITCODE_INCOMPLETE;

	memset(cfg, 0, sizeof(*cfg)); /* the loop owns them now */
	memset(pol, 0, sizeof(*pol));
	if (getrandom(&l.rng, sizeof(l.rng), 0) != sizeof(l.rng) || !l.rng)
		l.rng = (uint64_t)now_usec() | 1;
	r = open_fds(&l);
	if (r < 0) {
		log_error("cannot set up the event loop: %s", strerror(-r));
		goto out;
	}
	r = open_client(&l);
	if (r < 0) {
		rc = EXITCODE_INVALID;
		goto out;
	}
	(void)sd_notify(0, "READY=1\nSTATUS=first round running");
	log_info("licensed started: %zu rules, a round every %llu s",
		 l.pol.n_rules, (unsigned long long)l.cfg.interval_sec);
	r = serve(&l);
	(void)sd_notify(0, "STOPPING=1");
	if (r == -EPROTONOSUPPORT)
		log_error("stopped: the state was written by a newer licensed");
	else if (r < 0)
		log_error("event loop failed: %s", strerror(-r));
	else
		log_info("licensed stopped");
	rc = r == -EPROTONOSUPPORT ? EXITCODE_INVALID : r < 0 ? 1 : EXITCODE_OK;
out:
	close_fds(&l);
	graph_free(l.g);
	policy_free(&l.pol);
	config_free(&l.cfg);
	return rc;
}
