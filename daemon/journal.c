/*
 * journal: structured records, or stderr lines.  See journal.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "daemon/journal.h"
#include "daemon/log.h"

static bool journal_native; /* the sink, chosen once in journal_open() */

/* Is stderr the stream systemd connected to the journal? */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void journal_open(bool is_daemon)
{
	const char *target = getenv("LICENSED_LOG_TARGET");
	struct stat st;
	bool is_stream = stderr_is_journal();

	/*
	 * sd_journal_send() returns 0 even when nothing listens (PITFALLS),
	 * so decide here.  The daemon writes to the journal when its socket
	 * is there; a command run from a shell only when its stderr already
	 * goes to the journal, so that an admin sees what `once` did.
	 */
	journal_native =
		is_stream ||
		(is_daemon && stat("/run/systemd/journal/socket", &st) == 0);
	/* As SYSTEMD_LOG_TARGET does for systemd's tools: force the sink. */
	if (target && strcmp(target, "stderr") == 0)
		journal_native = false;
	else if (target && strcmp(target, "journal") == 0)
		journal_native = true;
	log_set_prefixed(is_daemon || is_stream);
}

/* Append "NAME=value" to the record when value is set. */
static void field(struct iovec *iov, size_t *n, char *buf, size_t size,
		  const char *name, const char *value)
{
	int len;

	if (!value || !value[0])
		return;
	len = snprintf(buf, size, "%s=%s", name, value);
	if (len < 0 || (size_t)len >= size)
		return;
	iov[*n].iov_base = buf;
	iov[*n].iov_len = (size_t)len;
	(*n)++;
}

void journal_record(int priority, const struct journal_fields *f,
		    const char *fmt, ...)
{
	char text[2048], msg[2064], buf[9][512], prio[4], round[24];
	struct iovec iov[10];
	int len;
	size_t n = 0;
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (!journal_native) {
		log_msg(priority, "%s", text); /* the text names user and SKU */
		return;
	}
	(void)snprintf(prio, sizeof(prio), "%d", priority);
	(void)snprintf(round, sizeof(round), "%lu", f->round);
	field(iov, &n, buf[0], sizeof(buf[0]), "PRIORITY", prio);
	field(iov, &n, buf[1], sizeof(buf[1]), "SYSLOG_IDENTIFIER", "licensed");
	field(iov, &n, buf[2], sizeof(buf[2]), "MESSAGE_ID", f->message_id);
	field(iov, &n, buf[3], sizeof(buf[3]), "LICENSED_ACTION", f->action);
	field(iov, &n, buf[4], sizeof(buf[4]), "LICENSED_USER", f->user);
	field(iov, &n, buf[5], sizeof(buf[5]), "LICENSED_UPN", f->upn);
	field(iov, &n, buf[6], sizeof(buf[6]), "LICENSED_SKU", f->sku);
	field(iov, &n, buf[7], sizeof(buf[7]), "LICENSED_RULE", f->rule);
	field(iov, &n, buf[8], sizeof(buf[8]), "LICENSED_ROUND",
	      f->round ? round : NULL);
	len = snprintf(msg, sizeof(msg), "MESSAGE=%s", text);
	iov[n].iov_base = msg;
	iov[n].iov_len = len > 0 ? (size_t)len : 0;
	(void)sd_journal_sendv(iov, (int)n + 1);
}
