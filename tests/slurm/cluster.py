"""A real single-host SLURM cluster for tests and benchmarks.

Writes slurm.conf (and cgroup.conf) for this host into a state directory, starts its own
munged, slurmctld and slurmd in the foreground as child processes (pid files in the state
directory), waits until `sinfo` shows the node idle, and stops them again by pid.

Everything lives in the state directory: the munge key and socket, the daemons' spool,
state, pid and log files, and the job-completion log (`jobcomp.log`, one line per finished
SLURM job: the record that a job really ran through slurmctld). The daemons listen on
127.0.0.1 only, on free ports picked at start.

The one file outside the state directory is /etc/slurm/slurm.conf, SLURM's compiled-in
config path, made a symlink to the state directory's slurm.conf while the cluster runs (and
removed by stop()). Clients outside jobs get SLURM_CONF from `SlurmCluster.env()`, but
snakemake-executor-plugin-slurm-jobstep clears every SLURM_* variable but the job's
identity before it calls `srun` inside a job, so that `srun` finds its cluster where it does
on a real cluster: at the default path. A host whose /etc/slurm/slurm.conf is not ours (a
real cluster's) is left alone: start() refuses, saying so.

Command line (used by benchmarks/slurm_bundling.py and for manual runs):
    python tests/slurm/cluster.py start DIR     # prints `export SLURM_CONF=...`
    python tests/slurm/cluster.py stop DIR
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
REQUIRED_PROGRAMS = DAEMONS + ("mungekey", "sbatch", "squeue", "sinfo", "scontrol", "scancel", "srun")
INSTALL_HINT = "run `bash tests/slurm/install.sh` (as root)"
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")


class SlurmUnavailable(RuntimeError):
    """SLURM could not be installed or started here; the message is one line saying why."""


def _which(prog: str) -> str | None:
    return shutil.which(prog) or next(
        (str(p) for p in (Path("/usr/sbin") / prog, Path("/sbin") / prog) if p.exists()), None
    )


def missing_programs() -> list[str]:
    return [p for p in REQUIRED_PROGRAMS if _which(p) is None]


def _free_ports(n: int) -> list[int]:
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def _node_hardware() -> dict[str, str]:
    """CPUs, sockets, cores, threads and RealMemory of this host, as `slurmd -C` reports them."""
    out = subprocess.run(
        [_which("slurmd"), "-C"], capture_output=True, text=True, timeout=30
    )
    first = out.stdout.splitlines()[0] if out.stdout else ""
    fields = dict(re.findall(r"(\w+)=(\S+)", first))
    keys = ("CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore", "RealMemory")
    if out.returncode != 0 or not all(k in fields for k in keys):
        raise SlurmUnavailable(
            f"`slurmd -C` did not report this host's hardware (rc={out.returncode}): "
            f"{(out.stderr or first).strip().splitlines()[-1:] or ''}"
        )
    return {k: fields[k] for k in keys}


def _last_log_line(path: Path) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return f"(no log at {path})"
    errors = [ln for ln in lines if "error" in ln.lower() or "fatal" in ln.lower()]
    return (errors or lines or ["(empty log)"])[-1].strip()


class SlurmCluster:
    def __init__(self, state_dir: str | os.PathLike, min_job_age: int = 300):
        self.dir = Path(state_dir).resolve()
        self.node = socket.gethostname().split(".")[0]
        self.min_job_age = min_job_age
        self.conf = self.dir / "etc" / "slurm.conf"
        self.jobcomp_log = self.dir / "log" / "jobcomp.log"
        self.munge_socket = self.dir / "munge" / "munge.socket.2"

    # -- configuration -------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """The environment for SLURM clients (sbatch, squeue, snakemake) of this cluster."""
        env = dict(os.environ)
        env["SLURM_CONF"] = str(self.conf)
        # A client inside a job of another cluster must not think it runs in that job.
        for var in list(env):
            if var.startswith(("SLURM_JOB", "SLURM_STEP", "SBATCH_", "SRUN_")):
                env.pop(var)
        return env

    def write_config(self) -> None:
        hw = _node_hardware()
        ctld_port, slurmd_port = _free_ports(2)
        for sub in ("etc", "munge", "spool/ctld", "spool/d", "log", "run"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir / "munge", 0o700)
        d = self.dir
        self.conf.write_text(
            "\n".join(
                [
                    "# written by tests/slurm/cluster.py: a single-host test cluster",
                    "ClusterName=runvartest",
                    f"SlurmctldHost={self.node}(127.0.0.1)",
                    f"SlurmctldPort={ctld_port}",
                    f"SlurmdPort={slurmd_port}",
                    "SlurmUser=root",
                    "SlurmdUser=root",
                    "AuthType=auth/munge",
                    "CredType=cred/munge",
                    f"AuthInfo=socket={self.munge_socket}",
                    f"StateSaveLocation={d}/spool/ctld",
                    f"SlurmdSpoolDir={d}/spool/d",
                    f"SlurmctldPidFile={d}/run/slurmctld.daemon.pid",
                    f"SlurmdPidFile={d}/run/slurmd.daemon.pid",
                    f"SlurmctldLogFile={d}/log/slurmctld.log",
                    f"SlurmdLogFile={d}/log/slurmd.log",
                    "SlurmctldDebug=info",
                    "SlurmdDebug=info",
                    # no cgroups: the test host may be a container without a writable
                    # cgroup tree; processes are tracked through /proc instead
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    "JobAcctGatherType=jobacct_gather/none",
                    "MpiDefault=none",
                    "SwitchType=switch/none",
                    "SchedulerType=sched/backfill",
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_Core_Memory",
                    # no accounting database: job status comes from squeue, which keeps
                    # finished jobs for MinJobAge seconds
                    "AccountingStorageType=accounting_storage/none",
                    f"MinJobAge={self.min_job_age}",
                    "JobCompType=jobcomp/filetxt",
                    f"JobCompLoc={self.jobcomp_log}",
                    "ReturnToService=2",
                    "SlurmdParameters=config_overrides",
                    "SlurmctldTimeout=30",
                    "SlurmdTimeout=60",
                    "InactiveLimit=0",
                    "KillWait=5",
                    "Waittime=0",
                    (
                        f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={hw['CPUs']} "
                        f"Boards={hw['Boards']} SocketsPerBoard={hw['SocketsPerBoard']} "
                        f"CoresPerSocket={hw['CoresPerSocket']} "
                        f"ThreadsPerCore={hw['ThreadsPerCore']} "
                        f"RealMemory={hw['RealMemory']} State=UNKNOWN"
                    ),
                    f"PartitionName=debug Nodes={self.node} Default=YES MaxTime=INFINITE State=UP",
                    "",
                ]
            )
        )
        # Read by slurmd/slurmstepd; with task/none and proctrack/linuxproc no cgroup
        # plugin is loaded, this only keeps them from looking for /etc/slurm/cgroup.conf.
        (self.dir / "etc" / "cgroup.conf").write_text(
            "# written by tests/slurm/cluster.py\nCgroupAutomount=no\nConstrainCores=no\n"
            "ConstrainRAMSpace=no\nConstrainDevices=no\n"
        )

    def _claim_system_conf(self) -> None:
        """Point /etc/slurm/slurm.conf at our slurm.conf, unless it belongs to someone else."""
        if SYSTEM_CONF.is_symlink():
            target = Path(os.readlink(SYSTEM_CONF))
            other = target.parent.parent  # <state dir>/etc/slurm.conf
            if target != self.conf and (other / "run").is_dir():
                running = [
                    n for n in DAEMONS if SlurmCluster(other)._alive(n) is not None
                ]
                if running:
                    raise SlurmUnavailable(
                        f"another test cluster runs from {other} ({', '.join(running)}); "
                        f"stop it with `python tests/slurm/cluster.py stop {other}`"
                    )
            SYSTEM_CONF.unlink()
        elif SYSTEM_CONF.exists():
            raise SlurmUnavailable(
                f"{SYSTEM_CONF} exists and is not a test cluster's: this host has its own "
                "SLURM, which the test does not touch"
            )
        if not os.access(SYSTEM_CONF.parent if SYSTEM_CONF.parent.exists() else "/etc", os.W_OK):
            raise SlurmUnavailable(f"cannot write {SYSTEM_CONF} (the test needs root)")
        SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
        SYSTEM_CONF.symlink_to(self.conf)

    def _release_system_conf(self) -> None:
        if SYSTEM_CONF.is_symlink() and Path(os.readlink(SYSTEM_CONF)) == self.conf:
            SYSTEM_CONF.unlink()

    # -- processes -----------------------------------------------------------------------
    def _pidfile(self, name: str) -> Path:
        return self.dir / "run" / f"{name}.pid"

    def _spawn(self, name: str, argv: list[str]) -> int:
        log = open(self.dir / "log" / f"{name}.out", "ab")
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env(),
            start_new_session=True,  # outlives a CLI `start`; stopped by pid in stop()
        )
        log.close()
        self._pidfile(name).write_text(f"{proc.pid}\n")
        return proc.pid

    def _alive(self, name: str) -> int | None:
        try:
            pid = int(self._pidfile(name).read_text())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        # a zombie child of ours counts as dead
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if state == "Z":
                os.waitpid(pid, os.WNOHANG)
                return None
        except (OSError, IndexError, ChildProcessError):
            pass
        return pid

    def _wait_alive(self, name: str, logfile: Path, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._alive(name) is None:
                raise SlurmUnavailable(f"{name} exited at start: {_last_log_line(logfile)}")
            time.sleep(0.2)

    def _run_client(self, argv: list[str], timeout: float = 20) -> subprocess.CompletedProcess:
        return subprocess.run(argv, capture_output=True, text=True, env=self.env(), timeout=timeout)

    def start(self, timeout: float = 60) -> None:
        missing = missing_programs()
        if missing:
            raise SlurmUnavailable(
                f"SLURM/munge programs not installed ({', '.join(missing)}): {INSTALL_HINT}"
            )
        if any(self._alive(n) for n in DAEMONS):
            raise SlurmUnavailable(f"a test cluster already runs from {self.dir}; stop it first")
        self._claim_system_conf()
        self.write_config()
        d = self.dir

        key = d / "munge" / "munge.key"
        if not key.exists():
            r = subprocess.run(
                [_which("mungekey"), "--create", f"--keyfile={key}"], capture_output=True, text=True
            )
            if r.returncode != 0:
                raise SlurmUnavailable(f"mungekey failed: {r.stderr.strip()}")
        os.chmod(key, 0o400)
        self._spawn(
            "munged",
            [
                _which("munged"),
                "--foreground",
                "--force",
                f"--socket={self.munge_socket}",
                f"--key-file={key}",
                f"--pid-file={d}/run/munged.daemon.pid",
                f"--log-file={d}/log/munged.log",
                f"--seed-file={d}/munge/munged.seed",
            ],
        )
        deadline = time.monotonic() + 15
        while not self.munge_socket.exists():
            if self._alive("munged") is None or time.monotonic() > deadline:
                raise SlurmUnavailable(f"munged did not start: {_last_log_line(d / 'log/munged.log')}")
            time.sleep(0.1)

        self._spawn("slurmctld", [_which("slurmctld"), "-D", "-i", "-f", str(self.conf)])
        self._wait_alive("slurmctld", d / "log/slurmctld.log", 1.5)
        self._spawn("slurmd", [_which("slurmd"), "-D", "-N", self.node, "-f", str(self.conf)])
        self._wait_alive("slurmd", d / "log/slurmd.log", 1.5)

        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            for name, log in (("slurmctld", "slurmctld.log"), ("slurmd", "slurmd.log")):
                if self._alive(name) is None:
                    raise SlurmUnavailable(f"{name} exited: {_last_log_line(d / 'log' / log)}")
            r = self._run_client(["sinfo", "-h", "-N", "-o", "%N %t"])
            state = (r.stdout or r.stderr).strip()
            if r.returncode == 0 and state == f"{self.node} idle":
                return
            time.sleep(0.5)
        raise SlurmUnavailable(
            f"node not idle after {timeout:.0f}s (sinfo: {state!r}); "
            f"slurmd: {_last_log_line(d / 'log/slurmd.log')}"
        )

    def start_or_reason(self) -> str | None:
        """Start the cluster; if it cannot start, stop what did and return the one-line reason."""
        try:
            self.start()
        except SlurmUnavailable as e:
            self.stop()
            return f"SLURM unavailable: {e}"
        return None

    def stop(self) -> None:
        """Cancel this cluster's remaining jobs, then stop slurmd, slurmctld, munged by pid."""
        if self._alive("slurmctld") is not None:
            r = self._run_client(["squeue", "-h", "-o", "%i"], timeout=10)
            ids = r.stdout.split() if r.returncode == 0 else []
            if ids:
                self._run_client(["scancel", *ids], timeout=10)
        for name in ("slurmd", "slurmctld", "munged"):
            pid = self._alive(name)
            if pid is None:
                continue
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while self._alive(name) is not None and time.monotonic() < deadline:
                time.sleep(0.1)
            if self._alive(name) is not None:
                os.kill(pid, signal.SIGKILL)
                while self._alive(name) is not None:
                    time.sleep(0.1)
            self._pidfile(name).unlink(missing_ok=True)
        self._release_system_conf()

    # -- what the cluster saw --------------------------------------------------------------
    def completed_jobs(self) -> list[dict[str, str]]:
        """One dict per job slurmctld recorded as finished (jobcomp/filetxt)."""
        if not self.jobcomp_log.exists():
            return []
        return [
            dict(re.findall(r"(\w+)=(\S*)", line))
            for line in self.jobcomp_log.read_text().splitlines()
            if line.strip()
        ]

    def __enter__(self) -> "SlurmCluster":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print(__doc__.strip().splitlines()[-2:], file=sys.stderr)
        return 2
    cluster = SlurmCluster(argv[1])
    if argv[0] == "start":
        reason = cluster.start_or_reason()
        if reason:
            print(reason, file=sys.stderr)
            return 1
        print(f"export SLURM_CONF={cluster.conf}")
    else:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
