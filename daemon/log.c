/*
 * log: stderr lines, plain or with "<N>" prefixes.  See log.h.
 */
#include <stdarg.h>
#include <stdio.h>

#include "daemon/log.h"

static bool log_is_prefixed; /* the one mutable global below main (STYLE) */

void log_set_prefixed(bool is_prefixed)
{
	log_is_prefixed = is_prefixed;
}

void log_msg(int priority, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_is_prefixed)
		(void)fprintf(stderr, "<%d>%s\n", priority, line);
	else
		(void)fprintf(stderr, "%s\n", line);
}
