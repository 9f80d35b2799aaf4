/*
 * fuzz_config: libFuzzer harness for config_load() (inifile.c, config.c,
 * value.c and credential.c).
 *
 * Each input is written to one file in a directory named with our pid
 * under /tmp, next to a valid client-secret of mode 0600, so that an input
 * that parses also runs the checks that follow (credential, URLs).  The
 * directory is removed at exit.  Nothing is printed.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "policy/diag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct paths {
	char dir[64];
	char conf[96];
	char secret[96];
};

static struct paths *paths(void)
{
	static struct paths p;

	return &p;
}

static void cleanup(void)
{
	struct paths *p = paths();

	(void)unlink(p->conf);
	(void)unlink(p->secret);
	(void)rmdir(p->dir);
}

static int write_file(const char *path, mode_t mode, const void *data,
		      size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	int r = 0;

	if (fd < 0)
		return -1;
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		r = -1;
	if (close(fd) < 0)
		r = -1;
	return r;
}

/* Make the directory and the secret once; abort() if /tmp is unusable. */
static const char *conf_path(void)
{
	struct paths *p = paths();

	if (p->conf[0])
		return p->conf;
	(void)snprintf(p->dir, sizeof(p->dir), "/tmp/fuzz_config.%ld",
		       (long)getpid());
	(void)snprintf(p->conf, sizeof(p->conf), "%s/licensed.conf", p->dir);
	(void)snprintf(p->secret, sizeof(p->secret), "%s/client-secret",
		       p->dir);
	if (mkdir(p->dir, 0700) < 0 ||
	    write_file(p->secret, 0600, "fuzz-secret\n", 12) < 0)
		abort();
	(void)atexit(cleanup);
	(void)unsetenv("CREDENTIALS_DIRECTORY");
	return p->conf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = conf_path();
	struct config cfg = { 0 };
	struct diags diags = { 0 };
	char line[DIAG_TEXT_MAX + 128];

	if (write_file(path, 0644, data, size) < 0)
		abort();
	if (config_load(path, &cfg, &diags) == 0)
		config_free(&cfg);
	/* Format every message too: file, line and text must be sane. */
	for (size_t i = 0; i < diags.n; i++)
		diags_format(&diags, i, line, sizeof(line));
	diags_clear(&diags);
	return 0;
}
