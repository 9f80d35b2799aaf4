/*
 * loop: `licensed run`, the daemon (SPEC section 6).
 *
 * One thread, one poll() over a signalfd (SIGTERM, SIGINT, SIGHUP) and
 * two timerfds (next round, watchdog).  A round runs inside the loop; the
 * Graph client's wait hook polls the same fds, so the watchdog is fed and
 * SIGTERM is seen between requests of a long round.
 */
#ifndef LICENSED_LOOP_H
#define LICENSED_LOOP_H

#include "config/config.h"
#include "policy/model.h"

/*
 * Run until SIGTERM/SIGINT.  cfg and pol are the loaded ones (owned by
 * the caller; the loop works on its own copies after a reload).  Returns
 * the exit code: 0 after a clean stop, 2 when the credentials cannot be
 * loaded at start, 1 on an internal failure.
 */
int loop_run(const char *config_path, struct config *cfg, struct policy *pol);

#endif
