#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""trim-vmlinux.py IN OUT: a vmlinux that loads the same, in fewer bytes.

The vmlinux that scripts/extract-vmlinux takes out of a bzImage carries
its .bss, .brk and .init.scratch as zeros in the file (p_filesz ==
p_memsz) and its symbols after the last segment.  Every loader fills
p_memsz - p_filesz with zeros (mbboot, khyp run), so the last segment's
trailing zeros are dropped from p_filesz, the file ends where that
segment's data ends and the section headers go (a loader reads only the
program headers).  Debian 6.1's: 66 MB to about 45 MB, which GRUB reads
through the BIOS at every Bochs start.
"""
import struct
import sys

PT_LOAD = 1


def main():
    data = bytearray(open(sys.argv[1], 'rb').read())
    if data[:4] != b'\x7fELF' or data[4] != 2 or data[5] != 1:
        sys.exit('trim-vmlinux: %s is not a little-endian ELF64' % sys.argv[1])
    phoff, = struct.unpack_from('<Q', data, 0x20)
    phentsize, phnum = struct.unpack_from('<HH', data, 0x36)
    loads = []
    for i in range(phnum):
        off = phoff + i * phentsize
        p_type, = struct.unpack_from('<I', data, off)
        p_offset, p_filesz = struct.unpack_from('<Q', data, off + 8)[0], \
            struct.unpack_from('<Q', data, off + 32)[0]
        if p_type == PT_LOAD and p_filesz:
            loads.append((p_offset + p_filesz, p_offset, p_filesz, off))
    if not loads:
        sys.exit('trim-vmlinux: no PT_LOAD segment in %s' % sys.argv[1])
    end, p_offset, p_filesz, off = max(loads)
    seg = data[p_offset:end]
    kept = len(seg.rstrip(b'\0'))
    struct.pack_into('<Q', data, off + 32, kept)
    # no section headers: e_shoff, e_shnum, e_shstrndx
    struct.pack_into('<Q', data, 0x28, 0)
    struct.pack_into('<HH', data, 0x3c, 0, 0)
    new_end = max([p_offset + kept] + [e for e, _, _, o in loads if o != off]
                  + [phoff + phnum * phentsize])
    open(sys.argv[2], 'wb').write(data[:new_end])


main()
