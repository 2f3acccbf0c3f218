#!/bin/sh
# havip-notify.sh: keepalived notify script for havip-failover (POSIX sh + curl).
#
# When this node's VRRP instance becomes MASTER after a real stretch as BACKUP, the peer it
# was hearing has stopped: tell the havip-failover function (its HTTP trigger) that the peer
# failed, so the function takes the peer off the HAVIP and the VPC sends the VIP here.
#
# Usage:
#   havip-notify.sh [--config FILE] [--dry-run] INSTANCE|GROUP NAME STATE [PRIORITY]
#       keepalived's `notify` (every state change; BACKUP is recorded, MASTER may fence)
#   havip-notify.sh [--config FILE] [--dry-run] MASTER|BACKUP|FAULT|STOP
#       the same, from notify_master "... MASTER" and friends
#   havip-notify.sh [--config FILE] [--dry-run] fence
#       send the event now (by hand, tests): no state check
#
# Settings: FILE (default /etc/keepalived/havip-notify.conf, or $HAVIP_NOTIFY_CONFIG), lines
# KEY=VALUE; the script refuses a file that group or others can read or write (chmod 600).
# Dry run (--dry-run, HAVIP_NOTIFY_DRY_RUN=1 or the config key): the same event with
# "dryRun": true -- the function decides and reports, and never calls UnassociateHaVip.
#
# The token never appears on a command line, in a log line or in syslog: curl reads the URL,
# the header and the body from its standard input (--config -).
#
# Exit status: 0 done (or nothing to do), 1 refused by the function (4xx), 2 bad usage or
# configuration, 3 gave up (no 2xx before the deadline).

set -u
umask 077

PROG=havip-notify
CONFIG=${HAVIP_NOTIFY_CONFIG:-/etc/keepalived/havip-notify.conf}
DRY_RUN=${HAVIP_NOTIFY_DRY_RUN:-0}
CURL=${HAVIP_NOTIFY_CURL:-curl}

URL=
TOKEN=
HAVIP_ID=
PEER=
REGION=
TIMEOUT=10          # s, one attempt (the function answers an HTTP trigger within 4 s)
CONNECT_TIMEOUT=3   # s
DEADLINE=60         # s, all attempts together
MIN_BACKUP=10       # s as BACKUP before a MASTER transition may fence (see README)
STATE_DIR=/run/havip-notify
TMP_FILES=

log() {
    # $1: syslog level; the rest: the message. Never pass the token here.
    level=$1
    shift
    logger -t "$PROG" -p "daemon.$level" -- "$*" 2>/dev/null || :
    printf '%s: %s\n' "$PROG" "$*" >&2
}

die() {
    status=$1
    shift
    log err "$*"
    exit "$status"
}

usage() {
    sed -n '8,15p' "$0" 2>/dev/null | sed 's/^# \{0,1\}//' >&2
}

cleanup() {
    for f in $TMP_FILES; do rm -f -- "$f"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tmpfile() {
    f=$(mktemp "${TMPDIR:-/tmp}/havip-notify.XXXXXX" 2>/dev/null) || {
        f="${TMPDIR:-/tmp}/havip-notify.$$.$1"
        : >"$f" || die 2 "cannot create a temporary file in ${TMPDIR:-/tmp}"
    }
    TMP_FILES="$TMP_FILES $f"
    printf '%s' "$f"
}

is_uint() {
    case $1 in '' | *[!0-9]*) return 1 ;; *) return 0 ;; esac
}

is_true() {
    case $1 in 1 | true | TRUE | True | yes | YES | on | ON) return 0 ;; *) return 1 ;; esac
}

safe() {
    # a value for a log line or a JSON string: only [A-Za-z0-9._@:-], at most 60 characters
    printf '%s' "$1" | tr -c 'A-Za-z0-9._@:-' '_' | cut -c1-60
}

# ---------------------------------------------------------------------------- settings

