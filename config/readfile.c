/*
 * readfile: read a file whole.  See readfile.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/readfile.h"

int readfile(const char *path, size_t max, char **ret, size_t *ret_len)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = fstat(fd, &st) < 0 ? -errno : -EINVAL;
		goto out;
	}
	/* The size is a hint: read until end of file, one byte past max. */
	cap = (size_t)st.st_size < max ? (size_t)st.st_size + 1 : max + 1;
	buf = malloc(cap + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			r = -EFBIG;
			goto out;
		}
		if (len == cap) { /* grew since fstat: copy, wipe the old */
			char *p;

			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			p = malloc(cap + 1);
			if (!p) {
				r = -ENOMEM;
				goto out;
			}
			memcpy(p, buf, len);
			explicit_bzero(buf, len);
			free(buf);
			buf = p;
		}
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	buf = NULL;
out:
	if (buf)
		explicit_bzero(buf, len);
	free(buf);
	close(fd);
	return r;
}
