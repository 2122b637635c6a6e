#!/usr/bin/env bash
# Prowler parity run and benchmark (issue #4). Called by `./x parity`, which
# builds the agent and the check packs first; it can also be run on its own.
#
#   1. start a moto server on a free 127.0.0.1 port (stopped on exit);
#   2. seed a varied EC2/VPC estate into it (seed.py);
#   3. run Prowler (`aws -f REGION -s ec2 vpc`, default options) against it;
#   4. run the Citadel agent (`scan --once --json --no-push`) against it, then
#      time `prepare` (compiling the packs ahead of a first scan) on its own;
#   5. compare (check id, resource uid, status) on the checks both implement
#      (compare.py), print a table and wall time / peak RSS of both.
#
# Exit status: 0 when every difference is listed in parity/DIFFERENCES.md,
# 1 when one is not, 2 when a step could not run.
#
# Environment:
#   CARGO_TARGET_DIR         where the agent and packs were built (default ./target)
#   CITADEL_PROWLER_VENV     Prowler's virtualenv, created if missing
#                            (default $HOME/.cache/citadel/prowler-venv)
#   CITADEL_PYTHON           interpreter with moto[server] and boto3 (default python3)
#   PARITY_OUT               output directory (default parity/out, gitignored)
#   PARITY_REGION            region to seed and scan (default us-east-1)
#   PARITY_AGENT_RUNS        agent scans to time; the first is compared (default 3)
#   PARITY_AGENT_PROFILE     release|debug (default: release if built, else debug)
#   PARITY_MAX_ATTEMPTS      AWS call attempts for both scanners (default: each one's
#                            default, 3 for both; Prowler --aws-retries-max-attempts,
#                            agent AWS_MAX_ATTEMPTS)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="${CITADEL_PROWLER_VENV:-$HOME/.cache/citadel/prowler-venv}"
python="${CITADEL_PYTHON:-python3}"
out="${PARITY_OUT:-$here/out}"
region="${PARITY_REGION:-us-east-1}"
agent_runs="${PARITY_AGENT_RUNS:-3}"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'parity: %s\n' "$*" >&2; exit 2; }

case "${1:-}" in
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) die "unexpected argument '$1': settings are environment variables (see --help)" ;;
esac

# ---------------------------------------------------------------- tools
# GNU time gives wall time and peak RSS of a whole command in one line.
if [ ! -x /usr/bin/time ]; then
    if command -v apt-get >/dev/null; then
        say "Installing GNU time (Debian package 'time')"
        { apt-get install -y -qq time || { apt-get update -qq && apt-get install -y -qq time; }; } >/dev/null ||
            die "cannot install GNU time"
    else
        die "GNU time (/usr/bin/time) is needed for the benchmark"
    fi
fi
timed() { # timed FILE CMD...: run CMD, write '%e %M %U %S' to FILE
    # (wall seconds, peak RSS KiB, user and system CPU seconds: CPU time is the
    # steadier number when other work shares the machine)
    local file="$1"
    shift
    /usr/bin/time -f '%e %M %U %S' -o "$file" "$@"
}

"$python" -c 'import moto.server, boto3, cryptography' 2>/dev/null ||
    die "$python lacks moto[server]/boto3 (run ./x setup)"

if [ ! -x "$venv/bin/prowler" ]; then
    # Prowler pulls in every cloud SDK; its own venv keeps that out of everything else.
    say "Installing Prowler into $venv (takes ~10 minutes the first time)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet prowler
fi

profile="${PARITY_AGENT_PROFILE:-}"
if [ -z "$profile" ]; then
    if [ -x "$target/release/citadel-agent" ]; then profile=release; else profile=debug; fi
fi
agent_bin="$target/$profile/citadel-agent"
packs_dir="$target/wasm32-wasip2/plugin"
[ -x "$agent_bin" ] || die "$agent_bin is missing (./x parity builds it)"
# Every shipped check pack that has been built (a new pack joins the run once
# `./x parity` builds it too); the test-only packs are named otherwise.
packs=()
for p in "$packs_dir"/citadel_pack_*.wasm; do
    [ -f "$p" ] && packs+=("$(basename "$p")")