check_permissions() {
    [ -f "$CONFIG" ] || die 2 "config $CONFIG: no such file"
    [ -r "$CONFIG" ] || die 2 "config $CONFIG: not readable"
    # shellcheck disable=SC2012  # ls -ln is the POSIX way to read a mode
    listing=$(ls -lnd -- "$CONFIG" 2>/dev/null) || die 2 "config $CONFIG: cannot read its mode"
    # shellcheck disable=SC2086  # split the listing into fields on purpose
    set -- $listing
    mode=$1
    owner=$3
    case $mode in
        -???------ | -???------.) ;;
        *) die 2 "refusing config $CONFIG: group or others can read or write it (mode $mode; an ACL shows as +): chmod 600 $CONFIG" ;;
    esac
    me=$(id -u)
    if [ "$owner" != "$me" ] && [ "$owner" != 0 ]; then
        die 2 "refusing config $CONFIG: owned by uid $owner, neither this user ($me) nor root"
    fi
}

read_config() {
    check_permissions
    n=0
    while IFS= read -r line || [ -n "$line" ]; do
        n=$((n + 1))
        case $line in
            *[!\ \	]*) ;;
            *) continue ;;
        esac
        case $line in
            '#'*) continue ;;
            *=*) ;;
            *) die 2 "config $CONFIG line $n: expected KEY=VALUE" ;;
        esac
        key=${line%%=*}
        value=${line#*=}
        case $value in
            \"*\") value=${value#\"} value=${value%\"} ;;
            \'*\') value=${value#\'} value=${value%\'} ;;
        esac
        case $key in
            HAVIP_TRIGGER_URL) URL=$value ;;
            HAVIP_CALLBACK_TOKEN) TOKEN=$value ;;
            HAVIP_ID) HAVIP_ID=$value ;;
            HAVIP_PEER_INSTANCE_ID) PEER=$value ;;
            HAVIP_REGION_ID) REGION=$value ;;
            HAVIP_NOTIFY_TIMEOUT) TIMEOUT=$value ;;
            HAVIP_NOTIFY_CONNECT_TIMEOUT) CONNECT_TIMEOUT=$value ;;
            HAVIP_NOTIFY_DEADLINE) DEADLINE=$value ;;
            HAVIP_NOTIFY_MIN_BACKUP_SECONDS) MIN_BACKUP=$value ;;
            HAVIP_NOTIFY_STATE_DIR) STATE_DIR=$value ;;
            HAVIP_NOTIFY_DRY_RUN) is_true "$value" && DRY_RUN=1 ;;
            *) die 2 "config $CONFIG line $n: unknown key $(safe "$key")" ;;
        esac
    done <"$CONFIG"

    case $URL in
        http://?* | https://?*) ;;
        '') die 2 "config $CONFIG: HAVIP_TRIGGER_URL is missing" ;;
        *) die 2 "config $CONFIG: HAVIP_TRIGGER_URL must start with http:// or https://" ;;
    esac
    case $URL in
        *[\"\\\ \	]*) die 2 "config $CONFIG: HAVIP_TRIGGER_URL has a quote, backslash or blank" ;;
        *[?\&]token=*) die 2 "config $CONFIG: HAVIP_TRIGGER_URL carries a token: put it in HAVIP_CALLBACK_TOKEN (sent as a header, never in the URL)" ;;
    esac
    [ -n "$TOKEN" ] || die 2 "config $CONFIG: HAVIP_CALLBACK_TOKEN is missing"
    [ "${#TOKEN}" -ge 16 ] || die 2 "config $CONFIG: HAVIP_CALLBACK_TOKEN is shorter than 16 characters"
    case $TOKEN in
        *[!A-Za-z0-9._~+/=-]*) die 2 "config $CONFIG: HAVIP_CALLBACK_TOKEN may hold only letters, digits and ._~+/=-" ;;
    esac
    case $HAVIP_ID in
        havip-?*) ;;
        *) die 2 "config $CONFIG: HAVIP_ID must be a HAVIP id (havip-...)" ;;
    esac
    case $HAVIP_ID in *[!A-Za-z0-9-]*) die 2 "config $CONFIG: HAVIP_ID has characters a HAVIP id never has" ;; esac
    case $PEER in
        i-?* | eni-?*) ;;
        *) die 2 "config $CONFIG: HAVIP_PEER_INSTANCE_ID must be the peer's ECS instance id (i-...) or ENI id (eni-...)" ;;
    esac
    case $PEER in *[!A-Za-z0-9-]*) die 2 "config $CONFIG: HAVIP_PEER_INSTANCE_ID has characters an id never has" ;; esac
    case $REGION in *[!a-z0-9-]*) die 2 "config $CONFIG: HAVIP_REGION_ID must look like cn-hangzhou" ;; esac
    for pair in "HAVIP_NOTIFY_TIMEOUT=$TIMEOUT" "HAVIP_NOTIFY_CONNECT_TIMEOUT=$CONNECT_TIMEOUT" \
        "HAVIP_NOTIFY_DEADLINE=$DEADLINE" "HAVIP_NOTIFY_MIN_BACKUP_SECONDS=$MIN_BACKUP"; do
        is_uint "${pair#*=}" || die 2 "config $CONFIG: ${pair%%=*} must be a whole number of seconds"
    done
    [ "$TIMEOUT" -ge 1 ] || die 2 "config $CONFIG: HAVIP_NOTIFY_TIMEOUT must be at least 1"
    [ "$CONNECT_TIMEOUT" -ge 1 ] || die 2 "config $CONFIG: HAVIP_NOTIFY_CONNECT_TIMEOUT must be at least 1"
}

