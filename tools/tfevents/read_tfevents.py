"""Reads a TensorBoard event file with no dependency (no tensorboard, tensorflow or protobuf):
its own CRC-32C, TFRecord framing and protobuf decoding, written from the formats' specs, so it
checks @ghostflow/nn's writer independently of it.

Prints one JSON object per record: {"wall_time", "step", "file_version"} or
{"wall_time", "step", "scalars": {tag: value}}. Exits 1 with a message on any bad length,
bad CRC, truncated record or unexpected field. `--self-test` checks CRC-32C against the
published vectors (RFC 3720 B.4 and the common "123456789" check value) and exits.

Run: python3 tools/tfevents/read_tfevents.py FILE
"""
import json
import struct
import sys


def _table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


TABLE = _table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


VECTORS = [
    (b'123456789', 0xE3069283),
    (b'\x00' * 32, 0x8A9136AA),
    (b'\xff' * 32, 0x62A8AB43),
    (bytes(range(32)), 0x46DD794E),
    (bytes(range(31, -1, -1)), 0x113FDB5C),
]


def self_test():
    for data, want in VECTORS:
        got = crc32c(data)
        if got != want:
            raise SystemExit(f'crc32c self-test failed: {data[:8]!r}... gave {got:#010x}, expected {want:#010x}')


def varint(buf, pos):
    shift = result = 0
    while True:
        if pos >= len(buf):
            raise ValueError('truncated varint')
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def fields(buf):
    """Yields (field number, wire type, value) for a protobuf message."""
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, pos = varint(buf, pos)
        elif wt == 1:
            val, pos = buf[pos:pos + 8], pos + 8
        elif wt == 2:
            n, pos = varint(buf, pos)
            val, pos = buf[pos:pos + n], pos + n
        elif wt == 5:
            val, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f'unsupported wire type {wt} (field {num})')
        if pos > len(buf):
            raise ValueError(f'field {num} runs past the end of its message')
        yield num, wt, val


def decode_event(data):
    event = {'wall_time': 0.0, 'step': 0}
    for num, wt, val in fields(data):
        if num == 1 and wt == 1:
            event['wall_time'] = struct.unpack('<d', val)[0]
        elif num == 2 and wt == 0:
            event['step'] = val
        elif num == 3 and wt == 2:
            event['file_version'] = val.decode('utf-8')
        elif num == 5 and wt == 2:
            scalars = {}
            for vnum, vwt, value in fields(val):
                if vnum != 1 or vwt != 2:
                    raise ValueError(f'Summary: unexpected field {vnum}')
                tag, simple = None, None
                for fnum, fwt, f in fields(value):
                    if fnum == 1 and fwt == 2:
                        tag = f.decode('utf-8')
                    elif fnum == 2 and fwt == 5:
                        simple = struct.unpack('<f', f)[0]
                    else:
                        raise ValueError(f'Summary.Value: unexpected field {fnum}')
                scalars[tag] = simple
            event['scalars'] = scalars
        else:
            raise ValueError(f'Event: unexpected field {num} (wire type {wt})')
    return event


def read_records(raw):
    pos = 0
    while pos < len(raw):
        if pos + 12 > len(raw):
            raise ValueError(f'truncated record header at byte {pos}')
        header = raw[pos:pos + 8]
        (length,) = struct.unpack('<Q', header)
        (length_crc,) = struct.unpack('<I', raw[pos + 8:pos + 12])
        if masked(header) != length_crc:
            raise ValueError(f'bad length CRC at byte {pos}')
        data = raw[pos + 12:pos + 12 + length]
        if len(data) != length or pos + 16 + length > len(raw):
            raise ValueError(f'truncated record at byte {pos}')
        (data_crc,) = struct.unpack('<I', raw[pos + 12 + length:pos + 16 + length])
        if masked(data) != data_crc:
            raise ValueError(f'bad data CRC at byte {pos}')
        yield data
        pos += 16 + length


def main(argv):
    self_test()
    if argv[1:] == ['--self-test']:
        print('crc32c ok')
        return 0
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], 'rb') as f:
        raw = f.read()
    try:
        for data in read_records(raw):
            print(json.dumps(decode_event(data), allow_nan=True))
    except ValueError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
