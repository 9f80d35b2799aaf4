/*
 * state: files in state_dir.  See state.h.
 *
 * The state file is line-oriented text so that a million ownership
 * records read and write in one pass without a JSON tree in memory:
 *
 *   licensed-state 2
 *   round 42
 *   intent                      (only in a file saved before writes)
 *   owned USER-ID SKU-ID SINCE c|u RULE NAME...
 *   pending USER-ID SKU-ID SINCE
 *   end
 *
 * In an owned record c means confirmed (a read has shown the direct
 * assignment) and u unconfirmed (an intent: the add may or may not have
 * landed; see struct owned).  Version 1 had no such field: its records
 * load unconfirmed with their old since, so the next complete read keeps
 * those the user holds and drops the others, as version 1 did.  Numbers
 * are plain decimal, fields are separated by one space, and the closing
 * "end" line tells a complete file from a cut one.
 *
 * Generations: a save renames state to state.prev, then the new file to
 * state, so one complete fsynced generation is on disk at every instant
 * (state, or between the two renames state.prev).  A load judges the
 * whole of state before using any of it; a bad one is moved aside under a
 * name never reused (renameat2 RENAME_NOREPLACE) and state.prev is used.
 * The records of a bad file that parse are not trusted as a generation,
 * but those ownership records that state.prev lacks are kept unconfirmed:
 * the next read decides them, where forgetting them would orphan the
 * licenses they stand for.
 *
 * A file saved before a round's writes says "intent": the writes may
 * have gone out at any time until the process stopped, so on load the
 * unconfirmed records of such a file count from the load, not from
 * their since (a long write phase killed at its end would otherwise
 * have intents already past their settle time).  Every since is clamped
 * to now on load: a damaged digit must not overflow since + grace.
 *
 * Not here: what the records mean (policy/plan.c, daemon/cycle.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/readfile.h"
#include "daemon/state.h"
#include "policy/guidmap.h"

#define STATE_NAME	  "state"
#define STATE_PREV	  "state.prev"
#define STATE_ASIDE_TRIES 100 /* state.corrupt-T, -T-1 .. -T-99 */
#define STATE_LOAD_TRIES  3   /* a file replaced while it was judged */
#define STATE_WHY_MAX	  80

static int path_of(const char *dir, const char *name, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int ensure_dir(const char *dir)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/*
 * root running `licensed once` or `approve` by hand must not leave files
 * the daemon's (dynamic) user cannot read: give them to the owner of the
 * state directory.
 */
static int give_to_dir_owner(int fd, const char *dir)
{
	struct stat st;

	if (geteuid() != 0)
		return 0;
	if (stat(dir, &st) < 0)
		return -errno;
	if (st.st_uid == 0 && st.st_gid == 0)
		return 0;
	return fchown(fd, st.st_uid, st.st_gid) < 0 ? -errno : 0;
}

static int write_all(int fd, const char *data, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	return 0;
}

/* A new fsynced file dir/.tmp-XXXXXX holding data; its path in tmp. */
static int write_temp(const char *dir, const char *data, size_t len, char *tmp,
		      size_t size)
{
	int fd, r;

	r = ensure_dir(dir);
	if (r == 0)
		r = path_of(dir, ".tmp-XXXXXX", tmp, size);
	if (r < 0)
		return r;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = give_to_dir_owner(fd, dir);
	if (r == 0)
		r = write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r < 0)
		(void)unlink(tmp);
	return r;
}

int state_write_file(const char *dir, const char *name, const char *data,
		     size_t len)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int r;

	r = path_of(dir, name, path, sizeof(path));
	if (r == 0)
		r = write_temp(dir, data, len, tmp, sizeof(tmp));
	if (r < 0)
		return r;
	if (rename(tmp, path) < 0) {
		r = -errno;
		(void)unlink(tmp);
		return r;
	}
	return sync_dir(dir);
}

int state_read_file(const char *dir, const char *name, size_t max, char **ret,
		    size_t *ret_len)
{
	char path[PATH_MAX];
	int r = path_of(dir, name, path, sizeof(path));

	return r < 0 ? r : readfile(path, max, ret, ret_len);
}

