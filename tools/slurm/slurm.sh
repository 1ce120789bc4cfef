#!/usr/bin/env bash
# Real Slurm (Debian packages) for Concentra's tests and CI: one controller, one accounting
# daemon (slurmdbd on the local MariaDB) and one compute node with fake GPUs, all started
# directly (no systemd) from a private state directory.
#
#   tools/slurm/slurm.sh start    install what is missing, write configs, start munged,
#                                 slurmdbd, slurmctld, slurmd; wait until the node is idle
#   tools/slurm/slurm.sh stop     cancel jobs, stop every daemon started here, leave nothing behind
#   tools/slurm/slurm.sh status   say what runs (exit 0 only when everything runs)
#   tools/slurm/slurm.sh env      print `export` lines for clients (sacctmgr, sbatch, srun, sacct, ...)
#   tools/slurm/slurm.sh reset    stop, then delete the state dir and drop the accounting database
#   tools/slurm/slurm.sh restart  stop, then start
#
# Environment (all optional):
#   CONCENTRA_SLURM_DIR        state dir (default: <repo>/.data/slurm)
#   CONCENTRA_SLURM_PORT_BASE  slurmctld port; slurmd = +1, slurmdbd = +2 (default 16817)
#   CONCENTRA_SLURM_CLUSTER    cluster name (default concentra)
#   CONCENTRA_SLURM_CPUS       CPUs of the node (default 8; overcommitted on purpose)
#   CONCENTRA_SLURM_GPUS       fake GPUs of the node (default 8), type CONCENTRA_SLURM_GPU_TYPE (h100)
#   CONCENTRA_SLURM_DB         accounting database (default concentra_slurm_acct)
#   CONCENTRA_SLURM_DB_USER / CONCENTRA_SLURM_DB_PASS   (default concentra_slurm / concentra_slurm)
#   CONCENTRA_SLURM_MYSQL_HOST / CONCENTRA_SLURM_MYSQL_PORT (default 127.0.0.1 / 3306; admin: root, no password)
#   CONCENTRA_SLURM_WAIT       seconds to wait for each readiness condition (default 120)
#   CONCENTRA_SLURM_ENFORCE    AccountingStorageEnforce (default associations,limits,qos; add ",safe"
#                              to keep jobs that could overrun a GrpTRESMins budget from starting)
#   CONCENTRA_SLURM_KEEP_DB=1  keep an existing accounting database when the state dir is new
#                              (by default a new state dir starts from an empty database, since the
#                              controller numbers jobs from 1 again)
set -euo pipefail

export PATH="/usr/sbin:/sbin:/usr/bin:/bin${PATH:+:$PATH}"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"

D="${CONCENTRA_SLURM_DIR:-$REPO/.data/slurm}"
PORT_BASE="${CONCENTRA_SLURM_PORT_BASE:-16817}"
CTLD_PORT="$PORT_BASE"
SLURMD_PORT="$((PORT_BASE + 1))"
DBD_PORT="$((PORT_BASE + 2))"
CLUSTER="${CONCENTRA_SLURM_CLUSTER:-concentra}"
NODE="localhost"
CPUS="${CONCENTRA_SLURM_CPUS:-8}"
GPUS="${CONCENTRA_SLURM_GPUS:-8}"
GPU_TYPE="${CONCENTRA_SLURM_GPU_TYPE:-h100}"
DB_NAME="${CONCENTRA_SLURM_DB:-concentra_slurm_acct}"
DB_USER="${CONCENTRA_SLURM_DB_USER:-concentra_slurm}"
DB_PASS="${CONCENTRA_SLURM_DB_PASS:-concentra_slurm}"
MYSQL_HOST="${CONCENTRA_SLURM_MYSQL_HOST:-127.0.0.1}"
MYSQL_PORT="${CONCENTRA_SLURM_MYSQL_PORT:-3306}"
WAIT="${CONCENTRA_SLURM_WAIT:-120}"
ENFORCE="${CONCENTRA_SLURM_ENFORCE:-associations,limits,qos}"
KEEP_DB="${CONCENTRA_SLURM_KEEP_DB:-}"

ETC="$D/etc"
RUN="$D/run"
LOG="$D/log"
SPOOL="$D/spool"
MUNGE_DIR="$D/munge"
CONF="$ETC/slurm.conf"

