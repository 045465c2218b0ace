#!/bin/sh
# Used as `unshare -n tests/in-netns.sh CMD...`: a fresh network namespace has only a loopback
# interface, and it starts down; bring it up, then run CMD with no route anywhere else.
set -e
ip link set lo up
exec "$@"
