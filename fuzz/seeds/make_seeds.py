#!/usr/bin/env python3
"""Write the seed corpora of the frame and API-operation fuzz targets (well-formed inputs the
fuzzer mutates). Run from fuzz/: python3 seeds/make_seeds.py. The parse_target seeds are
hand-written files; the frames_scaled seeds named patch*_ are the fuzzer's own finds, kept as
found (each reached a smoltcp defect fixed since: third_party/smoltcp/UNISOCK-PATCHES.md)."""
import os
import struct

STACK_MAC = bytes([2, 0, 0, 0, 0, 1])
PEER_MAC = bytes([2, 0, 0, 0, 0, 2])
STACK_IP = bytes([127, 0, 0, 1])
PEER_IP = bytes([127, 0, 0, 2])


def csum(data, initial=0):
    s = initial
    if len(data) % 2:
        data += b"\0"
    for i in range(0, len(data), 2):
        s += (data[i] << 8) | data[i + 1]
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(src, dst, proto, payload):
    h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, 64, proto, 0, src, dst))
    h[10:12] = struct.pack("!H", csum(bytes(h)))
    return bytes(h) + payload


def tcp(sport, dport, seq, ack, flags, payload=b"", window=4096, src=PEER_IP, dst=STACK_IP):
    t = bytearray(struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, window, 0, 0)) + payload
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(t))
    t[16:18] = struct.pack("!H", csum(pseudo + bytes(t)))
    return ipv4(src, dst, 6, bytes(t))


def eth(payload, ethertype=0x0800, dst=STACK_MAC, src=PEER_MAC):
    return dst + src + struct.pack("!H", ethertype) + payload


def record(frame, fix=0, to_conn=0, advance=5, place=0, read=0):
    flags = fix | (to_conn << 1) | (place << 2) | (read << 3)
    return bytes([flags, advance]) + struct.pack("!H", len(frame)) + frame


SYN, ACK, FIN, RST, PSH = 2, 16, 1, 4, 8
arp_req = eth(bytes([0, 1, 8, 0, 6, 4, 0, 1]) + PEER_MAC + PEER_IP + bytes(6) + STACK_IP, 0x0806, b"\xff" * 6)
udp_payload = b"ping"
udp = struct.pack("!HHHH", 7000, 6000, 8 + len(udp_payload), 0) + udp_payload

frames = {
    "syn_listener": record(eth(tcp(40000, 80, 5000, 0, SYN))),
    "syn_closed_port": record(eth(tcp(40000, 81, 5000, 0, SYN))),
    "data_to_conn": record(eth(tcp(41000, 80, 1000001 + 5, 0, ACK | PSH, b"more data")), 1, 1),
    "fin_to_conn": record(eth(tcp(41000, 80, 1000001 + 5, 0, ACK | FIN)), 1, 1),
    "rst_to_conn": record(eth(tcp(41000, 80, 1000001 + 5, 0, RST)), 1, 1),
    "arp_request": record(arp_req),
    "udp": record(eth(ipv4(PEER_IP, STACK_IP, 17, udp))),
    "handshake_and_data": record(eth(tcp(40001, 80, 7000, 0, SYN)))
    + record(eth(tcp(40001, 80, 7001, 1, ACK)), 1, 0)
    + record(eth(tcp(40001, 80, 7001, 1, ACK | PSH, b"x" * 100)), 1, 0),
}
os.makedirs("seeds/frames", exist_ok=True)
for name, data in frames.items():
    with open(f"seeds/frames/{name}", "wb") as f:
        f.write(data)


def op(code, side, arg, *extra):
    return bytes([(code % 16) | (side << 7), arg]) + bytes(extra)


clean = bytes([0, 1, 0, 0, 0, 0])  # seed, no faults
lossy = bytes([0, 2, 5, 2, 1, 1])
session = (
    op(0, 0, 0)  # server: tcp socket
    + op(1, 0, 0, 0, 1)  # bind 127.0.0.1:5001
    + op(2, 0, 0, 2)  # listen backlog 2
    + op(0, 1, 0)  # client: tcp socket
    + op(3, 1, 0, 0, 1)  # connect to 5001
    + op(4, 0, 0)  # accept
    + op(5, 1, 0, 0x04, 0x00)  # send 1024 bytes
    + op(11, 0, 0, 0, 50)  # advance 50 ms
    + op(6, 0, 0)  # receive
    + op(6, 0, 0)
    + op(7, 1, 0, 1)  # shutdown(Write)
    + op(11, 0, 0, 0, 50)
    + op(6, 0, 0)
    + op(8, 0, 0)  # close
    + op(12, 0, 0)  # stale handle query
    + op(13, 0, 0) + op(13, 1, 1)  # udp sockets
    + op(14, 1, 0, 0, 64, 0)  # udp send
    + op(11, 0, 0, 0, 10)
    + op(15, 0, 0)  # udp recv
)
os.makedirs("seeds/api_ops", exist_ok=True)
for name, data in {"clean_session": clean + session, "lossy_session": lossy + session}.items():
    with open(f"seeds/api_ops/{name}", "wb") as f:
        f.write(data)

# frames_scaled: flag bit 2 places a frame at the connection's next sequence number plus its
# own sequence field (mod 2^17), bit 3 reads `advance * 64` bytes after it.
def placed(offset, payload, **kw):
    return record(eth(tcp(41000, 80, offset, 0, ACK | PSH, payload)), 1, 1, place=1, **kw)


SEG = 1990
fill = b"".join(placed(i * SEG, bytes((i * 7 + j) % 251 for j in range(SEG)), advance=1) for i in range(50))
scaled = {
    # Fill the 96 KiB buffer in order without reading, then read a little and send more: the
    # window closes and reopens (zero window, window update, its repeats).
    "fill_window_then_read": fill
    + placed(50 * SEG, b"x" * 10, advance=255, read=1)
    + placed(50 * SEG, b"y" * 1000, advance=30),
    # Out of order deep inside the scaled window, then the gap partly filled and a read.
    "out_of_order_in_scaled_window": placed(0, b"a" * 1500, advance=1)
    + placed(90000, b"b" * 1500, advance=1)
    + placed(1500, b"c" * 1500, advance=100, read=1),
}
os.makedirs("seeds/frames_scaled", exist_ok=True)
for name, data in scaled.items():
    with open(f"seeds/frames_scaled/{name}", "wb") as f:
        f.write(data)