log() { printf '[slurm.sh +%ss] %s\n' "$SECONDS" "$*" >&2; }
die() { printf '[slurm.sh] ERROR: %s\n' "$*" >&2; exit 1; }

# Unix socket paths must fit in sun_path (108 bytes): munged's socket and slurmstepd's sockets
# (SlurmdSpoolDir/localhost_<job>.<step>) move to a short directory under /run for a deep state dir.
if [ "${#D}" -gt 50 ]; then
  SOCK_DIR="/run/concentra-slurm-$(printf '%s' "$D" | sha1sum | cut -c1-12)"
  MUNGE_SOCK="$SOCK_DIR/munged.sock"
  SLURMD_SPOOL="$SOCK_DIR/slurmd"
else
  SOCK_DIR=""
  MUNGE_SOCK="$MUNGE_DIR/munged.sock"
  SLURMD_SPOOL="$SPOOL/d"
fi

export SLURM_CONF="$CONF"

# --------------------------------------------------------------------------------------------
# polling helper: poll DESCRIPTION SECONDS CMD...   (retries CMD every 0.2 s until it succeeds)
poll() {
  local what="$1" limit="$2"; shift 2
  local deadline=$((SECONDS + limit))
  while :; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "timed out after ${limit}s waiting for: $what"
      return 1
    fi
    sleep 0.2
  done
}

# --------------------------------------------------------------------------------------------
# packages
need_root() { [ "$(id -u)" = 0 ] || die "must run as root (slurmd needs it)"; }

ensure_packages() {
  local -a pkgs=()
  local pair bin pkg
  for pair in slurmctld:slurmctld slurmd:slurmd slurmdbd:slurmdbd sacctmgr:slurm-client \
              sbatch:slurm-client munged:munge mungekey:munge mysql:mariadb-client; do
    bin="${pair%%:*}"; pkg="${pair##*:}"
    if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$bin" ]; then
      case " ${pkgs[*]:-} " in *" $pkg "*) ;; *) pkgs+=("$pkg") ;; esac
    fi
  done
  [ "${#pkgs[@]}" -eq 0 ] && return 0
  log "installing missing packages: ${pkgs[*]}"
  # Keep the packages' init scripts from starting system daemons (there is no systemd here and
  # we run our own daemons): a policy-rc.d that denies, only if none is installed already.
  local own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  local rc=0
  {
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
      --no-install-recommends "${pkgs[@]}"
  } >"$LOG/apt.log" 2>&1 || rc=$?
  [ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
  [ "$rc" -eq 0 ] || { tail -n 30 "$LOG/apt.log" >&2; die "apt-get install failed (see $LOG/apt.log)"; }
  log "installed: ${pkgs[*]}"
}

# --------------------------------------------------------------------------------------------
# processes: pid files under $RUN; a pid counts only if it is alive and is the expected program
# started with our config (its environment carries our SLURM_CONF, or munged's cmdline our socket).
pid_of() { # name -> prints pid if alive and ours
  local name="$1" f="$RUN/$1.pid" pid
  [ -s "$f" ] || return 1
  pid="$(tr -dc '0-9' < "$f")"
  [ -n "$pid" ] && alive "$pid" || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || return 1
  if [ "$name" = munged ]; then
    tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline" | grep -qF -- "$MUNGE_SOCK" || return 1
  else
    tr '\0' '\n' 2>/dev/null < "/proc/$pid/environ" | grep -qxF "SLURM_CONF=$CONF" || return 1
  fi
  printf '%s' "$pid"
}

is_running() { pid_of "$1" >/dev/null; }

