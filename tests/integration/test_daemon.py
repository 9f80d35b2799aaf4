"""`licensed run` without systemd: the test plays the service manager.

It binds a unix datagram socket, passes it as NOTIFY_SOCKET (and sets
WATCHDOG_USEC), runs the daemon against the simulator with a short
interval, and checks what the daemon tells systemd: READY, STATUS after
each round, RELOADING/READY on SIGHUP (a good and a broken policy),
WATCHDOG pings at half the interval, STOPPING and a clean exit on SIGTERM.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from simtest import LICENSED, Sim, gid, run, tenant, uid, user

POLICY = """[sales-e3]
group = %s
sku = ENTERPRISEPACK
""" % gid(1)


class Manager:
    """Receives sd_notify datagrams, with arrival times."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while self.running:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                for line in data.decode().split("\n"):
                    if line:
                        self.messages.append((time.monotonic(), line))

    def wait_for(self, prefix, after=0.0, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for t, m in self.messages:
                    if t >= after and m.startswith(prefix):
                        return t, m
            time.sleep(0.05)
        raise AssertionError("no %r after %.1f within %.0fs: %r" % (
            prefix, after, timeout, self.lines()))

    def lines(self):
        with self.lock:
            return [m for _, m in self.messages]

    def times(self, prefix):
        with self.lock:
            return [t for t, m in self.messages if m.startswith(prefix)]

    def close(self):
        self.running = False
        self.sock.close()
        self.thread.join()


class Daemon(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="licensed-daemon.")
        self.manager = Manager(os.path.join(self.work, "notify"))
        self.proc = None

    def tearDown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc:
            self.err_file.close()
        self.manager.close()
        shutil.rmtree(self.work, ignore_errors=True)

    def start(self, conf, watchdog_usec=None):
        env = dict(os.environ, NOTIFY_SOCKET=os.path.join(self.work, "notify"),
                   LICENSED_LOG_TARGET="stderr")
        if watchdog_usec:
            env["WATCHDOG_USEC"] = str(watchdog_usec)
        self.stderr_path = os.path.join(self.work, "stderr")
        self.err_file = open(self.stderr_path, "w")
        self.proc = subprocess.Popen([LICENSED, "-c", conf, "run"],
                                     stdout=subprocess.DEVNULL,
                                     stderr=self.err_file, env=env)

    def stderr(self):
        with open(self.stderr_path) as f:
            return f.read()

    def sim_tenant(self, n=4):
        users = [user(i) for i in range(1, n + 1)]
        return tenant(users, [{"id": gid(1), "displayName": "Sales",
                               "members": [u["id"] for u in users]}])

    def test_ready_status_reload_watchdog_stop(self):
        with Sim(self.sim_tenant()) as sim:
            state = os.path.join(self.work, "state")
            conf = sim.config(policy=POLICY, state_dir=state,
                              daemon="interval = 2s")
            self.start(conf, watchdog_usec=1000000)
            t_ready, _ = self.manager.wait_for("READY=1")
            _, status = self.manager.wait_for("STATUS=last round")
            self.assertRegex(status, r"^STATUS=last round \d\d:\d\d: 4 assigned, "
                             r"0 removed, 0 updated, 0 waiting for seats, "
                             r"0 skipped, 0 held, 0 errors, 0 without answer; "
                             r"next \d\d:\d\d$")
            # A second round about 2 s later (interval plus <10% jitter).
            t1, _ = self.manager.wait_for("STATUS=last round", after=t_ready)
            t2, s2 = self.manager.wait_for("STATUS=last round", after=t1 + 0.01)
            self.assertGreater(t2 - t1, 1.9)
            self.assertLess(t2 - t1, 3.0)
            self.assertIn(": 0 assigned", s2)

            # Watchdog at half of WATCHDOG_USEC: about 2 a second.
            time.sleep(2.0)
            pings = [t for t in self.manager.times("WATCHDOG=1") if t > t_ready]
            gaps = [b - a for a, b in zip(pings, pings[1:])]
            self.assertGreaterEqual(len(pings), 4)
            self.assertLess(max(gaps), 0.75, gaps)

            # Reload with a broken policy: rejected, old one stays.
            with open(sim.path("policy.ini"), "w") as f:
                f.write(POLICY + "bogus = 1\n")
            t = time.monotonic()
            self.proc.send_signal(signal.SIGHUP)
            _, reloading = self.manager.wait_for("RELOADING=1", after=t)
            self.manager.wait_for("MONOTONIC_USEC=", after=t)
            self.manager.wait_for("READY=1", after=t)
            time.sleep(0.3)
            err = self.stderr()
            self.assertIn("policy.ini:4: unknown key 'bogus' in rule "
                          "'sales-e3'", err)
            self.assertIn("reload rejected", err)
            self.assertIsNone(self.proc.poll())

            # Reload with a good one: applied.
            with open(sim.path("policy.ini"), "w") as f:
                f.write(POLICY + "\n[leaders]\ngroup = %s\nsku = SPE_E5\n"
                        % gid(2))
            t = time.monotonic()
            self.proc.send_signal(signal.SIGHUP)
            self.manager.wait_for("READY=1", after=t)
            time.sleep(0.3)
            self.assertIn("configuration and policy reloaded: 2 rules",
                          self.stderr())

            # Stop: STOPPING=1, exit 0 within 5 s, state saved.
            t = time.monotonic()
            self.proc.send_signal(signal.SIGTERM)
            rc = self.proc.wait(5)
            self.assertEqual(rc, 0)
            self.manager.wait_for("STOPPING=1", after=t, timeout=1)
            status = json.loads(run([LICENSED, "-c", conf, "status",
                                     "--json"])[1])
            self.assertEqual(status["owned"], 4)

    def test_busy_lock_is_not_reported_as_a_tenant_read_failure(self):
        import fcntl
        with Sim(self.sim_tenant()) as sim:
            state = os.path.join(self.work, "state")
            os.makedirs(state, mode=0o700)
            conf = sim.config(policy=POLICY, state_dir=state,
                              daemon="interval = 1s")
            with open(os.path.join(state, "lock"), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                self.start(conf)
                _, s0 = self.manager.wait_for("STATUS=last round ")
                self.assertRegex(s0, r"^STATUS=last round \d\d:\d\d did not "
                                 r"run: another licensed round holds the "
                                 r"lock; next ")
            t0 = time.monotonic()
            _, s1 = self.manager.wait_for("STATUS=last round ", after=t0)
            self.assertIn(": 4 assigned", s1)

    def test_sigterm_in_a_long_round_saves_what_it_did(self):
        n = 150
        faults = {"faults": [{"type": "latency", "ms": 50,
                              "path": "/assignLicense"}]}
        with Sim(self.sim_tenant(n), faults=faults) as sim:
            state = os.path.join(self.work, "state")
            conf = sim.config(policy=POLICY, state_dir=state,
                              daemon="write_rate = 20")
            self.start(conf)
            self.manager.wait_for("READY=1")
            deadline = time.time() + 20
            while time.time() < deadline and not any(
                    e.get("batch_item") for e in sim.log()):
                time.sleep(0.05)
            time.sleep(1.0)
            t = time.monotonic()
            self.proc.send_signal(signal.SIGTERM)
            self.assertEqual(self.proc.wait(5), 0)
            self.assertLess(time.monotonic() - t, 5)
            holders = [u for u in sim.state()["users"] if u.get("licenses")]
            self.assertGreater(len(holders), 0)
            self.assertLess(len(holders), n)
            status = json.loads(run([LICENSED, "-c", conf, "status",
                                     "--json"])[1])
            self.assertEqual(status["owned"], len(holders))

    def test_invalid_config_at_start_exits_2(self):
        path = os.path.join(self.work, "bad.conf")
        with open(path, "w") as f:
            f.write("[tenant]\ntenant_id = x\n")
        self.start(path)
        self.assertEqual(self.proc.wait(5), 2)
        self.assertNotIn("READY=1", self.manager.lines())
        self.assertIn("bad.conf:2: invalid value 'x' for 'tenant_id'",
                      self.stderr())

    def test_failed_round_backs_off_and_recovers(self):
        with Sim(self.sim_tenant()) as sim:
            sim.set_faults({"faults": [{"type": "status", "status": 503,
                                        "retry_after": "0.05",
                                        "path": "/subscribedSkus"}]})
            conf = sim.config(policy=POLICY,
                              state_dir=os.path.join(self.work, "state"),
                              daemon="interval = 1s")
            self.start(conf)
            t0, s0 = self.manager.wait_for("STATUS=last round ")
            self.assertRegex(s0, r"^STATUS=last round \d\d:\d\d could not "
                             r"read the tenant, nothing written; next ")
            sim.set_faults({})
            t1, s1 = self.manager.wait_for("STATUS=last round ", after=t0 + 0.01)
            # The wait after a failure is 2 intervals (+ jitter), not 1.
            self.assertGreater(t1 - t0, 1.9)
            self.assertIn("4 assigned", s1)


if __name__ == "__main__":
    unittest.main()
