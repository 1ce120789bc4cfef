#!/usr/bin/env bash
# Smoke test / live demonstration of what Concentra needs from Slurm, against the cluster that
# tools/slurm/slurm.sh started: an account with GPU limits, a QOS throttle, a GPU job, its usage
# in accounting, an over-limit job, removal. Prints every command and its real output; exits
# non-zero on the first surprise. Usage: tools/slurm/smoke.sh [account-name]   (default grant_demo)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
eval "$("$SCRIPT_DIR/slurm.sh" env)"
ACCT="${1:-grant_demo}"
QOS="${ACCT}_throttle"
CLUSTER="$CONCENTRA_SLURM_CLUSTER"
SINCE="2000-01-01T00:00:00" # sacct's default window starts at midnight today: always pass -S

run() { printf '$ %s\n' "$*"; "$@"; }
fail() { printf 'SMOKE FAILED: %s\n' "$*" >&2; exit 1; }
# poll DESCRIPTION SECONDS CMD... : retry every 0.1 s until CMD succeeds
poll() {
  local what="$1" limit="$2"; shift 2
  local t0; t0="$(date +%s.%N)"
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${limit}s waiting for $what"
    sleep 0.1
  done
  awk -v a="$t0" -v b="$(date +%s.%N)" -v w="$what" 'BEGIN { printf "# waited %.2fs for %s\n", b - a, w }'
}
job_state() { squeue -h -j "$1" -o '%T|%r' 2>/dev/null; }
acct_terminal() { # job id: accounting has the job in a final state
  sacct -j "$1" -X -P -n --format=State 2>/dev/null | grep -qE '^(COMPLETED|FAILED|CANCELLED|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL|PREEMPTED|BOOT_FAIL|DEADLINE)'
}
pending_with() { job_state "$1" | grep -qx "PENDING|$2"; }
gpu_seconds() { # reads sacct -P lines JobID|AllocTRES|ElapsedRaw|State, prints GPU-seconds per job and total
  awk -F'|' '{ n = 0; k = split($2, t, ","); for (i = 1; i <= k; i++) { split(t[i], kv, "="); if (kv[1] == "gres/gpu") n = kv[2] }
              printf "job %s: %d GPU x %d s = %d GPU-seconds (%s)\n", $1, n, $3, n * $3, $4; total += n * $3 }
         END { printf "total: %d GPU-seconds = %.2f GPU-minutes\n", total, total / 60 }'
}

# clean slate for this account (a previous run may have failed half-way)
if [ -n "$(sacctmgr -n -P show account "$ACCT" format=account)" ]; then
  for j in $(squeue -h -A "$ACCT" -o %i); do scancel "$j"; done
  poll "old jobs of $ACCT to end" 60 bash -c "[ -z \"\$(squeue -h -A $ACCT -o %i)\" ]"
  sacctmgr -i delete user root account="$ACCT" >/dev/null || true
  sacctmgr -i delete account "$ACCT" >/dev/null
fi
[ -z "$(sacctmgr -n -P show qos "$QOS" format=name)" ] || sacctmgr -i delete qos "$QOS" >/dev/null

echo "## 1. account with GPU limits"
run sacctmgr -i add account "$ACCT" Cluster="$CLUSTER" Description="Concentra demo grant" Organization=concentra
run sacctmgr -i add user root Account="$ACCT" Cluster="$CLUSTER"
run sacctmgr -i modify account where name="$ACCT" cluster="$CLUSTER" set GrpTRES=gres/gpu=4 GrpTRESMins=gres/gpu=600
run sacctmgr -P -n show assoc where account="$ACCT" format=Cluster,Account,User,GrpTRES,GrpTRESMins,QOS,DefaultQOS
[ "$(sacctmgr -P -n show assoc where account="$ACCT" user= format=GrpTRES,GrpTRESMins)" = "gres/gpu=4|gres/gpu=600" ] ||
  fail "limits not shown as set"

echo "## 2. modify the limit"
run sacctmgr -i modify account where name="$ACCT" cluster="$CLUSTER" set GrpTRES=gres/gpu=2
run sacctmgr -P -n show assoc where account="$ACCT" user= format=Account,GrpTRES,GrpTRESMins
[ "$(sacctmgr -P -n show assoc where account="$ACCT" user= format=GrpTRES)" = "gres/gpu=2" ] || fail "modify not shown"
# the controller got the change from slurmdbd (no restart needed)
printf '$ %s\n' "scontrol show assoc_mgr accounts=$ACCT flags=assoc | grep -m1 -o 'GrpTRES=.*gres/gpu=[^,]*'"
scontrol show assoc_mgr accounts="$ACCT" flags=assoc | grep -m1 -o 'GrpTRES=.*gres/gpu=[^,]*'
scontrol show assoc_mgr accounts="$ACCT" flags=assoc | grep -m1 -q 'gres/gpu=2(' || fail "controller did not get the new limit"
run sacctmgr -i modify account where name="$ACCT" cluster="$CLUSTER" set GrpTRES=gres/gpu=4

