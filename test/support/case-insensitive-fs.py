#!/usr/bin/python3
"""A case-insensitive passthrough file system for the tests (ADR-0017), like a default macOS
volume: names are looked up case- and normalisation-insensitively (NFD + casefold) and kept as
they were created. Mirrors BACKING at MOUNTPOINT through FUSE (pyfuse3, Debian's
python3-pyfuse3). Prints "ready" once mounted; unmount with `fusermount3 -u MOUNTPOINT`.

    /usr/bin/python3 test/support/case-insensitive-fs.py BACKING MOUNTPOINT
"""
import errno
import os
import stat
import sys
import unicodedata

import pyfuse3
import trio

TIMEOUT = 0  # no kernel caching of names or attributes: every lookup comes here
ALIAS = 1 << 48


def fold(name: bytes) -> str:
    return unicodedata.normalize('NFD', os.fsdecode(name)).casefold()


class CaseInsensitiveFs(pyfuse3.Operations):
    enable_writeback_cache = False

    def __init__(self, backing: str):
        super().__init__()
        self.paths = {pyfuse3.ROOT_INODE: backing}
        self.backing_root_ino = os.lstat(backing).st_ino
        self.fds = {}
        # Another spelling of an existing name gets an inode of its own (ALIAS + n): Linux skips a
        # rename whose two names have one inode, so a case-only rename would never reach us.
        self.aliases = {}

    # ---- names

    def path_of(self, inode: int) -> str:
        try:
            return self.paths[inode]
        except KeyError:
            raise pyfuse3.FUSEError(errno.ENOENT)

    def existing(self, parent: str, name: bytes):
        """The name in `parent` that `name` opens (exact first, then any spelling), or None."""
        exact = os.path.join(parent, os.fsdecode(name))
        if os.path.lexists(exact):
            return exact
        key = fold(name)
        for entry in os.listdir(parent):
            if fold(os.fsencode(entry)) == key:
                return os.path.join(parent, entry)
        return None

    def must_exist(self, parent_inode: int, name: bytes) -> str:
        found = self.existing(self.path_of(parent_inode), name)
        if found is None:
            raise pyfuse3.FUSEError(errno.ENOENT)
        return found

    def remember(self, path: str) -> pyfuse3.EntryAttributes:
        attr = self.attr_of(path)
        self.paths[attr.st_ino] = path
        return attr

    def attr_of(self, path: str) -> pyfuse3.EntryAttributes:
        try:
            st = os.lstat(path)
        except OSError as e:
            raise pyfuse3.FUSEError(e.errno)
        a = pyfuse3.EntryAttributes()
        for f in ('st_mode', 'st_nlink', 'st_uid', 'st_gid', 'st_rdev', 'st_size', 'st_atime_ns', 'st_mtime_ns', 'st_ctime_ns'):
            setattr(a, f, getattr(st, f))
        a.st_ino = pyfuse3.ROOT_INODE if st.st_ino == self.backing_root_ino else st.st_ino
        a.generation = 0
        a.entry_timeout = TIMEOUT
        a.attr_timeout = TIMEOUT
        a.st_blksize = 512
        a.st_blocks = (st.st_size + 511) // 512
        return a

    # ---- lookups and listings

    async def lookup(self, parent_inode, name, ctx=None):
        if name in (b'.', b'..'):
            return self.attr_of(os.path.normpath(os.path.join(self.path_of(parent_inode), os.fsdecode(name))))
        path = self.must_exist(parent_inode, name)
        if os.path.basename(path) == os.fsdecode(name):
            return self.remember(path)
        alias = self.aliases.setdefault(path, ALIAS + len(self.aliases))
        self.paths[alias] = path
        attr = self.attr_of(path)
        attr.st_ino = alias
        return attr

    async def getattr(self, inode, ctx=None):
        attr = self.attr_of(self.path_of(inode))
        if inode >= ALIAS:
            attr.st_ino = inode
        return attr

    async def setattr(self, inode, attr, fields, fh, ctx):
        path = self.path_of(inode)
        try:
            if fields.update_size:
                os.truncate(path, attr.st_size)
            if fields.update_mode:
                os.chmod(path, stat.S_IMODE(attr.st_mode))
            if fields.update_uid or fields.update_gid:
                os.chown(path, attr.st_uid if fields.update_uid else -1, attr.st_gid if fields.update_gid else -1, follow_symlinks=False)
            if fields.update_atime or fields.update_mtime:
                st = os.lstat(path)
                at = attr.st_atime_ns if fields.update_atime else st.st_atime_ns
                mt = attr.st_mtime_ns if fields.update_mtime else st.st_mtime_ns
                os.utime(path, ns=(at, mt), follow_symlinks=False)
        except OSError as e:
            raise pyfuse3.FUSEError(e.errno)
        return self.attr_of(path)

    async def readlink(self, inode, ctx):
        return os.fsencode(os.readlink(self.path_of(inode)))

    async def opendir(self, inode, ctx):
        return inode

    async def readdir(self, inode, start_id, token):
        parent = self.path_of(inode)
        entries = sorted(os.listdir(parent))
        for i, name in enumerate(entries[start_id:], start_id):
            attr = self.remember(os.path.join(parent, name))
            if not pyfuse3.readdir_reply(token, os.fsencode(name), attr, i + 1):
                break

    async def releasedir(self, fh):
        pass

    async def fsyncdir(self, fh, datasync):
        pass

    async def statfs(self, ctx):
        s = pyfuse3.StatvfsData()
        v = os.statvfs(self.paths[pyfuse3.ROOT_INODE])
        for f in ('f_bsize', 'f_frsize', 'f_blocks', 'f_bfree', 'f_bavail', 'f_files', 'f_ffree', 'f_favail'):
            setattr(s, f, getattr(v, f))
        s.f_namemax = v.f_namemax
        return s

    # ---- changes of names

    async def mkdir(self, parent_inode, name, mode, ctx):
        parent = self.path_of(parent_inode)
        if self.existing(parent, name) is not None:
            raise pyfuse3.FUSEError(errno.EEXIST)
        path = os.path.join(parent, os.fsdecode(name))
        try:
            os.mkdir(path, mode)
        except OSError as e:
            raise pyfuse3.FUSEError(e.errno)
        return self.remember(path)

    async def unlink(self, parent_inode, name, ctx):
        try:
            os.unlink(self.must_exist(parent_inode, name))
        except OSError as e:
            raise pyfuse3.FUSEError(e.errno)

    async def rmdir(self, parent_inode, name, ctx):
        try:
            os.rmdir(self.must_exist(parent_inode, name))
        except OSError as e:
            raise pyfuse3.FUSEError(e.errno)

    async def symlink(self, parent_inode, name, target, ctx):
        parent = self.path_of(parent_inode)
        if self.existing(parent, name) is not None:
            raise pyfuse3.FUSEError(errno.EEXIST)
        path = os.path.join(parent, os.fsdecode(name))
        os.symlink(os.fsdecode(target), path)
        return self.remember(path)

    async def rename(self, parent_inode_old, name_old, parent_inode_new, name_new, flags, ctx):
        old = self.must_exist(parent_inode_old, name_old)
        new_parent = self.path_of(parent_inode_new)
        target = self.existing(new_parent, name_new)
        new = os.path.join(new_parent, os.fsdecode(name_new))
        try:
            if target is not None and os.path.samefile(target, old):
                pass  # a case-only rename: the same entry gets the new spelling
            elif target is not None:
                if flags & pyfuse3.RENAME_NOREPLACE:
                    raise pyfuse3.FUSEError(errno.EEXIST)
                if target != new:
                    os.replace(old, target)  # replaces the entry of the other spelling, as macOS does
                    os.rename(target, new)
                    self.moved(old, new)
                    return
            os.rename(old, new)
        except OSError as e:
            raise pyfuse3.FUSEError(e.errno)
        self.moved(old, new)

    def moved(self, old: str, new: str):
        for ino, p in list(self.paths.items()):
            if p == old or p.startswith(old + os.sep):
                self.paths[ino] = new + p[len(old):]
        self.aliases = {p: a for p, a in self.aliases.items() if not (p == old or p.startswith(old + os.sep))}

    async def link(self, inode, new_parent_inode, new_name, ctx):
        parent = self.path_of(new_parent_inode)
        if self.existing(parent, new_name) is not None:
            raise pyfuse3.FUSEError(errno.EEXIST)  # create-only, in any spelling
        path = os.path.join(parent, os.fsdecode(new_name))
        try:
            os.link(self.path_of(inode), path)
        except OSError as e:
            raise pyfuse3.FUSEError(e.errno)
        return self.remember(path)

    async def forget(self, inode_list):
        pass

    # ---- file contents

    async def open(self, inode, flags, ctx):
        try:
            fd = os.open(self.path_of(inode), flags & ~os.O_CREAT)
        except OSError as e:
            raise pyfuse3.FUSEError(e.errno)
        self.fds[fd] = inode
        return pyfuse3.FileInfo(fh=fd)

    async def create(self, parent_inode, name, mode, flags, ctx):
        parent = self.path_of(parent_inode)
        found = self.existing(parent, name)
        path = found if found is not None else os.path.join(parent, os.fsdecode(name))
        try:
            fd = os.open(path, flags | os.O_CREAT, mode)
        except OSError as e:
            raise pyfuse3.FUSEError(e.errno)
        attr = self.remember(path)
        self.fds[fd] = attr.st_ino
        return pyfuse3.FileInfo(fh=fd), attr

    async def read(self, fh, off, size):
        return os.pread(fh, size, off)

    async def write(self, fh, off, buf):
        return os.pwrite(fh, buf, off)

    async def flush(self, fh):
        pass

    async def fsync(self, fh, datasync):
        os.fsync(fh)

    async def release(self, fh):
        self.fds.pop(fh, None)
        os.close(fh)


def main():
    backing, mountpoint = sys.argv[1], sys.argv[2]
    ops = CaseInsensitiveFs(os.path.abspath(backing))
    options = set(pyfuse3.default_options)
    options.add('fsname=bm-log-case-insensitive')
    options.discard('default_permissions')
    options.add('default_permissions')
    pyfuse3.init(ops, mountpoint, options)
    print('ready', flush=True)
    try:
        trio.run(pyfuse3.main)
    finally:
        pyfuse3.close(unmount=True)


if __name__ == '__main__':
    main()
