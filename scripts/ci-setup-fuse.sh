#!/usr/bin/env bash
# CI step (ADR-0017): installs what test/cli/case-insensitive.e2e.test.ts needs to mount its
# case-insensitive FUSE file system: Debian's fuse3 (fusermount3) and python3-pyfuse3 (for
# /usr/bin/python3). Run as root before `npm test`; where it cannot install them, that test is
# skipped and says why. Idempotent; does nothing when they are already there.
set -euo pipefail
if [ -x /usr/bin/fusermount3 ] && /usr/bin/python3 -c 'import pyfuse3, trio' 2>/dev/null; then
  echo "ci-setup-fuse: fuse3 and python3-pyfuse3 already installed"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "ci-setup-fuse: not root or no apt-get: the case-insensitive FUSE test will be skipped"
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fuse3 python3-pyfuse3 >/dev/null
echo "ci-setup-fuse: installed fuse3 and python3-pyfuse3"