/* ---- reading: one generation, judged whole ------------------------- */

static int grow(void **v, size_t n, size_t *cap, size_t size)
{
	void *p;
	size_t c = *cap ? *cap * 2 : 1024;

	if (n < *cap)
		return 0;
	p = realloc(*v, c * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

/* Decimal digits at *p (no sign, no space), at most max; advances *p. */
static int parse_uint(const char **p, uint64_t max, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return -EBADMSG;
	for (; *s >= '0' && *s <= '9'; s++) {
		uint64_t d = (uint64_t)(*s - '0');

		if (d > max || v > (max - d) / 10)
			return -EBADMSG;
		v = v * 10 + d;
	}
	*ret = v;
	*p = s;
	return 0;
}

/* A GUID and one space at *p; advances *p past them. */
static int parse_guid(const char **p, struct guid *ret)
{
	char text[GUID_STRLEN + 1];

	if (strnlen(*p, GUID_STRLEN + 1) <= GUID_STRLEN ||
	    (*p)[GUID_STRLEN] != ' ')
		return -EBADMSG;
	memcpy(text, *p, GUID_STRLEN);
	text[GUID_STRLEN] = '\0';
	if (guid_parse(text, ret) < 0)
		return -EBADMSG;
	*p += GUID_STRLEN + 1;
	return 0;
}

/* "USER SKU SINCE" at *p; leaves *p after SINCE. */
static int parse_record(const char **p, struct guid *user, struct guid *sku,
			int64_t *since)
{
	uint64_t t;

	if (parse_guid(p, user) < 0 || parse_guid(p, sku) < 0 ||
	    parse_uint(p, INT64_MAX, &t) < 0)
		return -EBADMSG;
	*since = (int64_t)t;
	return 0;
}

/*
 * What follows "owned " in a file of the given version; the rule name
 * goes into names.  -EBADMSG, or -ENOMEM.
 */
static int parse_owned(const char *s, unsigned version, struct owned *o,
		       struct strpool *names)
{
	const char *p = s;
	size_t len;

	memset(o, 0, sizeof(*o));
	if (parse_record(&p, &o->user, &o->sku, &o->since) < 0 || *p != ' ')
		return -EBADMSG;
	p++;
	if (version >= 2) {
		if ((p[0] != 'c' && p[0] != 'u') || p[1] != ' ')
			return -EBADMSG;
		o->is_confirmed = p[0] == 'c';
		p += 2;
	}
	len = strlen(p);
	if (len > POLICY_NAME_MAX)
		return -EBADMSG;
	o->rule = strpool_intern(names, p, len);
	return o->rule ? 0 : -ENOMEM;
}

struct loader {
	struct state *s;
	size_t cap_owned, cap_pending;
	unsigned version; /* from line 1; 0 when that is bad */
	bool is_ended;
	bool has_round;
	unsigned bad_line; /* the first bad line, when why */
	const char *why;
};

/* Note the first problem of a file; parsing goes on to salvage records. */
static int bad(struct loader *l, unsigned line, const char *why)
{
	if (!l->why) {
		l->why = why;
		l->bad_line = line;
	}
	return -EBADMSG;
}

static int parse_header(struct loader *l, const char *line)
{
	static const char magic[] = "licensed-state ";
	const char *p = line;
	uint64_t v;

	if (strncmp(line, magic, strlen(magic)) != 0)
		return bad(l, 1, "not a licensed state file");
	p += strlen(magic);
	if (parse_uint(&p, UINT_MAX, &v) < 0 || *p != '\0' || v == 0)
		return bad(l, 1, "not a licensed state file");
	l->version = (unsigned)v;
	return v > STATE_VERSION ? -EPROTONOSUPPORT : 0;
}

static int parse_round(struct loader *l, const char *arg, unsigned lineno)
{
	uint64_t v;

	if (l->has_round)
		return bad(l, lineno, "a second 'round' line");
	if (parse_uint(&arg, UINT64_MAX, &v) < 0 || *arg != '\0')
		return bad(l, lineno, "a bad 'round' line");
	l->s->round = v;
	l->has_round = true;
	return 0;
}

static int add_owned(struct loader *l, const char *arg, unsigned lineno)
{
	struct state *s = l->s;
	struct owned o;
	int r;

	if (l->version)
		r = parse_owned(arg, l->version, &o, &s->names);
	else if ((r = parse_owned(arg, STATE_VERSION, &o, &s->names)) == 0)
		; /* a bad header: either format may follow */
	else if (r != -ENOMEM)
		r = parse_owned(arg, 1, &o, &s->names);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return bad(l, lineno, "a bad 'owned' record");
	r = grow((void **)&s->owned, s->n_owned, &l->cap_owned, sizeof(o));
	if (r < 0)
		return r;
	s->owned[s->n_owned++] = o;
	return 0;
}

static int add_pending(struct loader *l, const char *arg, unsigned lineno)
{
	struct state *s = l->s;
	struct pending p;
	int r;

	if (parse_record(&arg, &p.user, &p.sku, &p.since) < 0 || *arg != '\0')
		return bad(l, lineno, "a bad 'pending' record");
	r = grow((void **)&s->pending, s->n_pending, &l->cap_pending,
		 sizeof(p));
	if (r < 0)
		return r;
	s->pending[s->n_pending++] = p;
	return 0;
}

/* One line, its newline replaced by NUL. */
static int parse_line(struct loader *l, const char *line, unsigned lineno)
{
	if (lineno == 1)
		return parse_header(l, line);
	if (l->is_ended)
		return bad(l, lineno, "a line after 'end'");
	if (strcmp(line, "end") == 0) {
		l->is_ended = true;
		return 0;
	}
	if (strncmp(line, "round ", 6) == 0)
		return parse_round(l, line + 6, lineno);
	if (strcmp(line, "intent") == 0) {
		l->s->is_intent = true;
		return 0;
	}
	if (strncmp(line, "owned ", 6) == 0)
		return add_owned(l, line + 6, lineno);
	if (strncmp(line, "pending ", 8) == 0)
		return add_pending(l, line + 8, lineno);
	return bad(l, lineno, "not a state record");
}

/*
 * Parse buf whole.  A bad line is noted and skipped, so that the records
 * around it can be salvaged; a newer version stops at once.  Returns 0
 * (l->why set when bad), -EPROTONOSUPPORT or -ENOMEM.
 */
static int parse_text(struct loader *l, char *buf, size_t len)
{
	char *line = buf, *end = buf + len;
	unsigned lineno = 0;
	int r = 0;

	for (; line < end && r != -ENOMEM && r != -EPROTONOSUPPORT; lineno++) {
		char *nl = memchr(line, '\n', (size_t)(end - line));

		if (!nl) {
			(void)bad(l, lineno + 1, "cut short in a line");
			return 0;
		}
		*nl = '\0';
		if ((size_t)(nl - line) + 1 > STATE_LINE_MAX)
			r = bad(l, lineno + 1, "a line too long");
		else if (strlen(line) != (size_t)(nl - line))
			r = bad(l, lineno + 1, "a NUL byte");
		else
			r = parse_line(l, line, lineno + 1);
		line = nl + 1;
	}
	if (r == -ENOMEM || r == -EPROTONOSUPPORT)
		return r;
	if (lineno == 0)
		(void)bad(l, 0, "empty");
	else if (!l->has_round)
		(void)bad(l, lineno + 1, "no 'round' line");
	if (!l->is_ended)
		(void)bad(l, lineno + 1, "cut short: no 'end' line");
	return 0;
}

enum verdict {
	VERDICT_MISSING,
	VERDICT_GOOD,
	VERDICT_BAD,
	VERDICT_NEWER,
};

/* One generation (state or state.prev) as read and judged. */
struct gen {
	const char *name;
	enum verdict verdict;
	struct state s;	  /* good: its records; bad: those that parsed */
	bool has_round;	  /* s.round was read */
	unsigned version; /* of line 1, 0 when unreadable */
	unsigned line;	  /* bad: where, 0 for the whole file */
	char why[STATE_WHY_MAX];
	dev_t dev; /* the file judged: only that one is moved aside */
	ino_t ino;
	char aside[PATH_MAX]; /* where it was moved, "" when not */
};

static void gen_bad(struct gen *g, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void gen_bad(struct gen *g, unsigned line, const char *fmt, ...)
{
	va_list ap;

	g->verdict = VERDICT_BAD;
	g->line = line;
	va_start(ap, fmt);
	(void)vsnprintf(g->why, sizeof(g->why), fmt, ap);
	va_end(ap);
}

static int judge(struct gen *g, char *buf, size_t len)
{
	struct loader l = { .s = &g->s };
	int r = parse_text(&l, buf, len);

	g->version = l.version;
	g->has_round = l.has_round;
	if (r == -EPROTONOSUPPORT)
		g->verdict = VERDICT_NEWER;
	else if (r == 0 && l.why)
		gen_bad(g, l.bad_line, "%s", l.why);
	else if (r == 0)
		g->verdict = VERDICT_GOOD;
	return r == -EPROTONOSUPPORT ? 0 : r;
}

/* Read and judge dir/g->name.  0 with g->verdict, or -errno. */
static int read_gen(const char *dir, struct gen *g)
{
	char path[PATH_MAX], *buf = NULL;
	struct stat st;
	size_t len = 0;
	int r;

	r = path_of(dir, g->name, path, sizeof(path));
	if (r < 0)
		return r;
	if (stat(path, &st) < 0) {
		g->verdict = VERDICT_MISSING;
		return errno == ENOENT ? 0 : -errno;
	}
	g->dev = st.st_dev;
	g->ino = st.st_ino;
	/* Cheap before reading; readfile() checks again as it reads. */
	r = st.st_size > (off_t)STATE_FILE_MAX
		    ? -EFBIG
		    : readfile(path, STATE_FILE_MAX, &buf, &len);
	if (r == -ENOENT)
		g->verdict = VERDICT_MISSING;
	else if (r == -EFBIG)
		gen_bad(g, 0, "larger than %lu bytes", STATE_FILE_MAX);
	else if (r == 0)
		r = judge(g, buf, len);
	free(buf);
	return r == -ENOENT || r == -EFBIG ? 0 : r;
}

/* ---- moving a bad file aside ------------------------------------------ */

/* rename() that fails with -EEXIST rather than replace to. */
static int rename_noreplace(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	/* A file system without RENAME_NOREPLACE: link() never replaces. */
	if (link(from, to) < 0)
		return -errno;
	return unlink(from) < 0 ? -errno : 0;
}

/*
 * Move dir/g->name to NAME.corrupt-T[-N] if it is still the file judged;
 * -EAGAIN when it was replaced meanwhile (judge it again).
 */
static int move_aside(const char *dir, struct gen *g)
{
	char path[PATH_MAX];
	long long now = (long long)time(NULL);
	struct stat st;
	int r = path_of(dir, g->name, path, sizeof(path));

	if (r < 0)
		return r;
	if (stat(path, &st) < 0)
		return errno == ENOENT ? -EAGAIN : -errno;
	if (st.st_dev != g->dev || st.st_ino != g->ino)
		return -EAGAIN;
	r = -EEXIST;
	for (int i = 0; i < STATE_ASIDE_TRIES && r == -EEXIST; i++) {
		int n = i ? snprintf(g->aside, sizeof(g->aside),
				     "%s.corrupt-%lld-%d", path, now, i)
			  : snprintf(g->aside, sizeof(g->aside),
				     "%s.corrupt-%lld", path, now);

		r = n < 0 || (size_t)n >= sizeof(g->aside)
			    ? -ENAMETOOLONG
			    : rename_noreplace(path, g->aside);
	}
	if (r < 0)
		g->aside[0] = '\0';
	return r < 0 ? r : sync_dir(dir);
}

/* ---- choosing a generation ------------------------------------------- */

/* Link record i of s into the per-user chains of users/next. */
static int index_add(struct guidmap *users, size_t *next, const struct state *s,
		     size_t i)
{
	size_t head;
	int r = guidmap_put(users, &s->owned[i].user, i, &head);

	if (r < 0)
		return r;
	next[i] = r == 1 ? SIZE_MAX : next[head];
	if (r == 0)
		next[head] = i;
	return 0;
}

static bool has_record(const struct state *s, const struct guidmap *users,
		       const size_t *next, const struct owned *o)
{
	size_t i;

	if (!guidmap_get(users, &o->user, &i))
		return false;
	for (; i != SIZE_MAX; i = next[i])
		if (guid_equal(&s->owned[i].sku, &o->sku))
			return true;
	return false;
}

/*
 * Add from's ownership records that into lacks, unconfirmed.  A since in
 * the future (a damaged digit) would keep an unconfirmed record alive
 * until then: it becomes now.
 */
static int salvage(struct state *into, const struct state *from)
{
	int64_t now = (int64_t)time(NULL);
	struct guidmap users = { 0 };
	size_t n = into->n_owned + from->n_owned + 1;
	size_t *next = malloc(n * sizeof(*next));
	struct owned *o = realloc(into->owned, n * sizeof(*o));
	int r = next && o ? 0 : -ENOMEM;

	if (o)
		into->owned = o;
	for (size_t i = 0; r == 0 && i < into->n_owned; i++)
		r = index_add(&users, next, into, i);
	for (size_t i = 0; r == 0 && i < from->n_owned; i++) {
		if (has_record(into, &users, next, &from->owned[i]))
			continue;
		o = &into->owned[into->n_owned];
		*o = from->owned[i];
		o->rule =
			strpool_intern(&into->names, o->rule, strlen(o->rule));
		if (!o->rule) {
			r = -ENOMEM;
			break;
		}
		o->is_confirmed = false;
		if (o->since > now)
			o->since = now;
		r = index_add(&users, next, into, into->n_owned++);
		into->n_salvaged++;
	}
	guidmap_clear(&users);
	free(next);
	return r;
}

static void problem_add(struct state *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem_add(struct state *s, const char *fmt, ...)
{
	size_t len = strlen(s->problem);
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(s->problem + len, sizeof(s->problem) - len, fmt, ap);
	va_end(ap);
}

/* "'dir/state' is corrupt at line 7 (...), moved aside to '...'" */
static void describe_bad(struct state *s, const char *dir, const struct gen *g)
{
	problem_add(s, "%s'%s/%s' is corrupt", s->problem[0] ? "; " : "", dir,
		    g->name);
	if (g->line)
		problem_add(s, " at line %u", g->line);
	problem_add(s, " (%s), ", g->why);
	if (g->aside[0])
		problem_add(s, "moved aside to '%s'", g->aside);
	else
		problem_add(s, "to be moved aside by the next round");
}

static void describe(struct state *s, const char *dir, const struct gen *cur,
		     const struct gen *prev)
{
	if (cur->verdict == VERDICT_MISSING && prev->verdict != VERDICT_MISSING)
		problem_add(s, "'%s/%s' is missing", dir, cur->name);
	if (cur->verdict == VERDICT_BAD)
		describe_bad(s, dir, cur);
	if (prev->verdict == VERDICT_GOOD)
		problem_add(s,
			    "; using the previous generation '%s/%s' (round "
			    "%" PRIu64 ")",
			    dir, prev->name, prev->s.round);
	else if (prev->verdict == VERDICT_BAD)
		describe_bad(s, dir, prev);
	else if (cur->verdict == VERDICT_BAD)
		problem_add(s, "; no previous generation");
	if (s->n_salvaged)
		problem_add(s,
			    "; %zu ownership records only the bad file had "
			    "are kept unconfirmed",
			    s->n_salvaged);
}

static void newer(struct state *s, const char *dir, const struct gen *g)
{
	problem_add(s, "'%s/%s' was written by a newer licensed (format %u)",
		    dir, g->name, g->version);
}

/* The state from two judged generations, neither newer. */
static int choose(const char *dir, struct gen *cur, struct gen *prev,
		  struct state *ret)
{
	struct gen *gens[2] = { cur, prev };
	struct state s = { 0 };
	int r = 0;

	if (cur->verdict == VERDICT_GOOD || prev->verdict == VERDICT_GOOD) {
		struct gen *g = cur->verdict == VERDICT_GOOD ? cur : prev;

		/* The records move; g->s.round stays for describe(). */
		s = g->s;
		g->s.owned = NULL;
		g->s.pending = NULL;
		g->s.names = (struct strpool){ 0 }; /* moved with the records */
		s.is_fallback = g == prev;
	} else {
		s.is_untrusted = cur->verdict == VERDICT_BAD ||
				 prev->verdict == VERDICT_BAD;
	}
	for (size_t i = 0; i < 2 && r == 0; i++) {
		if (gens[i]->verdict != VERDICT_BAD)
			continue;
		r = salvage(&s, &gens[i]->s);
		if (gens[i]->has_round && gens[i]->s.round > s.round)
			s.round = gens[i]->s.round;
	}
	describe(&s, dir, cur, prev);
	*ret = s;
	return r;
}

static int load_once(const char *dir, bool may_move, struct state *ret)
{
	struct gen cur = { .name = STATE_NAME }, prev = { .name = STATE_PREV };
	struct state s = { 0 };
	int r;

	r = read_gen(dir, &cur);
	if (r == 0 && cur.verdict != VERDICT_GOOD &&
	    cur.verdict != VERDICT_NEWER)
		r = read_gen(dir, &prev);
	if (r < 0)
		goto out;
	if (cur.verdict == VERDICT_NEWER || prev.verdict == VERDICT_NEWER) {
		newer(&s, dir, cur.verdict == VERDICT_NEWER ? &cur : &prev);
		r = -EPROTONOSUPPORT;
		goto out;
	}
	if (may_move && cur.verdict == VERDICT_BAD)
		r = move_aside(dir, &cur);
	if (r == 0 && may_move && prev.verdict == VERDICT_BAD)
		r = move_aside(dir, &prev);
	if (r == 0)
		r = choose(dir, &cur, &prev, &s);
out:
	if (r < 0 && r != -EPROTONOSUPPORT) {
		state_free(&s);
		(void)snprintf(s.problem, sizeof(s.problem),
			       "cannot read the state in '%s': %s", dir,
			       strerror(-r));
	}
	state_free(&cur.s);
	state_free(&prev.s);
	*ret = s;
	return r;
}

/*
 * Times as a round may use them: none in the future, and the intents of a
 * file saved before writes counted from now (see the top of this file).
 */
static void settle_times(struct state *s, int64_t now)
{
	for (size_t i = 0; i < s->n_owned; i++) {
		struct owned *o = &s->owned[i];

		if (o->since > now || (s->is_intent && !o->is_confirmed))
			o->since = now;
	}
	for (size_t i = 0; i < s->n_pending; i++)
		if (s->pending[i].since > now)
			s->pending[i].since = now;
}

/*
 * Temp files a save killed half-way left behind (each as large as the
 * state).  Only under the round lock: no save runs beside it.
 */
static void remove_temps(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, ".tmp-", 5) == 0)
			(void)unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

static int load(const char *dir, bool may_move, struct state *ret)
{
	int r = -EAGAIN;

	if (may_move)
		remove_temps(dir);
	for (int i = 0; i < STATE_LOAD_TRIES && r == -EAGAIN; i++) {
		if (i)
			state_free(ret);
		r = load_once(dir, may_move, ret);
	}
	if (r == 0)
		settle_times(ret, (int64_t)time(NULL));
	return r;
}

int state_load(const char *dir, struct state *ret)
{
	return load(dir, true, ret);
}

int state_inspect(const char *dir, struct state *ret)
{
	return load(dir, false, ret);
}

/* ---- writing ---------------------------------------------------------- */

/* Append to a growing text buffer. */
struct text {
	char *buf;
	size_t len, cap;
	int error;
};

static void text_add(struct text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->error)
		return;
	if (t->cap - t->len < STATE_LINE_MAX + 1) {
		size_t cap = t->cap ? t->cap * 2 : 65536;
		char *p = realloc(t->buf, cap);

		if (!p) {
			t->error = -ENOMEM;
			return;
		}
		t->buf = p;
		t->cap = cap;
	}
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, STATE_LINE_MAX + 1, fmt, ap);
	va_end(ap);
	/* A line the loader would refuse is never written. */
	if (n < 0 || (size_t)n > STATE_LINE_MAX)
		t->error = -EOVERFLOW;
	else
		t->len += (size_t)n;
}

static void text_records(struct text *t, const struct state *s)
{
	char u[GUID_STRLEN + 1], k[GUID_STRLEN + 1];

	for (size_t i = 0; i < s->n_owned; i++) {
		const struct owned *o = &s->owned[i];

		guid_format(&o->user, u);
		guid_format(&o->sku, k);
		if (o->since < 0)
			t->error = -ERANGE;
		text_add(t, "owned %s %s %" PRId64 " %c %s\n", u, k, o->since,
			 o->is_confirmed ? 'c' : 'u', o->rule);
	}
	for (size_t i = 0; i < s->n_pending; i++) {
		const struct pending *p = &s->pending[i];

		guid_format(&p->user, u);
		guid_format(&p->sku, k);
		if (p->since < 0)
			t->error = -ERANGE;
		text_add(t, "pending %s %s %" PRId64 "\n", u, k, p->since);
	}
}

/*
 * The temp file is complete and fsynced before state moves to state.prev,
 * and state.prev is complete before the temp file becomes state: a crash
 * at any point leaves state, or state.prev alone (which state_load uses),
 * or both.
 */
static int install(const char *dir, const char *tmp)
{
	char path[PATH_MAX], prev[PATH_MAX];
	int r;

	r = path_of(dir, STATE_NAME, path, sizeof(path));
	if (r == 0)
		r = path_of(dir, STATE_PREV, prev, sizeof(prev));
	if (r < 0)
		return r;
	if (rename(path, prev) < 0 && errno != ENOENT)
		return -errno;
	if (rename(tmp, path) < 0)
		return -errno;
	return sync_dir(dir);
}

int state_save(const char *dir, const struct state *s)
{
	struct text t = { 0 };
	char tmp[PATH_MAX];
	int r;

	text_add(&t, "licensed-state %d\nround %" PRIu64 "\n%s", STATE_VERSION,
		 s->round, s->is_intent ? "intent\n" : "");
	text_records(&t, s);
	text_add(&t, "end\n");
	r = t.error;
	if (r == 0 && t.len > STATE_FILE_MAX)
		r = -EFBIG;
	if (r == 0)
		r = write_temp(dir, t.buf, t.len, tmp, sizeof(tmp));
	if (r == 0) {
		r = install(dir, tmp);
		if (r < 0)
			(void)unlink(tmp);
	}
	free(t.buf);
	return r;
}

void state_free(struct state *s)
{
	if (!s)
		return;
	free(s->owned);
	free(s->pending);
	strpool_clear(&s->names);
	memset(s, 0, sizeof(*s));
}

int state_approval_get(const char *dir, uint64_t *ret_n)
{
	char *buf = NULL, *end;
	size_t len;
	unsigned long long n;
	int r = state_read_file(dir, "approval", 64, &buf, &len);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	errno = 0;
	n = strtoull(buf, &end, 10);
	r = end != buf && (*end == '\n' || *end == '\0') && errno == 0
		    ? 1
		    : -EBADMSG;
	if (r == 1)
		*ret_n = n;
	free(buf);
	return r;
}

int state_approval_set(const char *dir, uint64_t n)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", n);

	return state_write_file(dir, "approval", buf, (size_t)len);
}

int state_approval_clear(const char *dir)
{
	char path[PATH_MAX];
	int r = path_of(dir, "approval", path, sizeof(path));

	if (r == 0 && unlink(path) < 0 && errno != ENOENT)
		r = -errno;
	return r;
}

int state_lock(const char *dir)
{
	char path[PATH_MAX];
	int fd, r;

	r = ensure_dir(dir);
	if (r == 0)
		r = path_of(dir, "lock", path, sizeof(path));
	if (r < 0)
		return r;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = give_to_dir_owner(fd, dir);
	if (r < 0) {
		close(fd);
		return r;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
		close(fd);
		return r;
	}
	return fd;
}