# alive = exists and is not a zombie (this machine's init reaps orphans late)
alive() {
  local st
  st="$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}
dead() { ! alive "$1"; }

stop_daemon() { # name
  local name="$1" pid
  pid="$(pid_of "$name")" || { rm -f "$RUN/$name.pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  if ! poll "$name (pid $pid) to exit" 30 dead "$pid"; then
    log "$name (pid $pid) ignored SIGTERM, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    poll "$name (pid $pid) to die" 10 dead "$pid" || true
  fi
  rm -f "$RUN/$name.pid"
  log "stopped $name (pid $pid)"
}

# slurmstepd processes of our node (they inherit slurmd's environment, hence our SLURM_CONF)
our_stepds() {
  local p
  for p in $(pgrep -x slurmstepd 2>/dev/null || true); do
    if tr '\0' '\n' 2>/dev/null < "/proc/$p/environ" | grep -qxF "SLURM_CONF=$CONF"; then
      printf '%s\n' "$p"
    fi
  done
}

port_in_use() {
  command -v ss >/dev/null 2>&1 || return 1
  ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

# The Slurm daemon holding a port whose checkout was deleted under it (its working directory is
# gone): an orphan of an earlier run, e.g. a CI clone removed while its tests were killed.
orphan_on_port() { # port name
  local pid
  pid="$(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2)"
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] &&
    [[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" == *" (deleted)" ]] && printf '%s\n' "$pid"
}

# A port held by anything but our own daemon means another Slurm (or something else) is there:
# stop before touching the database. An orphaned Slurm daemon of a deleted checkout is stopped.
preflight_ports() {
  local pair name port orphan
  for pair in slurmctld:$CTLD_PORT slurmd:$SLURMD_PORT slurmdbd:$DBD_PORT; do
    name="${pair%%:*}"; port="${pair##*:}"
    if port_in_use "$port" && ! is_running "$name" && orphan="$(orphan_on_port "$port" "$name")"; then
      log "stopping $name (pid $orphan) left on port $port by a deleted checkout"
      kill "$orphan" 2>/dev/null || true
      poll "port $port to be free" "$WAIT" bash -c "! ss -Hltn 'sport = :$port' | grep -q ."
    fi
    if port_in_use "$port" && ! is_running "$name"; then
      die "port $port ($name) is taken by another process; set CONCENTRA_SLURM_PORT_BASE (and, for a second cluster, CONCENTRA_SLURM_CLUSTER and CONCENTRA_SLURM_DB)"
    fi
  done
}

# --------------------------------------------------------------------------------------------
# configuration
write_file_if_changed() { # path mode content
  local path="$1" mode="$2" content="$3"
  if [ ! -f "$path" ] || [ "$(cat "$path")" != "$content" ]; then
    printf '%s\n' "$content" > "$path.tmp"
    chmod "$mode" "$path.tmp"
    mv -f "$path.tmp" "$path"
    CONFIG_CHANGED=1
  fi
  chmod "$mode" "$path"
}

render_configs() {
  local host; host="$(hostname -s 2>/dev/null || uname -n)"
  SLURM_CONF_TEXT="# generated by tools/slurm/slurm.sh -- do not edit, regenerated on start
ClusterName=$CLUSTER
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCK
CredType=cred/munge
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SLURMD_SPOOL
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# no cgroups: plain process tracking, no task confinement (fake GPUs have no devices anyway)
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# usage never decays, so GrpTRESMins is a total budget
PriorityType=priority/multifactor
PriorityDecayHalfLife=0
PriorityUsageResetPeriod=NONE
PriorityCalcPeriod=1
# accounting
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$DBD_PORT
# for slurmdbd connections the munge socket comes from here, not from AuthInfo
AccountingStoragePass=$MUNGE_SOCK
AccountingStorageEnforce=$ENFORCE
AccountingStorageTRES=gres/gpu,gres/gpu:$GPU_TYPE
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
MailProg=/bin/true
# finished jobs stay visible in squeue/scontrol for 5 minutes (accounting keeps them forever)
MinJobAge=300
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
MessageTimeout=20
GresTypes=gpu
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$host CPUs=$CPUS RealMemory=16000 Gres=gpu:$GPU_TYPE:$GPUS State=UNKNOWN
PartitionName=gpu Nodes=$NODE Default=YES MaxTime=INFINITE State=UP"

  # Slurm 22.05 drops GPUs that have no File= ("Removing file-less GPU ... from final GRES
  # list"), so each fake GPU gets a "device": a symlink to /dev/null under the state dir.
  GRES_CONF_TEXT="# generated by tools/slurm/slurm.sh: fake GPUs, the files are symlinks to /dev/null
AutoDetect=off
NodeName=$NODE Name=gpu Type=$GPU_TYPE Count=$GPUS File=$D/dev/gpu[0-$((GPUS - 1))]"

  CGROUP_CONF_TEXT="# generated by tools/slurm/slurm.sh: cgroups are not used (proctrack/linuxproc, task/none)
ConstrainCores=no
ConstrainRAMSpace=no
ConstrainDevices=no"

  SLURMDBD_CONF_TEXT="# generated by tools/slurm/slurm.sh
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCK
PidFile=$RUN/slurmdbd.pid
LogFile=$LOG/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=$MYSQL_HOST
StoragePort=$MYSQL_PORT
StorageUser=$DB_USER
StoragePass=$DB_PASS
StorageLoc=$DB_NAME"
}

write_configs() {
  CONFIG_CHANGED=""
  local i
  mkdir -p "$D/dev"
  for ((i = 0; i < GPUS; i++)); do ln -sfn /dev/null "$D/dev/gpu$i"; done
  render_configs
  write_file_if_changed "$ETC/slurm.conf" 644 "$SLURM_CONF_TEXT"
  write_file_if_changed "$ETC/gres.conf" 644 "$GRES_CONF_TEXT"
  write_file_if_changed "$ETC/cgroup.conf" 644 "$CGROUP_CONF_TEXT"
  write_file_if_changed "$ETC/slurmdbd.conf" 600 "$SLURMDBD_CONF_TEXT"
}

# --------------------------------------------------------------------------------------------
# components
mysql_admin() { mysql --protocol=TCP -h "$MYSQL_HOST" -P "$MYSQL_PORT" -uroot "$@"; }

ensure_database() {
  poll "MariaDB at $MYSQL_HOST:$MYSQL_PORT" 30 mysql_admin -e 'SELECT 1' ||
    die "MariaDB is not reachable at $MYSQL_HOST:$MYSQL_PORT as root without password"
  # The marker lives beside the controller's state: a new state dir means job ids start at 1
  # again, so old job records (and accounts) in the database would be confusing.
  if [ ! -e "$SPOOL/ctld/.concentra-db" ] && [ -z "$KEEP_DB" ] && ! is_running slurmdbd; then
    if [ -n "$(mysql_admin -N -e "SHOW DATABASES LIKE '$DB_NAME'")" ]; then
      mysql_admin -e "DROP DATABASE \`$DB_NAME\`"
      log "new state dir: dropped the old accounting database $DB_NAME (CONCENTRA_SLURM_KEEP_DB=1 keeps it)"
    fi
  fi
  mysql_admin <<SQL
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\`;
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'127.0.0.1';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'localhost';
SQL
}

munge_ok() { munge -n -S "$MUNGE_SOCK" 2>/dev/null | unmunge -S "$MUNGE_SOCK" >/dev/null 2>&1; }

start_munge() {
  if is_running munged && munge_ok; then log "munged already running (pid $(pid_of munged))"; return 0; fi
  stop_daemon munged
  mkdir -p "$(dirname "$MUNGE_SOCK")"
  chmod 711 "$MUNGE_DIR"   # munged wants the socket dir searchable by all; the key stays 0400
  if [ ! -s "$MUNGE_DIR/munge.key" ]; then
    mungekey --create --keyfile="$MUNGE_DIR/munge.key" --force
    log "created munge key $MUNGE_DIR/munge.key"
  fi
  chmod 400 "$MUNGE_DIR/munge.key"
  rm -f "$MUNGE_SOCK" "$MUNGE_SOCK.lock"
  munged --key-file="$MUNGE_DIR/munge.key" --socket="$MUNGE_SOCK" \
    --pid-file="$RUN/munged.pid" --log-file="$LOG/munged.log" \
    --seed-file="$MUNGE_DIR/munged.seed" --num-threads=4 >>"$LOG/munged.log" 2>&1 </dev/null 9>&- ||
    { tail -n 20 "$LOG/munged.log" >&2; die "munged failed to start"; }
  poll "munged to answer on $MUNGE_SOCK" "$WAIT" munge_ok || die "munged does not answer (see $LOG/munged.log)"
  log "started munged (pid $(pid_of munged), socket $MUNGE_SOCK)"
}

sacctmgr_ok() { timeout 20 sacctmgr -n -P show cluster format=cluster; }

start_slurmdbd() {
  if is_running slurmdbd && sacctmgr_ok >/dev/null 2>&1; then
    log "slurmdbd already running (pid $(pid_of slurmdbd))"; return 0
  fi
  stop_daemon slurmdbd
  port_in_use "$DBD_PORT" && die "port $DBD_PORT (slurmdbd) is taken by another process; set CONCENTRA_SLURM_PORT_BASE"
  slurmdbd >>"$LOG/slurmdbd.stdout" 2>&1 </dev/null 9>&- || { tail -n 20 "$LOG/slurmdbd.log" >&2; die "slurmdbd failed to start"; }
  poll "slurmdbd to answer sacctmgr on port $DBD_PORT" "$WAIT" sacctmgr_ok ||
    { tail -n 20 "$LOG/slurmdbd.log" >&2; die "slurmdbd does not answer (see $LOG/slurmdbd.log)"; }
  log "started slurmdbd (pid $(pid_of slurmdbd), port $DBD_PORT, database $DB_NAME)"
}

ensure_cluster() {
  if sacctmgr_ok 2>/dev/null | grep -qxF "$CLUSTER"; then return 0; fi
  sacctmgr -i add cluster "$CLUSTER" >/dev/null
  log "registered cluster $CLUSTER in slurmdbd"
}
mark_db() { printf '%s\n' "$DB_NAME" > "$SPOOL/ctld/.concentra-db"; }

ctld_ok() { timeout 20 scontrol ping 2>/dev/null | grep -q 'is UP'; }
node_state() { timeout 20 sinfo -h -N -n "$NODE" -o '%T' 2>/dev/null | head -n1; }
node_reason() { timeout 20 sinfo -h -N -n "$NODE" -o '%E' 2>/dev/null | head -n1; }
# ready = usable; a node left drained/down by an earlier run (saved controller state) is resumed
node_ready() {
  case "$(node_state)" in
    idle|mixed|allocated|completing) return 0 ;;
    drain*|down*|inval*|fail*)
      timeout 20 scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
      return 1 ;;
    *) return 1 ;;
  esac
}
# the controller has registered with slurmdbd (ControlPort set), so sacctmgr changes reach it
ctld_registered() {
  [ "$(timeout 20 sacctmgr -n -P show cluster "$CLUSTER" format=controlport 2>/dev/null)" = "$CTLD_PORT" ]
}

start_slurmctld() {
  if is_running slurmctld && ctld_ok; then log "slurmctld already running (pid $(pid_of slurmctld))"; return 0; fi
  stop_daemon slurmctld
  port_in_use "$CTLD_PORT" && die "port $CTLD_PORT (slurmctld) is taken by another process; set CONCENTRA_SLURM_PORT_BASE"
  slurmctld -f "$CONF" >>"$LOG/slurmctld.stdout" 2>&1 </dev/null 9>&- || { tail -n 20 "$LOG/slurmctld.log" >&2; die "slurmctld failed to start"; }
  poll "slurmctld to answer on port $CTLD_PORT" "$WAIT" ctld_ok ||
    { tail -n 20 "$LOG/slurmctld.log" >&2; die "slurmctld does not answer (see $LOG/slurmctld.log)"; }
  log "started slurmctld (pid $(pid_of slurmctld), port $CTLD_PORT)"
}

start_slurmd() {
  if is_running slurmd; then log "slurmd already running (pid $(pid_of slurmd))"; return 0; fi
  port_in_use "$SLURMD_PORT" && die "port $SLURMD_PORT (slurmd) is taken by another process; set CONCENTRA_SLURM_PORT_BASE"
  slurmd -f "$CONF" -N "$NODE" >>"$LOG/slurmd.stdout" 2>&1 </dev/null 9>&- || { tail -n 20 "$LOG/slurmd.log" >&2; die "slurmd failed to start"; }
  poll "slurmd pid file" "$WAIT" is_running slurmd || { tail -n 20 "$LOG/slurmd.log" >&2; die "slurmd did not stay up (see $LOG/slurmd.log)"; }
  log "started slurmd (pid $(pid_of slurmd), node $NODE, port $SLURMD_PORT)"
}

# --------------------------------------------------------------------------------------------
cmd_start() {
  need_root
  local t0=$SECONDS
  mkdir -p "$ETC" "$RUN" "$LOG" "$SPOOL/ctld" "$SLURMD_SPOOL" "$MUNGE_DIR"
  [ -z "$SOCK_DIR" ] || chmod 711 "$SOCK_DIR"
  chmod 755 "$D"
  exec 9>"$D/.lock"
  flock -w 600 9 || die "another slurm.sh holds $D/.lock"

  ensure_packages
  write_configs
  if [ -n "$CONFIG_CHANGED" ] && { is_running slurmctld || is_running slurmd || is_running slurmdbd; }; then
    log "configuration changed: restarting Slurm daemons"
    stop_slurm_daemons
  fi
  preflight_ports
  ensure_database
  start_munge
  start_slurmdbd
  ensure_cluster
  mark_db
  start_slurmctld
  start_slurmd
  poll "node $NODE to be idle (sinfo)" "$WAIT" node_ready ||
    { tail -n 20 "$LOG/slurmd.log" >&2
      die "node $NODE is not idle: state '$(node_state)', reason '$(node_reason)' (see $LOG/slurmd.log, $LOG/slurmctld.log)"; }
  poll "slurmctld to register with slurmdbd" "$WAIT" ctld_registered ||
    die "slurmctld did not register with slurmdbd (see $LOG/slurmctld.log)"
  log "ready in $((SECONDS - t0))s: cluster $CLUSTER, node $NODE ($CPUS CPUs, gpu:$GPU_TYPE:$GPUS), ports ctld=$CTLD_PORT slurmd=$SLURMD_PORT dbd=$DBD_PORT"
  log "state dir $D; clients need: export SLURM_CONF=$CONF   (or: eval \"\$($0 env)\")"
}

no_active_jobs() { [ -z "$(timeout 20 squeue -h -t R,CG,S -o %i 2>/dev/null)" ]; }

stop_slurm_daemons() {
  if is_running slurmctld; then
    # cancel whatever still runs so that no job processes outlive the node
    if [ -n "$(timeout 20 squeue -h -o %i 2>/dev/null)" ]; then
      log "cancelling remaining jobs"
      # shellcheck disable=SC2046
      timeout 20 scancel $(timeout 20 squeue -h -o %i 2>/dev/null) >/dev/null 2>&1 || true
      poll "jobs to end" 30 no_active_jobs || true
    fi
  fi
  stop_daemon slurmd
  local p
  for p in $(our_stepds); do kill -KILL "$p" 2>/dev/null || true; log "killed leftover slurmstepd $p"; done
  stop_daemon slurmctld
  stop_daemon slurmdbd
}

cmd_stop() {
  need_root
  [ -d "$D" ] || { log "nothing to stop ($D does not exist)"; return 0; }
  mkdir -p "$RUN"
  exec 9>"$D/.lock"
  flock -w 600 9 || die "another slurm.sh holds $D/.lock"
  stop_slurm_daemons
  stop_daemon munged
  log "stopped"
}

cmd_reset() {
  need_root
  cmd_stop
  if mysql_admin -e 'SELECT 1' >/dev/null 2>&1; then
    mysql_admin -e "DROP DATABASE IF EXISTS \`$DB_NAME\`"
    log "dropped database $DB_NAME"
  fi
  rm -rf "$D"
  [ -z "$SOCK_DIR" ] || rm -rf "$SOCK_DIR"
  log "removed $D"
}

cmd_status() {
  local rc=0 name pid
  for name in munged slurmdbd slurmctld slurmd; do
    if pid="$(pid_of "$name")"; then
      printf '%-10s running (pid %s)\n' "$name" "$pid"
    else
      printf '%-10s stopped\n' "$name"; rc=1
    fi
  done
  if [ "$rc" -eq 0 ]; then
    printf 'node       %s: %s\n' "$NODE" "$(node_state || true)"
    printf 'cluster    %s (ctld %s, slurmd %s, dbd %s), state dir %s\n' "$CLUSTER" "$CTLD_PORT" "$SLURMD_PORT" "$DBD_PORT" "$D"
  fi
  return "$rc"
}

cmd_env() {
  printf 'export SLURM_CONF=%q\n' "$CONF"
  printf 'export CONCENTRA_SLURM_DIR=%q\n' "$D"
  printf 'export CONCENTRA_SLURM_CLUSTER=%q\n' "$CLUSTER"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  restart) cmd_stop; cmd_start ;;
  reset) cmd_reset ;;
  *) echo "usage: $0 start|stop|status|env|restart|reset" >&2; exit 2 ;;
esac
