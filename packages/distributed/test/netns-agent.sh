#!/bin/sh
# Open MPI's "remote shell" for hosts that are network namespaces on this machine: the host name
# is the namespace name; the rest is the command line to run there (a shell string, like ssh's).
ns="$1"
shift
exec ip netns exec "$ns" sh -c "$*"
