/*
 * diag: a list of diagnostics, each "FILE:LINE: message".
 *
 * Loaders below daemon/ never print; they append here and let the caller
 * decide where the text goes.  The list is capped at DIAGS_MAX entries so a
 * garbage file cannot make us allocate without bound; the entry past the cap
 * says that more errors were dropped.
 */
#ifndef LICENSED_DIAG_H
#define LICENSED_DIAG_H

#include <stddef.h>

#define DIAGS_MAX     100
#define DIAG_TEXT_MAX 512

struct diag {
	char *file;    /* NULL when the message is about no file */
	unsigned line; /* 0 when it is about the file as a whole */
	char *text;
};

struct diags {
	struct diag *v;
	size_t n;
	size_t n_dropped;
};

/*
 * Append one diagnostic.  file may be NULL, line 0.  Returns 0, or -ENOMEM
 * (the list is left as it was).  Past DIAGS_MAX entries the message is
 * counted in n_dropped instead and 0 is returned.
 */
int diags_add(struct diags *d, const char *file, unsigned line, const char *fmt,
	      ...) __attribute__((format(printf, 4, 5)));

/*
 * Order the entries by file (in order of first appearance), then line, so
 * that checks run after parsing read in file order.  Stable.
 */
void diags_sort(struct diags *d);

/* Format entry i as "FILE:LINE: text" into buf (always terminated). */
void diags_format(const struct diags *d, size_t i, char *buf, size_t size);

/* Number of errors found, dropped ones included. */
size_t diags_count(const struct diags *d);

/* Release every entry; the list is empty and reusable afterwards. */
void diags_clear(struct diags *d);

#endif
