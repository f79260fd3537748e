#!/bin/sh
# The broker's password file: who may connect (the ACL file says to which topics).
#
#   credentials.sh sync          the listener's password from MQTT_LISTENER_PASSWORD, the demo
#                                simulator's from MQTT_SIMULATOR_PASSWORD (removed when unset);
#                                docker compose runs this before every start of the broker
#   credentials.sh machine CODE  add machine CODE or change its password: asked twice on a terminal,
#                                read from one line of standard input otherwise
#   credentials.sh remove CODE   revoke machine CODE
#
# With docker compose: `docker compose run --rm mosquitto-credentials machine M-001`, then
# `docker compose kill -s SIGHUP mosquitto` so that the broker reloads the file.
# Outside the container, PASSWORD_FILE names the file (the tests use it on a throwaway broker).
set -eu

PASSWORD_FILE="${PASSWORD_FILE:-/mosquitto/auth/passwd}"
# Usernames of the services; a machine may not take them (the ACL grants them other topics).
SERVICE_USERS="listener simulator"

fail() {
    echo "credentials.sh: $*" >&2
    exit 2
}

file_ensure() {
    mkdir -p "$(dirname "$PASSWORD_FILE")"
    [ -f "$PASSWORD_FILE" ] || : >"$PASSWORD_FILE"
}

# The broker runs as the mosquitto user; no other account needs to read the hashes.
file_protect() {
    chmod 0600 "$PASSWORD_FILE"
    if [ "$(id -u)" = 0 ]; then
        chown mosquitto:mosquitto "$PASSWORD_FILE"
    fi
}

user_present() {
    cut -d: -f1 "$PASSWORD_FILE" | grep -qFx -- "$1"
}

user_remove() {
    if user_present "$1"; then
        mosquitto_passwd -D "$PASSWORD_FILE" "$1"
    fi
}

machine_code_check() {
    case "$1" in
    "" | *[/+#:\ ]*) fail "machine code '$1': must be non-empty, without / + # : or spaces (it is a topic level)" ;;
    esac
    for service in $SERVICE_USERS; do
        [ "$1" != "$service" ] || fail "'$1' is a service's username, not a machine code"
    done
}

credentials_sync() {
    [ -n "${MQTT_LISTENER_PASSWORD:-}" ] || fail "MQTT_LISTENER_PASSWORD must be set (see .env.example)"
    file_ensure
    mosquitto_passwd -b "$PASSWORD_FILE" listener "$MQTT_LISTENER_PASSWORD"
    if [ -n "${MQTT_SIMULATOR_PASSWORD:-}" ]; then
        mosquitto_passwd -b "$PASSWORD_FILE" simulator "$MQTT_SIMULATOR_PASSWORD"
    else
        user_remove simulator
    fi
    file_protect
    echo "credentials.sh: service credentials set in $PASSWORD_FILE"
}

machine_set() {
    machine_code_check "$1"
    file_ensure
    if [ -t 0 ]; then
        mosquitto_passwd "$PASSWORD_FILE" "$1"
    else
        IFS= read -r password || [ -n "${password:-}" ] || fail "no password on standard input for $1"
        [ -n "$password" ] || fail "empty password for $1"
        mosquitto_passwd -b "$PASSWORD_FILE" "$1" "$password"
    fi
    file_protect
    echo "credentials.sh: machine $1 set; reload the broker (docker compose kill -s SIGHUP mosquitto)"
}

machine_remove() {
    machine_code_check "$1"
    file_ensure
    user_present "$1" || fail "no machine $1 in $PASSWORD_FILE"
    user_remove "$1"
    file_protect
    echo "credentials.sh: machine $1 removed; reload the broker (docker compose kill -s SIGHUP mosquitto)"
}

USAGE="usage: credentials.sh sync | machine CODE | remove CODE"
case "${1:-}:$#" in
sync:1) credentials_sync ;;
machine:2) machine_set "$2" ;;
remove:2) machine_remove "$2" ;;
*) fail "$USAGE" ;;
esac
