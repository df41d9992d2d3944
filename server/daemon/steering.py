"""Steering each client address to one worker: a classic BPF program on the SO_REUSEPORT
group of a listening address, so per-client limits, counted in each worker, hold for the
whole server, and a reader's TLS sessions stay with one worker.

The kernel runs the program on each new connection's first packet and hands the connection
to the listener at the index it returns. The index is a hash of the source address (of its
/64 network for IPv6, as `server.admission.client_key` counts it) modulo the number of
workers; while a worker is being replaced an index may be missing, and the kernel falls
back to its own hash for the connections that meet it.
"""

from __future__ import annotations

import ctypes
import socket
import struct

import trio

SO_ATTACH_REUSEPORT_CBPF = 51
"""From <asm-generic/socket.h>; Python's socket module does not name it."""
_NETWORK_HEADER = -0x100000
"""SKF_NET_OFF: loads at this offset and past it read the IP header."""
_GOLDEN = 0x9E3779B1
"""Knuth's multiplicative hash constant: neighbouring addresses land on different workers."""

# Classic BPF opcodes (<linux/filter.h>).
_LD_B_ABS, _LD_W_ABS = 0x30, 0x20
_ALU_RSH_K, _ALU_MUL_K, _ALU_MOD_K, _ALU_XOR_X = 0x74, 0x24, 0x94, 0xAC
_JMP_JEQ_K, _MISC_TAX, _RET_A = 0x15, 0x07, 0x16


def program(workers: int) -> list[tuple[int, int, int, int]]:
    """The instructions (code, jump if true, jump if false, constant): the listener index for
    a connection's source address. X starts at 0, so an IPv4 address hashes alone."""
    return [
        (_LD_B_ABS, 0, 0, _NETWORK_HEADER),  # A = version and header length
        (_ALU_RSH_K, 0, 0, 4),  # A = IP version
        (_JMP_JEQ_K, 0, 2, 6),  # IPv6: on; IPv4: skip the next two
        (_LD_W_ABS, 0, 0, _NETWORK_HEADER + 8),  # the first half of the IPv6 /64
        (_MISC_TAX, 0, 0, 0),  # X = it
        (_LD_W_ABS, 0, 0, _NETWORK_HEADER + 12),  # IPv4 source, or the /64's second half
        (_ALU_XOR_X, 0, 0, 0),
        (_ALU_MUL_K, 0, 0, _GOLDEN),
        (_ALU_RSH_K, 0, 0, 16),
        (_ALU_MOD_K, 0, 0, workers),
        (_RET_A, 0, 0, 0),
    ]


def steer_by_client(sock: socket.socket | trio.socket.SocketType, workers: int) -> None:
    """Have the SO_REUSEPORT group that listening `sock` belongs to pick a listener by the
    client's address; each worker sets the same program on its own listener."""
    instructions = program(workers)
    encoded = b"".join(
        struct.pack("HBBI", code, jump_true, jump_false, constant & 0xFFFFFFFF)
        for code, jump_true, jump_false, constant in instructions
    )
    filters = ctypes.create_string_buffer(encoded, len(encoded))
    # struct sock_fprog: the instruction count, then a pointer to them.
    fprog = struct.pack("@HP", len(instructions), ctypes.addressof(filters))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, fprog)
