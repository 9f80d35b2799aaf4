/*
 * journal: structured records of what licensed did, one per change and
 * one per round (SPEC section 6).
 *
 * Each kind of event has a MESSAGE_ID, explained for admins in
 * systemd/licensed.catalog (journalctl -x).  The sink is chosen once at
 * start (journal_open): the journal when stderr is connected to it
 * ($JOURNAL_STREAM) or its socket exists, else readable lines on stderr
 * with "<N>" priority prefixes.  No secret or token ever reaches a record.
 */
#ifndef LICENSED_JOURNAL_H
#define LICENSED_JOURNAL_H

#include <stdbool.h>

/* MESSAGE_IDs: keep in sync with systemd/licensed.catalog. */
#define JOURNAL_ROUND_FINISHED	  "7e6dbb15b22547889e22ada4c71d0748"
#define JOURNAL_CHANGE_APPLIED	  "a7e2e52d80bb43aabf4bd2d344c39353"
#define JOURNAL_CHANGE_FAILED	  "ea99e24fbc324101a4bffff176cf332b"
#define JOURNAL_CHANGE_UNKNOWN	  "25b7005044a1450781acd269229b073b"
#define JOURNAL_WRITES_STOPPED	  "d5b6446ba4264df789bde3db7f17186e"
#define JOURNAL_REMOVALS_HELD	  "ec058e1d57e34092b927c01a2806b00c"
#define JOURNAL_SEATS_SHORT	  "bb304e342bab46009f628c92afcdab38"
#define JOURNAL_NO_USAGE_LOCATION "8ab4f083753046c582cbda4e39eb4efa"
#define JOURNAL_AUTH_FAILED	  "90d04a4d3e9d429ea83d715e63d5dfd7"
#define JOURNAL_READ_FAILED	  "c155c65c9d2543e397fa9199057470a4"
#define JOURNAL_CONFIG_REJECTED	  "7c0d4934d5a14f64b3f82fb7bc7ec307"
#define JOURNAL_RELOADED	  "13b2e310b012410f88fd5758c3c7807c"

/* What one record says beyond its text; NULL fields are left out. */
struct journal_fields {
	const char *message_id;
	const char
		*action;  /* LICENSED_ACTION: assign|remove|update|skip|hold */
	const char *user; /* LICENSED_USER: object id */
	const char *upn;  /* LICENSED_UPN */
	const char *sku;  /* LICENSED_SKU: part number */
	const char *rule; /* LICENSED_RULE */
	unsigned long round; /* LICENSED_ROUND (0: left out) */
};

/* Decide the sink: the journal or stderr lines (see journal.c). */
void journal_open(bool is_daemon);

/* One record: priority (LOG_*), fields, and the human text. */
void journal_record(int priority, const struct journal_fields *f,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