# ---------------------------------------------------------------------------- state

state_file() {
    printf '%s/%s.state' "$STATE_DIR" "$(safe "${1:-default}")"
}

record_state() {
    # $1 instance name, $2 state: "<STATE> <epoch seconds since it was entered>"
    mkdir -p -- "$STATE_DIR" 2>/dev/null || :
    sf=$(state_file "$1")
    if [ -r "$sf" ]; then
        # keepalived may announce the same state twice (BACKUP at init, then BACKUP again):
        # the period started at the first one
        read -r was _ <"$sf" 2>/dev/null || was=
        [ "$was" = "$2" ] && return 0
    fi
    if ! { printf '%s %s\n' "$2" "$(date +%s)" >"$sf.tmp" && mv -f -- "$sf.tmp" "$sf"; } 2>/dev/null; then
        log warning "cannot record state $2 in $sf"
    fi
}

# ---------------------------------------------------------------------------- the event

new_event() {
    # sets HOST, CHECKED_AT and EVENT_ID (unique: host, time, nanoseconds or random, pid)
    HOST=$(safe "$(uname -n 2>/dev/null || echo node)" | cut -c1-40)
    CHECKED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    nanos=$(date +%N 2>/dev/null)
    case $nanos in '' | *[!0-9]*) nanos=$(od -An -N4 -tu4 /dev/urandom 2>/dev/null | tr -cd '0-9') ;; esac
    EVENT_ID="$HOST-$(date -u +%Y%m%dT%H%M%SZ)-${nanos:-0}-$$"
}

json_body() {
    host=$HOST
    now_iso=$CHECKED_AT
    body="{\"type\":\"havip.health\",\"instanceId\":\"$PEER\",\"haVipId\":\"$HAVIP_ID\",\"healthy\":false"
    body="$body,\"id\":\"$EVENT_ID\",\"checkedAt\":\"$now_iso\",\"checker\":\"keepalived@$host\""
    [ -n "$REGION" ] && body="$body,\"regionId\":\"$REGION\""
    [ "$DRY_RUN" = 1 ] && body="$body,\"dryRun\":true"
    body="$body,\"message\":\"keepalived $(safe "${VRRP_NAME:-}") became MASTER on $host: the peer stopped\"}"
    printf '%s' "$body"
}

curl_config() {
    # curl's --config syntax; read from stdin so that nothing here is a process argument
    printf 'url = "%s"\n' "$URL"
    printf 'header = "X-Havip-Token: %s"\n' "$TOKEN"
    printf 'header = "Content-Type: application/json"\n'
    printf 'data-binary = "%s"\n' "$(printf '%s' "$1" | sed 's/"/\\"/g')"
}

field_values() {
    # every "name": "value" of a JSON text (file $2), space-separated, values [A-Za-z0-9._-] only
    tr ',{}[' '\n' <"$2" | sed -n "s/.*\"$1\": *\"\\([A-Za-z0-9._-]*\\)\".*/\\1/p" | tr '\n' ' ' | sed 's/ $//'
}

