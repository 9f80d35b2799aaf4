/*
 * credential: where the client secret or certificate file is, whether it
 * is safe to use, and its contents.
 *
 * A relative name is looked up in $CREDENTIALS_DIRECTORY when systemd set
 * it (LoadCredential=), else next to the config file.  Outside that
 * directory a file readable by group or others is refused: a secret that
 * any local user can read is no secret.
 */
#ifndef LICENSED_CREDENTIAL_H
#define LICENSED_CREDENTIAL_H

#include <stdbool.h>
#include <stddef.h>

/* Largest credential file read: a PEM chain with its key fits easily. */
#define CREDENTIAL_MAX_BYTES (256 * 1024)

/*
 * Resolve name (relative or absolute) to a path.  conf_dir is the config
 * file's directory.  Returns 0 and a new string in *ret_path, with
 * *ret_is_systemd telling whether it came from $CREDENTIALS_DIRECTORY, or
 * -ENOMEM.
 */
int credential_resolve(const char *conf_dir, const char *name, char **ret_path,
		       bool *ret_is_systemd);

/*
 * Check that path exists, is a regular non-empty file we can read, and
 * (unless is_systemd) is not readable by group or others.  With
 * is_certificate, also that it holds a PEM certificate and a private key.
 * Returns 0, or a negative errno and a message in why.
 */
int credential_check(const char *path, bool is_systemd, bool is_certificate,
		     char *why, size_t why_size);

/*
 * Read the file whole; trailing whitespace and newlines are stripped.
 * Returns 0 and a new NUL-terminated buffer in *ret (the caller should
 * wipe it with explicit_bzero before free), or a negative errno.
 */
int credential_read(const char *path, char **ret, size_t *ret_len);

#endif
