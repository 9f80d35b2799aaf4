/*
 * readfile: a small regular file read whole into memory.
 *
 * One implementation for the config and policy files, the credential
 * files and the daemon's state files.
 */
#ifndef LICENSED_READFILE_H
#define LICENSED_READFILE_H

#include <stddef.h>

/*
 * Read path (at most max bytes) into a new NUL-terminated buffer.
 * Returns 0 with *ret and *ret_len, or -errno: -EINVAL when path is not a
 * regular file, -EFBIG when it is larger than max.  A partial buffer is
 * wiped before it is freed, since the file may hold a secret.
 */
int readfile(const char *path, size_t max, char **ret, size_t *ret_len);

#endif