fence() {
    new_event
    body=$(json_body)
    what="peer $PEER on $HAVIP_ID (event $EVENT_ID$([ "$DRY_RUN" = 1 ] && echo ', dry run'))"
    resp=$(tmpfile resp)
    errf=$(tmpfile err)
    start=$(date +%s)
    attempt=0
    pause=1
    log notice "reporting $what to the function"
    while :; do
        attempt=$((attempt + 1))
        left=$((start + DEADLINE - $(date +%s)))
        if [ "$left" -lt 1 ]; then
            die 3 "gave up on $what after $((attempt - 1)) attempt(s) in ${DEADLINE}s"
        fi
        t=$TIMEOUT
        [ "$t" -gt "$left" ] && t=$left
        ct=$CONNECT_TIMEOUT
        [ "$ct" -gt "$t" ] && ct=$t
        : >"$resp"
        code=$(curl_config "$body" | "$CURL" -q --silent --show-error --config - --request POST \
            --max-time "$t" --connect-timeout "$ct" --output "$resp" --write-out '%{http_code}' 2>"$errf")
        rc=$?
        outcomes=$(field_values outcome "$resp")
        case $code in
            2??)
                if [ "$code" = 202 ]; then
                    log notice "done: $what accepted, still in progress (HTTP 202, outcome ${outcomes:-?}): the function finishes it"
                else
                    log notice "done: $what (HTTP $code, outcome ${outcomes:-?}, reason $(field_values reason "$resp"))"
                fi
                exit 0
                ;;
            429)
                why="HTTP 429 (busy)"
                ;;
            4??)
                die 1 "refused: $what (HTTP $code, error $(field_values code "$resp")): not retried"
                ;;
            5??)
                why="HTTP $code (outcome ${outcomes:-?}, error $(field_values code "$resp"))"
                ;;
            *)
                why="no answer (curl exit $rc: $(tr -c 'A-Za-z0-9 ._:/()-' ' ' <"$errf" | cut -c1-200))"
                ;;
        esac
        left=$((start + DEADLINE - $(date +%s)))
        if [ "$left" -le "$pause" ]; then
            die 3 "gave up on $what after $attempt attempt(s) in ${DEADLINE}s: last $why"
        fi
        log warning "attempt $attempt for $what: $why; retrying in ${pause}s"
        sleep "$pause"
        pause=$((pause * 2))
        [ "$pause" -gt 8 ] && pause=8
    done
}

# ---------------------------------------------------------------------------- main

while [ $# -gt 0 ]; do
    case $1 in
        --config)
            [ $# -ge 2 ] || { usage; die 2 "--config needs a file"; }
            CONFIG=$2
            shift 2
            ;;
        --config=*)
            CONFIG=${1#--config=}
            shift
            ;;
        --dry-run)
            DRY_RUN=1
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        --)
            shift
            break
            ;;
        -*)
            usage
            die 2 "unknown option $(safe "$1")"
            ;;
        *) break ;;
    esac
done
is_true "$DRY_RUN" && DRY_RUN=1

VRRP_NAME=
case $# in
    1) STATE=$1 ;;
    3 | 4)
        VRRP_NAME=$2
        STATE=$3
        ;;
    *)
        usage
        die 2 "expected: fence | STATE | INSTANCE|GROUP NAME STATE [PRIORITY]"
        ;;
esac

read_config
[ "$DRY_RUN" = 1 ] || DRY_RUN=0

case $STATE in
    fence)
        fence
        ;;
    MASTER)
        sf=$(state_file "$VRRP_NAME")
        prev=
        since=
        # shellcheck disable=SC2034  # rest: anything after the two fields
        [ -r "$sf" ] && read -r prev since rest <"$sf"
        record_state "$VRRP_NAME" MASTER
        now=$(date +%s)
        if [ "$prev" != BACKUP ] || ! is_uint "$since"; then
            log notice "MASTER $(safe "$VRRP_NAME") without a recorded BACKUP period (start-up election): peer $PEER not reported"
            exit 0
        fi
        if [ $((now - since)) -lt "$MIN_BACKUP" ]; then
            log notice "MASTER $(safe "$VRRP_NAME") after only $((now - since))s as BACKUP (< ${MIN_BACKUP}s: a start-up election, no peer was master): peer $PEER not reported"
            exit 0
        fi
        fence
        ;;
    BACKUP | FAULT | STOP)
        record_state "$VRRP_NAME" "$STATE"
        log info "$STATE $(safe "$VRRP_NAME"): nothing to report"
        exit 0
        ;;
    *)
        usage
        die 2 "unknown state $(safe "$STATE")"
        ;;
esac
