/*
 * credential: secret and certificate files.  See credential.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/credential.h"
#include "config/readfile.h"

static char *path_join(const char *dir, const char *name)
{
	size_t len = strlen(dir) + 1 + strlen(name) + 1;
	char *p = malloc(len);

	if (p)
		(void)snprintf(p, len, "%s/%s", dir, name);
	return p;
}

int credential_resolve(const char *conf_dir, const char *name, char **ret_path,
		       bool *ret_is_systemd)
{
	const char *credentials = getenv("CREDENTIALS_DIRECTORY");
	bool is_systemd = false;
	char *p;

	if (name[0] == '/') {
		p = strdup(name);
	} else if (credentials && credentials[0] == '/') {
		p = path_join(credentials, name);
		is_systemd = true;
	} else if (strcmp(conf_dir, ".") == 0) {
		p = strdup(name);
	} else {
		p = path_join(conf_dir, name);
	}
	if (!p)
		return -ENOMEM;
	*ret_path = p;
	*ret_is_systemd = is_systemd;
	return 0;
}

int credential_read(const char *path, char **ret, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	int r = readfile(path, CREDENTIAL_MAX_BYTES, &buf, &len);

	if (r < 0)
		return r;
	while (len > 0 && strchr(" \t\r\n", buf[len - 1]))
		len--;
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

static int check_contents(const char *path, bool is_certificate, char *why,
			  size_t why_size)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	r = credential_read(path, &buf, &len);
	if (r < 0) {
		(void)snprintf(why, why_size, "cannot read '%s': %s", path,
			       strerror(-r));
		return r;
	}
	if (len == 0) {
		(void)snprintf(why, why_size, "'%s' is empty", path);
		r = -EINVAL;
	} else if (is_certificate && (!strstr(buf, "-----BEGIN CERTIFICATE") ||
				      !strstr(buf, "PRIVATE KEY-----"))) {
		(void)snprintf(why, why_size,
			       "'%s' must hold the PEM certificate and its "
			       "private key",
			       path);
		r = -EINVAL;
	} else if (!is_certificate && strpbrk(buf, "\r\n")) {
		(void)snprintf(why, why_size,
			       "'%s' holds more than one line; it must hold "
			       "the client secret alone",
			       path);
		r = -EINVAL;
	}
	explicit_bzero(buf, len);
	free(buf);
	return r;
}

int credential_check(const char *path, bool is_systemd, bool is_certificate,
		     char *why, size_t why_size)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		int r = -errno;

		if (r == -ENOENT)
			(void)snprintf(why, why_size, "'%s' does not exist",
				       path);
		else
			(void)snprintf(why, why_size, "cannot access '%s': %s",
				       path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		(void)snprintf(why, why_size, "'%s' is not a regular file",
			       path);
		return -EINVAL;
	}
	if (!is_systemd && (st.st_mode & (S_IRGRP | S_IROTH))) {
		(void)snprintf(why, why_size,
			       "'%s' is readable by group or others (mode "
			       "%04o); run 'chmod 600 %s'",
			       path, (unsigned)(st.st_mode & 07777), path);
		return -EPERM;
	}
	return check_contents(path, is_certificate, why, why_size);
}
