/*
 * exitcode: the exit status of `once`, `plan`, `check` and the others
 * (SPEC section 1), defined once.  Only daemon/ knows them: config/,
 * graph/ and policy/ return negative errno values.
 */
#ifndef LICENSED_EXITCODE_H
#define LICENSED_EXITCODE_H

enum exitcode {
	/* Success; everything wanted is applied or deliberately deferred. */
	EXITCODE_OK = 0,
	/*
	 * The round ran but not everything was applied: a change failed or
	 * got no answer, seats or a usage location were missing, a rule
	 * could not be applied, removals were held, the writes stopped or
	 * the state could not be saved.
	 */
	EXITCODE_INCOMPLETE = 1,
	/* Usage error, invalid config, policy or state: nothing contacted. */
	EXITCODE_INVALID = 2,
	/* The tenant could not be read completely: nothing was written. */
	EXITCODE_UNREADABLE = 3,
};

#endif
