/*
 * diag: collected diagnostics.  See diag.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/diag.h"

int diags_add(struct diags *d, const char *file, unsigned line, const char *fmt,
	      ...)
{
	char text[DIAG_TEXT_MAX];
	struct diag *v;
	struct diag e = { NULL, line, NULL };
	va_list ap;

	if (d->n >= DIAGS_MAX) {
		d->n_dropped++;
		return 0;
	}
	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);

	e.text = strdup(text);
	if (file)
		e.file = strdup(file);
	v = realloc(d->v, (d->n + 1) * sizeof(*v));
	if (!e.text || (file && !e.file) || !v) {
		free(e.text);
		free(e.file);
		if (v)
			d->v = v;
		return -ENOMEM;
	}
	v[d->n++] = e;
	d->v = v;
	return 0;
}

static bool same_file(const struct diag *a, const struct diag *b)
{
	if (!a->file || !b->file)
		return a->file == b->file;
	return strcmp(a->file, b->file) == 0;
}

void diags_sort(struct diags *d)
{
	size_t rank[DIAGS_MAX];

	/* A file ranks by its first appearance in the original order. */
	for (size_t i = 0; i < d->n; i++) {
		rank[i] = i;
		for (size_t j = 0; j < i && rank[i] == i; j++)
			if (same_file(&d->v[i], &d->v[j]))
				rank[i] = rank[j];
	}
	/* Insertion sort: at most DIAGS_MAX entries, and stable. */
	for (size_t i = 1; i < d->n; i++) {
		struct diag e = d->v[i];
		size_t r = rank[i], j = i;

		while (j > 0 &&
		       (r < rank[j - 1] ||
			(r == rank[j - 1] && e.line < d->v[j - 1].line))) {
			d->v[j] = d->v[j - 1];
			rank[j] = rank[j - 1];
			j--;
		}
		d->v[j] = e;
		rank[j] = r;
	}
}

void diags_format(const struct diags *d, size_t i, char *buf, size_t size)
{
	const struct diag *e = &d->v[i];

	if (e->file && e->line)
		(void)snprintf(buf, size, "%s:%u: %s", e->file, e->line,
			       e->text);
	else if (e->file)
		(void)snprintf(buf, size, "%s: %s", e->file, e->text);
	else
		(void)snprintf(buf, size, "%s", e->text);
}

size_t diags_count(const struct diags *d)
{
	return d->n + d->n_dropped;
}

void diags_clear(struct diags *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].text);
	}
	free(d->v);
	d->v = NULL;
	d->n = 0;
	d->n_dropped = 0;
}
