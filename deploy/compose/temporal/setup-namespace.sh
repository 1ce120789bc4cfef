#!/bin/sh
# One-shot (temporalio/admin-tools): creates the Concentra namespace and registers the custom
# search attributes its workflows set. Idempotent: existing ones are left alone.
# The same commands, run by hand against any cluster, are in deploy/README.md.
set -eu

ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-concentra}"
RETENTION="${TEMPORAL_NAMESPACE_RETENTION:-30d}"

HOST="${ADDRESS%:*}"; PORT="${ADDRESS##*:}"
# Use the IPv4 address: the CLI may otherwise try an IPv6 address the server does not bind.
IP="$(getent ahostsv4 "$HOST" | awk 'NR == 1 { print $1 }')"
ADDRESS="${IP:-$HOST}:${PORT}"

i=0
until temporal operator cluster health --address "$ADDRESS" >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -lt 60 ] || { echo "Temporal at $ADDRESS is not serving" >&2; exit 1; }
  echo "waiting for Temporal at $ADDRESS"; sleep 2
done

if temporal operator namespace describe --address "$ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; then
  echo "namespace $NAMESPACE exists"
else
  temporal operator namespace create --address "$ADDRESS" --namespace "$NAMESPACE" --retention "$RETENTION" \
    --description "Concentra program cycles"
  echo "namespace $NAMESPACE created (retention $RETENTION)"
fi

# A new namespace takes a few seconds to reach every frontend's namespace cache.
i=0
until temporal operator search-attribute list --address "$ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -lt 30 ] || { echo "namespace $NAMESPACE not visible" >&2; exit 1; }
  sleep 2
done

# name:type pairs; the workflows set these on every cycle and grant.
for pair in ConcentraProgram:Keyword ConcentraYear:Int ConcentraStage:Keyword; do
  name="${pair%%:*}"; type="${pair##*:}"
  if temporal operator search-attribute list --address "$ADDRESS" --namespace "$NAMESPACE" | grep -qw "$name"; then
    echo "search attribute $name exists"
  else
    temporal operator search-attribute create --address "$ADDRESS" --namespace "$NAMESPACE" \
      --name "$name" --type "$type"
    echo "search attribute $name ($type) created"
  fi
done
