/*
 * testutil: a scratch directory and diagnostic checks for the unit tests
 * that read files (test_config.c, test_policy_load.c).
 *
 * tmp_setup() makes a fresh directory under /tmp and makes it the working
 * directory, so that tests write "licensed.conf" and messages read
 * "licensed.conf:3: ..." exactly; tmp_teardown() goes back and removes the
 * whole tree.  Everything is static inline: each test binary is a single
 * translation unit and uses only some of these.
 */
#ifndef LICENSED_TESTUTIL_H
#define LICENSED_TESTUTIL_H

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy/diag.h"

struct tmp {
	char dir[PATH_MAX];
	int old_cwd;
};

static inline int tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	(void)snprintf(t->dir, sizeof(t->dir), "/tmp/licensed-test-XXXXXX");
	t->old_cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->old_cwd < 0 || !mkdtemp(t->dir) || chdir(t->dir) < 0) {
		free(t);
		return -1;
	}
	(void)unsetenv("CREDENTIALS_DIRECTORY");
	*state = t;
	return 0;
}

static inline int tmp_remove_one(const char *path, const struct stat *st,
				 int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static inline int tmp_teardown(void **state)
{
	struct tmp *t = *state;
	int r;

	(void)unsetenv("CREDENTIALS_DIRECTORY");
	r = fchdir(t->old_cwd);
	(void)close(t->old_cwd);
	if (nftw(t->dir, tmp_remove_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
		r = -1;
	free(t);
	return r;
}

/* The scratch directory's absolute path. */
static inline const char *tmp_dir(void **state)
{
	return ((struct tmp *)*state)->dir;
}

static inline void tmp_mkdir(const char *name)
{
	assert_int_equal(mkdir(name, 0755), 0);
}

/* Write exactly len bytes to name (relative to the scratch dir) as mode. */
static inline void tmp_write_bytes(const char *name, mode_t mode,
				   const void *data, size_t len)
{
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static inline void tmp_write(const char *name, mode_t mode, const char *text)
{
	tmp_write_bytes(name, mode, text, strlen(text));
}

/*
 * Assert that d holds exactly the messages of want (NULL-terminated), in
 * order, each formatted as diags_format() does.  On a mismatch every
 * message is printed first, which makes a failing test easy to read.
 */
static inline void assert_diags_(const struct diags *d, const char *const *want)
{
	char buf[DIAG_TEXT_MAX + PATH_MAX + 32];
	size_t n = 0;

	while (want[n])
		n++;
	if (diags_count(d) != n)
		for (size_t i = 0; i < d->n; i++) {
			diags_format(d, i, buf, sizeof(buf));
			print_message("diag %zu: %s\n", i, buf);
		}
	assert_int_equal(diags_count(d), n);
	for (size_t i = 0; i < n; i++) {
		diags_format(d, i, buf, sizeof(buf));
		assert_string_equal(buf, want[i]);
	}
}

#define assert_diags(d, ...)                                                   \
	assert_diags_((d), (const char *const[]){ __VA_ARGS__, NULL })

static inline void assert_no_diags(const struct diags *d)
{
	assert_diags_(d, (const char *const[]){ NULL });
}

#endif
