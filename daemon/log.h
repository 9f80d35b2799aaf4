/*
 * log: leveled messages on stderr.
 *
 * Interactive commands (check, plan, ...) write plain lines; the daemon
 * writes each line with an sd-daemon "<N>" priority prefix so journald
 * (or a test reading stderr) gets the level.  Only daemon/ logs.
 */
#ifndef LICENSED_LOG_H
#define LICENSED_LOG_H

#include <stdbool.h>
#include <syslog.h>

/* true: "<N>" prefixes; false: plain lines. */
void log_set_prefixed(bool is_prefixed);

void log_msg(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...)	 log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)	 log_msg(LOG_INFO, __VA_ARGS__)

#endif
