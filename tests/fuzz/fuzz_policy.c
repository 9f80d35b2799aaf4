/*
 * fuzz_policy: libFuzzer harness for policy_load() (inifile.c,
 * policy_load.c, value.c and policy/).
 *
 * Each input is written to policy.d/a.ini in a directory named with our
 * pid under /tmp, with policy.d/b.ini a hard link to it, and loaded twice:
 * as a file, and as a directory of two identical files (which exercises
 * the checks across files: duplicate rules, [defaults] and precedence).
 * The directory is removed at exit.  Nothing is printed.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/policy_load.h"
#include "policy/diag.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct paths {
	char dir[64];
	char sub[96];
	char a[128];
	char b[128];
};

static struct paths *paths(void)
{
	static struct paths p;

	return &p;
}

static void cleanup(void)
{
	struct paths *p = paths();

	(void)unlink(p->a);
	(void)unlink(p->b);
	(void)rmdir(p->sub);
	(void)rmdir(p->dir);
}

/* Make the directories and the link once; abort() if /tmp is unusable. */
static const struct paths *setup(void)
{
	struct paths *p = paths();
	int fd;

	if (p->a[0])
		return p;
	(void)snprintf(p->dir, sizeof(p->dir), "/tmp/fuzz_policy.%ld",
		       (long)getpid());
	(void)snprintf(p->sub, sizeof(p->sub), "%s/policy.d", p->dir);
	(void)snprintf(p->a, sizeof(p->a), "%s/a.ini", p->sub);
	(void)snprintf(p->b, sizeof(p->b), "%s/b.ini", p->sub);
	if (mkdir(p->dir, 0700) < 0 || mkdir(p->sub, 0700) < 0)
		abort();
	fd = open(p->a, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || close(fd) < 0 || link(p->a, p->b) < 0)
		abort();
	(void)atexit(cleanup);
	return p;
}

static void load(const char *path)
{
	struct policy pol = { 0 };
	struct diags diags = { 0 };
	char line[DIAG_TEXT_MAX + 128];

	if (policy_load(path, &pol, &diags) == 0) {
		(void)policy_count_groups(&pol);
		(void)policy_count_skus(&pol);
		policy_free(&pol);
	}
	diags_sort(&diags);
	for (size_t i = 0; i < diags.n; i++)
		diags_format(&diags, i, line, sizeof(line));
	diags_clear(&diags);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct paths *p = setup();
	int fd = open(p->a, O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size) ||
	    close(fd) < 0)
		abort();
	load(p->a);
	load(p->sub);
	return 0;
}
