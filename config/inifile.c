/*
 * inifile: inih behind a line reader that knows line numbers.
 * See inifile.h for why.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "config/inifile.h"
#include "config/readfile.h"

struct reader {
	const char *path;
	const char *buf;
	size_t len;
	size_t off;
	unsigned line;	      /* number of the line last served */
	bool has_prev_key;    /* mirrors inih's prev_name */
	bool is_continuation; /* the line last served continues a value */
	char section[INIFILE_MAX_LINE + 1];
	const struct inifile_ops *ops;
	void *user;
	struct diags *diags;
	int n_problems;
	int error;	/* -ENOMEM from us or a callback */
	size_t n_items; /* sections and keys seen */
};

static void problem(struct reader *r, const char *text)
{
	if (diags_add(r->diags, r->path, r->line, "%s", text) < 0)
		r->error = -ENOMEM;
	r->n_problems++;
}

static size_t span_blank(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

/* "[name]" with an optional comment after it; calls ops->section. */
static bool check_section(struct reader *r, const char *s, size_t len)
{
	const char *close = memchr(s, ']', len);
	size_t name, lead, after;

	if (!close) {
		problem(r, "unterminated section header (no ']')");
		return false;
	}
	after = (size_t)(close - s) + 1;
	after += span_blank(s + after, len - after);
	if (after < len && s[after] != ';' && s[after] != '#') {
		problem(r, "unexpected text after ']'");
		return false;
	}
	lead = 1 + span_blank(s + 1, (size_t)(close - s) - 1);
	name = (size_t)(close - s) - lead;
	while (name > 0 &&
	       (s[lead + name - 1] == ' ' || s[lead + name - 1] == '\t'))
		name--;
	if (name == 0) {
		problem(r, "empty section name");
		return false;
	}
	memcpy(r->section, s + lead, name);
	r->section[name] = '\0';
	r->has_prev_key = false;
	r->n_items++;
	if (r->ops->section) {
		struct inifile_pos at = { r->path, r->line, false };

		if (r->ops->section(r->user, &at, r->section) < 0)
			r->error = -ENOMEM;
	}
	return true;
}

/*
 * Decide what inih will make of the line s (len chars, no line break) and
 * whether it is acceptable.  Mirrors ini_parse_stream() of inih r55.
 */
static bool check_line(struct reader *r, const char *s, size_t len)
{
	size_t lead = span_blank(s, len);
	size_t eq;

	r->is_continuation = false;
	if (lead == len || s[lead] == ';' || s[lead] == '#')
		return true;
	if (lead > 0 && r->has_prev_key) {
		r->is_continuation = true;
		return true;
	}
	if (s[lead] == '[')
		return check_section(r, s + lead, len - lead);
	/* s is not terminated at the line's end: stay within len. */
	for (eq = lead; eq < len && s[eq] != '=' && s[eq] != ':'; eq++)
		;
	if (eq >= len) {
		problem(r, "expected 'key = value' or '[section]'");
		return false;
	}
	if (span_blank(s + lead, eq - lead) == eq - lead) {
		problem(r, "missing key name before '='");
		return false;
	}
	r->has_prev_key = true;
	r->n_items++;
	return true;
}

/*
 * Length of s without its inline comment (a ';' after a space), cut as
 * inih cuts key lines: inih r55 leaves the comment on continuation lines.
 */
static size_t cut_comment(const char *s, size_t len)
{
	for (size_t i = 1; i < len; i++)
		if (s[i] == ';' && isspace((unsigned char)s[i - 1]))
			return i;
	return len;
}

static char *read_line(char *str, int num, void *stream)
{
	struct reader *r = stream;
	const char *s, *eol;
	size_t len, limit = INIFILE_MAX_LINE;
	char msg[64];

	if (r->off >= r->len)
		return NULL;
	s = r->buf + r->off;
	eol = memchr(s, '\n', r->len - r->off);
	len = eol ? (size_t)(eol - s) : r->len - r->off;
	r->off += len + (eol ? 1 : 0);
	r->line++;
	if (len > 0 && s[len - 1] == '\r')
		len--;
	if (r->line == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
		s += 3;
		len -= 3;
	}
	if (num >= 2 && limit > (size_t)num - 2)
		limit = (size_t)num - 2;
	if (len > limit) {
		(void)snprintf(msg, sizeof(msg),
			       "line is longer than %zu characters", limit);
		problem(r, msg);
		len = 0;
		r->is_continuation = false;
	} else if (!check_line(r, s, len)) {
		len = 0;
	} else if (r->is_continuation) {
		len = cut_comment(s, len);
	}
	memcpy(str, s, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

static int on_key(void *user, const char *section, const char *name,
		  const char *value)
{
	struct reader *r = user;
	struct inifile_pos at = { r->path, r->line, r->is_continuation };

	(void)section; /* ours is trimmed and never cut at 50 bytes */
	if (r->ops->key(r->user, &at, r->section, name, value) < 0)
		r->error = -ENOMEM;
	return 1;
}

static int read_file(const char *path, char **ret_buf, size_t *ret_len,
		     const char **ret_why)
{
	int r = readfile(path, INIFILE_MAX_BYTES, ret_buf, ret_len);

	if (r == -EINVAL)
		*ret_why = "not a regular file";
	else if (r == -EFBIG)
		*ret_why = "larger than 4 MiB";
	else if (r < 0)
		*ret_why = strerror(-r);
	return r;
}

static unsigned line_of(const char *buf, size_t off)
{
	unsigned line = 1;

	for (size_t i = 0; i < off; i++)
		line += buf[i] == '\n';
	return line;
}

int inifile_parse(const char *path, const struct inifile_ops *ops, void *user,
		  struct diags *diags)
{
	struct reader r = {
		.path = path, .ops = ops, .user = user, .diags = diags
	};
	const char *why = NULL, *nul;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = read_file(path, &buf, &len, &why);
	if (rc == -ENOMEM)
		goto out;
	if (rc < 0) {
		rc = diags_add(diags, path, 0, "cannot read: %s", why);
		rc = rc < 0 ? rc : 1;
		goto out;
	}
	nul = memchr(buf, '\0', len);
	if (nul) {
		rc = diags_add(diags, path, line_of(buf, (size_t)(nul - buf)),
			       "NUL byte in a text file");
		rc = rc < 0 ? rc : 1;
		goto out;
	}
	r.buf = buf;
	r.len = len;
	rc = ini_parse_stream(read_line, &r, on_key, &r);
	if (rc == -2)
		r.error = -ENOMEM;
	else if (rc > 0 && r.n_problems == 0) {
		r.line = (unsigned)rc;
		problem(&r, "unreadable line");
	}
	if (r.n_items == 0 && r.n_problems == 0) {
		r.line = 0;
		problem(&r, "empty file: no section and no setting");
	}
	rc = r.error < 0 ? r.error : r.n_problems;
out:
	free(buf);
	return rc;
}
