#!/usr/bin/env bash
# Install a single-host SLURM (slurmctld + slurmd + client tools) and munge from Debian.
# Idempotent: does nothing when the programs are already there. Needs root (CI runs as root).
# The daemons are NOT started here: tests/slurm/cluster.py starts and stops its own.
set -euo pipefail

need=(slurmctld slurmd sbatch squeue sinfo scontrol munged mungekey)
missing=0
for prog in "${need[@]}"; do
    command -v "$prog" >/dev/null 2>&1 || [ -x "/usr/sbin/$prog" ] || missing=1
done
if [ "$missing" = 0 ]; then
    echo "slurm and munge already installed: $(slurmd -V)"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "tests/slurm/install.sh: needs root to apt-get install slurm-wlm and munge" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends keeps it to the daemons, the client tools and munge.
# Package postinst scripts may try to start services; we never rely on that.
apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
echo "installed: $(slurmd -V)"