done
[ "${#packs[@]}" -gt 0 ] || die "no check packs in $packs_dir (./x parity builds them)"

# ---------------------------------------------------------------- moto
# Start from an empty output directory, but only ever delete one this script made.
if [ -e "$out" ] && [ ! -e "$out/.parity-out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ]; then
    die "$out exists and was not written by the parity run; choose another PARITY_OUT"
fi
rm -rf "$out"
mkdir -p "$out"
touch "$out/.parity-out"
port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
endpoint="http://127.0.0.1:$port"
# moto's default image catalogue registers ~1,100 Amazon AMIs per region, each
# with a snapshot that DescribeSnapshots returns even for OwnerIds=self (moto
# ignores the owner filter). No real account sees those, and they turned the
# public-snapshot check into ~1,200 DescribeSnapshotAttribute calls for both
# scanners. amazon-amis.json keeps four of moto's Amazon AMIs (two HVM, two
# paravirtual: what seed.py launches from), so the estate is what seed.py made.
# moto_server.py is moto plus the EC2 account-settings and Client VPN calls it
# lacks (HTTP 500 otherwise: four checks without a comparison, and seconds of
# retry backoff in both scanners' wall times).
MOTO_AMIS_PATH="$here/amazon-amis.json" \
    "$python" "$here/moto_server.py" -H 127.0.0.1 -p "$port" >"$out/moto.log" 2>&1 &
moto_pid=$!
cleanup() { kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM
for _ in $(seq 1 100); do
    # Our server must be the one answering: a port grabbed by someone else's
    # moto in between would silently take our seed data (running.md).
    kill -0 "$moto_pid" 2>/dev/null || die "moto exited (port $port taken?); see $out/moto.log"
    if "$python" -c "import urllib.request; urllib.request.urlopen('$endpoint/moto-api/data.json', timeout=1)" 2>/dev/null; then
        break
    fi
    sleep 0.2
done
say "moto on $endpoint (pid $moto_pid)"

say "Seeding $region"
"$python" "$here/seed.py" --endpoint "$endpoint" --region "$region" --manifest "$out/estate.json"

# Both scanners see the same fake credentials and nothing from the caller's AWS set-up.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION="$region"
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_MAX_ATTEMPTS
prowler_retry=()
if [ -n "${PARITY_MAX_ATTEMPTS:-}" ]; then
    export AWS_MAX_ATTEMPTS="$PARITY_MAX_ATTEMPTS"
    prowler_retry=(--aws-retries-max-attempts "$PARITY_MAX_ATTEMPTS")
    say "AWS call attempts: $PARITY_MAX_ATTEMPTS for both scanners"
fi

# ---------------------------------------------------------------- agent set-up
say "Citadel agent ($profile build): $agent_bin with ${packs[*]}"
agent_dir="$out/agent"
mkdir -p "$agent_dir/plugins"
# Sign the packs with a throwaway publisher key, as a vendor would, and trust
# only that key: the agent loads exactly these packs.
"$agent_bin" plugin keygen --out "$agent_dir/publisher" --name parity >/dev/null
publisher_key="$(cat "$agent_dir/publisher.pub")"
inspect_files=()
for p in "${packs[@]}"; do
    cp "$packs_dir/$p" "$agent_dir/plugins/$p"
    "$agent_bin" plugin sign "$agent_dir/plugins/$p" --key "$agent_dir/publisher.key" --publisher parity >/dev/null
    "$agent_bin" plugin inspect --json "$agent_dir/plugins/$p" >"$agent_dir/${p%.wasm}.inspect.json"
    inspect_files+=("$agent_dir/${p%.wasm}.inspect.json")
done
# A pack built from newer sources than the agent may read inventory kinds this
# agent does not discover; its checks would then see nothing, and the parity
# numbers would be about the build, not the checks.
skew="$("$python" -c '
import json, sys
for path in sys.argv[1:]:
    d = json.load(open(path))
    if d["unknown_kinds"]:
        print("  %s reads %s" % (d["name"], ", ".join(d["unknown_kinds"])))
' "${inspect_files[@]}")"
[ -z "$skew" ] || die "$agent_bin does not discover what the packs read (rebuild it with the packs, as ./x parity does):
$skew"
cat >"$agent_dir/agent.toml" <<EOF
plugins_dir = "plugins"
state_dir = "state"

[[integration]]
name = "parity"
regions = ["$region"]
endpoint = "$endpoint"

[[trusted_publisher]]
name = "parity"
key = "$publisher_key"
EOF
"$python" "$here/identity.py" "$agent_dir/state"

# ---------------------------------------------------------------- Prowler
# (from the package metadata: `prowler --version` takes seconds to start)
prowler_version="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("prowler"))' 2>/dev/null || echo unknown)"
say "Prowler $prowler_version: -f $region -s ec2 vpc"
# The checks `-s ec2 vpc` runs: one <id>.metadata.json per check in the package.
# (Reading them is instant; `prowler --list-checks-json` takes half a minute.)
find "$venv"/lib/python3*/site-packages/prowler/providers/aws/services/ec2 \
    "$venv"/lib/python3*/site-packages/prowler/providers/aws/services/vpc \
    -name '*.metadata.json' -printf '%f\n' | sed 's/\.metadata\.json$//' | sort >"$out/prowler-checks.txt"
[ -s "$out/prowler-checks.txt" ] || die "no Prowler check metadata under $venv"
# Prowler has no endpoint flag; botocore (and Prowler's own STS client) honour
# AWS_ENDPOINT_URL. -f keeps it to one region: without it Prowler would create
# clients for every region, all pointing at the same moto. Exit 3 only means
# "there are FAIL findings".
set +e
AWS_ENDPOINT_URL="$endpoint" timed "$out/prowler.time" \
    "$venv/bin/prowler" aws -f "$region" -s ec2 vpc "${prowler_retry[@]}" \
    --output-formats json-ocsf -o "$out/prowler" -F prowler \
    --no-banner --log-level ERROR --log-file "$out/prowler-errors.log" \
    >"$out/prowler.log" 2>&1
rc=$?
set -e
[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || die "Prowler failed (exit $rc); see $out/prowler.log"
[ -s "$out/prowler/prowler.ocsf.json" ] || die "Prowler wrote no $out/prowler/prowler.ocsf.json"

# ---------------------------------------------------------------- agent scans
agent_times=()
for n in $(seq 1 "$agent_runs"); do
    # --no-push: no collector here; the batch is still built, signed and spooled.
    timed "$out/agent-$n.time" \
        "$agent_bin" --config "$agent_dir/agent.toml" scan --once --json --no-push \
        --output "$out/agent-$n.cose" >"$out/agent-$n.json" 2>"$out/agent-$n.log" ||
        die "agent scan $n failed; see $out/agent-$n.log"
    agent_times+=("$out/agent-$n.time")
done

# The first scan above compiled the packs; `prepare` does that ahead of time
# (after installing packs). Timed on an empty cache, after the scans.
rm -rf "$agent_dir/state/plugin-cache"
timed "$out/agent-prepare.time" \
    "$agent_bin" --config "$agent_dir/agent.toml" prepare >"$out/agent-prepare.log" 2>&1 ||
    die "agent prepare failed; see $out/agent-prepare.log"

# ---------------------------------------------------------------- compare
say "Comparing"
moto_version="$("$python" -c 'import moto; print(moto.__version__)')"
set +e
"$python" "$here/compare.py" \
    --prowler-ocsf "$out/prowler/prowler.ocsf.json" \
    --prowler-checks "$out/prowler-checks.txt" \
    --citadel-report "$out/agent-1.json" \
    --citadel-checks "${inspect_files[@]}" \
    --manifest "$out/estate.json" \
    --differences "$here/DIFFERENCES.md" \
    --prowler-time "$out/prowler.time" \
    --agent-time "${agent_times[@]}" \
    --agent-prepare-time "$out/agent-prepare.time" \
    --agent-profile "$profile" \
    --versions "prowler $prowler_version; moto $moto_version; agent $profile" \
    --out "$out/report.json"
rc=$?
set -e
exit "$rc"
