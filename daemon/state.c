/*
 * state: files in state_dir.  See state.h.
 *
 * The state file is line-oriented text so that a million ownership
 * records read and write in one pass without a JSON tree in memory:
 *
 *   licensed-state 1
 *   round 42
 *   owned USER-ID SKU-ID SINCE RULE NAME...
 *   pending USER-ID SKU-ID SINCE
 *   end
 *
 * The closing "end" line tells a complete file from a cut one.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/readfile.h"
#include "daemon/state.h"

#define STATE_LINE_MAX 512

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

int state_write_file(const char *dir, const char *name, const char *data,
		     size_t len)
{
	char path[4096], tmp[4096];
	int fd = -1, dfd = -1, r;

	r = ensure_dir(dir);
	if (r == 0)
		r = path_of(dir, name, path, sizeof(path));
	if (r == 0)
		r = path_of(dir, ".tmp-XXXXXX", tmp, sizeof(tmp));
	if (r < 0)
		return r;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = give_to_dir_owner(fd, dir);
	for (size_t off = 0; r == 0 && off < len;) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		off += (size_t)n;
	}
	if (r < 0)
		goto out;
	if (fsync(fd) < 0 || rename(tmp, path) < 0) {
		r = -errno;
		goto out;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		r = -errno;
out:
	if (r < 0)
		(void)unlink(tmp);
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	return r;
}

int state_read_file(const char *dir, const char *name, size_t max, char **ret,
		    size_t *ret_len)
{
	char path[4096];
	int r = path_of(dir, name, path, sizeof(path));

	return r < 0 ? r : readfile(path, max, ret, ret_len);
}

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

/* "USER SKU SINCE" at the start of s; *ret_rest after it. */
static int parse_record(const char *s, struct guid *user, struct guid *sku,
			int64_t *since, const char **ret_rest)
{
	char u[GUID_STRLEN + 1], k[GUID_STRLEN + 1];
	int n = 0;
	long long t;

	if (sscanf(s, "%36s %36s %lld%n", u, k, &t, &n) != 3 ||
	    guid_parse(u, user) < 0 || guid_parse(k, sku) < 0 || t < 0)
		return -EBADMSG;
	*since = t;
	*ret_rest = s + n;
	return 0;
}

struct loader {
	struct state *s;
	size_t cap_owned, cap_pending;
	bool is_ended;
};

static int parse_line(struct loader *l, char *line, unsigned lineno)
{
	struct state *s = l->s;
	const char *rest;
	unsigned long long round;
	int r;

	if (lineno == 1) {
		unsigned v;

		if (sscanf(line, "licensed-state %u", &v) != 1)
			return -EBADMSG;
		return v == STATE_VERSION ? 0 : -EPROTONOSUPPORT;
	}
	if (l->is_ended)
		return -EBADMSG;
	if (strcmp(line, "end") == 0) {
		l->is_ended = true;
		return 0;
	}
	if (sscanf(line, "round %llu", &round) == 1) {
		s->round = round;
		return 0;
	}
	if (strncmp(line, "owned ", 6) == 0) {
		struct owned *o;

		r = grow((void **)&s->owned, s->n_owned, &l->cap_owned,
			 sizeof(*o));
		if (r < 0)
			return r;
		o = &s->owned[s->n_owned];
		memset(o, 0, sizeof(*o));
		r = parse_record(line + 6, &o->user, &o->sku, &o->since, &rest);
		if (r < 0 || *rest != ' ' || strlen(rest + 1) > POLICY_NAME_MAX)
			return -EBADMSG;
		memcpy(o->rule, rest + 1, strlen(rest + 1) + 1);
		s->n_owned++;
		return 0;
	}
	if (strncmp(line, "pending ", 8) == 0) {
		struct pending *p;

		r = grow((void **)&s->pending, s->n_pending, &l->cap_pending,
			 sizeof(*p));
		if (r < 0)
			return r;
		p = &s->pending[s->n_pending];
		r = parse_record(line + 8, &p->user, &p->sku, &p->since, &rest);
		if (r < 0 || *rest != '\0')
			return -EBADMSG;
		s->n_pending++;
		return 0;
	}
	return -EBADMSG;
}

static void untrusted(struct state *s, const char *why, unsigned line)
{
	state_free(s);
	s->is_untrusted = true;
	(void)snprintf(s->problem, sizeof(s->problem), "%s (line %u)", why,
		       line);
}

int state_load(const char *dir, struct state *ret)
{
	struct state s = { 0 };
	struct loader l = { .s = &s };
	char *buf = NULL, *line, *next;
	size_t len = 0;
	unsigned lineno = 0;
	int r;

	r = state_read_file(dir, "state", SIZE_MAX / 2, &buf, &len);
	if (r == -ENOENT) {
		*ret = s;
		return 0;
	}
	if (r < 0) {
		untrusted(&s, "cannot read it", 0);
		goto done;
	}
	for (line = buf; line < buf + len && r == 0; line = next) {
		char *nl = memchr(line, '\n', (size_t)(buf + len - line));

		if (!nl) {
			r = -EBADMSG;
			break;
		}
		*nl = '\0';
		next = nl + 1;
		r = parse_line(&l, line, ++lineno);
	}
	if (r == -ENOMEM)
		goto out;
	if (r == -EPROTONOSUPPORT)
		untrusted(&s, "written by a newer licensed", lineno);
	else if (r < 0 || !l.is_ended)
		untrusted(&s, "corrupt or cut short", lineno);
done:
	*ret = s;
	r = 0;
out:
	if (r < 0)
		state_free(&s);
	free(buf);
	return r;
}

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
	if (t->cap - t->len < STATE_LINE_MAX) {
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
	n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->cap - t->len)
		t->error = -EOVERFLOW;
	else
		t->len += (size_t)n;
}

int state_save(const char *dir, const struct state *s)
{
	struct text t = { 0 };
	char u[GUID_STRLEN + 1], k[GUID_STRLEN + 1];
	int r;

	text_add(&t, "licensed-state %d\nround %" PRIu64 "\n", STATE_VERSION,
		 s->round);
	for (size_t i = 0; i < s->n_owned; i++) {
		guid_format(&s->owned[i].user, u);
		guid_format(&s->owned[i].sku, k);
		text_add(&t, "owned %s %s %" PRId64 " %s\n", u, k,
			 s->owned[i].since, s->owned[i].rule);
	}
	for (size_t i = 0; i < s->n_pending; i++) {
		guid_format(&s->pending[i].user, u);
		guid_format(&s->pending[i].sku, k);
		text_add(&t, "pending %s %s %" PRId64 "\n", u, k,
			 s->pending[i].since);
	}
	text_add(&t, "end\n");
	r = t.error ? t.error : state_write_file(dir, "state", t.buf, t.len);
	free(t.buf);
	return r;
}

void state_free(struct state *s)
{
	if (!s)
		return;
	free(s->owned);
	free(s->pending);
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
	char path[4096];
	int r = path_of(dir, "approval", path, sizeof(path));

	if (r == 0 && unlink(path) < 0 && errno != ENOENT)
		r = -errno;
	return r;
}

int state_lock(const char *dir)
{
	char path[4096];
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