echo "## 3. a GPU job under the account, and its usage in accounting"
run srun -A "$ACCT" --gres=gpu:1 -t 1 true
# shellcheck disable=SC2016
JOB1="$(sbatch --parsable -A "$ACCT" --gres=gpu:2 -t 1 -o /dev/null --wrap 'echo $CUDA_VISIBLE_DEVICES; sleep 3')"
echo "$ sbatch --parsable -A $ACCT --gres=gpu:2 -t 1 -o /dev/null --wrap 'sleep 3'"
echo "$JOB1"
poll "job $JOB1 to finish in accounting (sacct)" 60 acct_terminal "$JOB1"
run sacct -A "$ACCT" -X -P -n -S "$SINCE" --format=JobID,AllocTRES,ElapsedRaw,State
echo "$ sacct -A $ACCT -X -P -n -S $SINCE --format=JobID,AllocTRES,ElapsedRaw,State | <GPU-seconds>"
sacct -A "$ACCT" -X -P -n -S "$SINCE" --format=JobID,AllocTRES,ElapsedRaw,State | gpu_seconds
[ "$(sacct -j "$JOB1" -X -P -n --format=State)" = COMPLETED ] || fail "job $JOB1 did not complete"
sacct -j "$JOB1" -X -P -n --format=AllocTRES | grep -q 'gres/gpu=2' || fail "job $JOB1 has no gres/gpu=2 in AllocTRES"

echo "## 4. more GPUs than GrpTRES allows: accepted, stays PENDING"
JOB2="$(sbatch --parsable -A "$ACCT" --gres=gpu:5 -t 1 -o /dev/null --wrap 'sleep 1')"
echo "$ sbatch --parsable -A $ACCT --gres=gpu:5 -t 1 -o /dev/null --wrap 'sleep 1'"
echo "$JOB2"
poll "job $JOB2 to be PENDING with reason AssocGrpGRES" 30 pending_with "$JOB2" AssocGrpGRES
run squeue -h -j "$JOB2" -o '%i|%T|%r|%b'
run scancel "$JOB2"

echo "## 5. a QOS as a throttle"
run sacctmgr -i add qos "$QOS" GrpTRES=gres/gpu=2
run sacctmgr -i modify account where name="$ACCT" cluster="$CLUSTER" set QOS=normal,"$QOS" DefaultQOS="$QOS"
run sacctmgr -P -n show qos "$QOS" format=Name,GrpTRES,MaxTRESPerJob,Flags
run sacctmgr -P -n show assoc where account="$ACCT" format=Account,User,GrpTRES,QOS,DefaultQOS
JOB3="$(sbatch --parsable -A "$ACCT" --gres=gpu:3 -t 1 -o /dev/null --wrap 'sleep 1')"
echo "$ sbatch --parsable -A $ACCT --gres=gpu:3 -t 1 -o /dev/null --wrap 'sleep 1'"
echo "$JOB3"
poll "job $JOB3 to be PENDING with reason QOSGrpGRES" 30 pending_with "$JOB3" QOSGrpGRES
run squeue -h -j "$JOB3" -o '%i|%T|%r|%q|%b'
run scancel "$JOB3"
# with DenyOnLimit the same request is refused at submission
run sacctmgr -i modify qos "$QOS" set Flags=DenyOnLimit
printf '$ %s\n' "sbatch -A $ACCT --gres=gpu:3 -t 1 --wrap 'sleep 1'"
if sbatch -A "$ACCT" --gres=gpu:3 -t 1 -o /dev/null --wrap 'sleep 1' 2>&1; then fail "DenyOnLimit did not refuse"; else echo "(exit $?)"; fi
# throttle to zero: nothing new starts under this QOS
run sacctmgr -i modify qos "$QOS" set GrpTRES=gres/gpu=0 Flags=-1
JOB4="$(sbatch --parsable -A "$ACCT" --gres=gpu:1 -t 1 -o /dev/null --wrap 'sleep 1')"
poll "job $JOB4 to be PENDING with reason QOSGrpGRES" 30 pending_with "$JOB4" QOSGrpGRES
run squeue -h -j "$JOB4" -o '%i|%T|%r|%q|%b'
run scancel "$JOB4"

echo "## 6. removal (refused while accounting knows of an active job of the account)"
run sacctmgr -i modify qos "$QOS" set GrpTRES=gres/gpu=2
JOB5="$(sbatch --parsable -A "$ACCT" --gres=gpu:1 -t 1 -o /dev/null --wrap 'sleep 60')"
echo "$ sbatch --parsable -A $ACCT --gres=gpu:1 -t 1 -o /dev/null --wrap 'sleep 60'"
echo "$JOB5"
poll "job $JOB5 to be RUNNING in accounting" 30 bash -c "sacct -j $JOB5 -X -P -n --format=State | grep -qx RUNNING"
printf '$ %s\n' "sacctmgr -i delete account $ACCT"
if sacctmgr -i delete account "$ACCT" 2>&1; then fail "account with a running job was deleted"; else echo "(exit $?)"; fi
run scancel -A "$ACCT"
poll "jobs of $ACCT to leave the queue" 60 bash -c "[ -z \"\$(squeue -h -A $ACCT -t PD,R,CG -o %i)\" ]"
run sacctmgr -i delete user root account="$ACCT"
run sacctmgr -i delete account "$ACCT"
run sacctmgr -i delete qos "$QOS"
[ -z "$(sacctmgr -n -P show account "$ACCT" format=account)" ] || fail "account still there"
echo "# job history stays in accounting after the account is gone:"
run sacct -A "$ACCT" -X -P -n -S "$SINCE" --format=JobID,Account,QOS,AllocTRES,ElapsedRaw,State
echo "SMOKE OK"
