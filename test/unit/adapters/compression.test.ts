import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  lz4Codec,
  registerCompressionCodecs,
  snappyCodec,
  zstdCodec,
} from '../../../src/adapters/kafka/compression.js';
import type { KafkaCodec } from '../../../src/adapters/kafka/compression.js';

const { CompressionCodecs, CompressionTypes } = kafkajs;

/** Deterministic xorshift32 bytes, so a failing payload can be reproduced. */
function randomBytes(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** The payload of every reference frame below: 152 bytes of line protocol. */
const FIXTURE = Buffer.from('cpu,host=a usage=1\n'.repeat(8));

const codecs: [string, KafkaCodec][] = [
  ['snappy', snappyCodec],
  ['lz4', lz4Codec],
  ['zstd', zstdCodec],
];

const payloads: [string, Buffer][] = [
  ['empty', Buffer.alloc(0)],
  ['one byte', Buffer.from([0x2a])],
  ['repetitive text', Buffer.from('cpu,host=a usage_idle=99.5 1700000000000000000\n'.repeat(2000))],
  ['random', randomBytes(200_000, 0x1234)],
  // Three full lz4 blocks plus a few bytes, half random so some blocks stay uncompressed.
  ['across lz4 blocks', Buffer.concat([randomBytes(100_000, 7), Buffer.alloc(96_565, 0x61)])],
  ['1 MiB of zeros', Buffer.alloc(1 << 20)],
];

describe('round trip', () => {
  const cases = codecs.flatMap(([codecName, codec]) =>
    payloads.map(([payloadName, payload]) => [codecName, payloadName, codec, payload] as const),
  );
  it.each(cases)('%s: %s', async (_codecName, _payloadName, codec, payload) => {
    const compressed = await codec.compress({ buffer: payload });
    expect(Buffer.isBuffer(compressed)).toBe(true);
    const restored = await codec.decompress(compressed);
    expect(Buffer.isBuffer(restored)).toBe(true);
    expect(restored.equals(payload)).toBe(true);
  });

  it('compresses repetitive data (not just stores it)', async () => {
    const payload = Buffer.alloc(100_000, 0x61);
    for (const [, codec] of codecs) {
      expect((await codec.compress({ buffer: payload })).length).toBeLessThan(10_000);
    }
  });
});

describe('frames written by reference implementations', () => {
  // Produced by Kafka's own Java client (kafka-clients 4.1.1, Compression.wrapForOutput with
  // record-batch magic 2) from FIXTURE: what a Java producer puts on the wire.
  const javaFrames: [string, KafkaCodec, Buffer][] = [
    [
      'lz4 frame from kafka-clients (independent 64 KiB blocks)',
      lz4Codec,
      hex(`04224d186040821e000000ff046370752c686f73743d612075736167653d310a13006d5067653d31
           0a00000000`),
    ],
    [
      'xerial-framed snappy from kafka-clients (snappy-java)',
      snappyCodec,
      hex(`82534e415050590000000001000000010000001e9801486370752c686f73743d6120757361676
           53d310afe1300fe13000513`),
    ],
    [
      'streamed zstd from kafka-clients (zstd-jni, no content size in the header)',
      zstdCodec,
      hex(`28b52ffd0058d40000986370752c686f73743d612075736167653d310a01000546cd30010000`),
    ],
    [
      'lz4 frame from the lz4 CLI: linked blocks, block and content checksums, content size',
      lz4Codec,
      hex(`04224d187c409800000000000000ba1e000000ff046370752c686f73743d6120757361676
           53d310a13006d5067653d310abdd5b78800000000433bd958`),
    ],
    [
      'zstd frame from the zstd CLI with content size',
      zstdCodec,
      hex(`28b52ffd2098d50000986370752c686f73743d612075736167653d310a01000546cd30`),
    ],
  ];
  it.each(javaFrames)('%s', async (_title, codec, frame) => {
    expect((await codec.decompress(frame)).toString()).toBe(FIXTURE.toString());
  });

  it('zstd: two concatenated frames', async () => {
    const frame = hex('28b52ffd2098d50000986370752c686f73743d612075736167653d310a01000546cd30');
    const restored = await zstdCodec.decompress(Buffer.concat([frame, frame]));
    expect(restored.toString()).toBe(FIXTURE.toString() + FIXTURE.toString());
  });
});

describe('snappy framing', () => {
  // Built by hand from the snappy format description: chunk 1 is "hello " as one literal;
  // chunk 2 is "abc" as a literal then a 1-byte-offset copy (tag 0x15: length 9, offset 3).
  const chunk1 = hex('06 14 68656c6c6f20');
  const chunk2 = hex('0c 08 616263 15 03');
  const header = hex('82534e41505059 00 00000001 00000001');
  const length = (n: number): Buffer => hex(n.toString(16).padStart(8, '0'));

  it('decodes a raw snappy block', async () => {
    expect((await snappyCodec.decompress(chunk2)).toString()).toBe('abcabcabcabc');
  });

  it('decodes a multi-chunk xerial frame', async () => {
    const frame = Buffer.concat([
      header,
      length(chunk1.length),
      chunk1,
      length(chunk2.length),
      chunk2,
    ]);
    expect((await snappyCodec.decompress(frame)).toString()).toBe('hello abcabcabcabc');
  });

  it('decodes a header-only xerial frame (what snappy-java writes for no data)', async () => {
    expect((await snappyCodec.decompress(header)).length).toBe(0);
  });

  const broken: [string, Buffer, RegExp][] = [
    ['truncated header', header.subarray(0, 12), /xerial header truncated \(12 bytes\)/],
    [
      'truncated chunk length',
      Buffer.concat([header, hex('0000')]),
      /chunk length truncated at byte 16/,
    ],
    [
      'chunk overrunning the frame',
      Buffer.concat([header, length(50), chunk1]),
      /chunk of 50 bytes at byte 20 overruns the 28-byte frame/,
    ],
  ];
  it.each(broken)('rejects a %s', async (_title, frame, message) => {
    await expect(snappyCodec.decompress(frame)).rejects.toThrow(message);
  });
});

describe('lz4 frames we write', () => {
  it('start with the exact header Kafka’s Java producer writes', async () => {
    const frame = await lz4Codec.compress({ buffer: FIXTURE });
    // magic 184D2204 (LE), FLG 0x60 (v01, independent blocks), BD 0x40 (64 KiB), checksum 0x82
    expect(frame.subarray(0, 7).toString('hex')).toBe('04224d18604082');
    expect(frame.subarray(-4).toString('hex')).toBe('00000000');
  });

  it('keep every block 16 bytes short of 64 KiB', async () => {
    const payload = randomBytes(200_000, 99);
    const frame = await lz4Codec.compress({ buffer: payload });
    const sizes: number[] = [];
    for (let offset = 7; ;) {
      const word = frame.readUInt32LE(offset);
      if (word === 0) break;
      const stored = word & 0x7fff_ffff;
      // Random data does not compress: every block is stored raw with its true size.
      expect(word & 0x8000_0000).not.toBe(0);
      sizes.push(stored);
      offset += 4 + stored;
    }
    expect(sizes).toEqual([65_520, 65_520, 65_520, 3_440]);
  });
});

describe('corrupt input', () => {
  // The lz4 CLI frame above: it carries a content size, block checksums and a content checksum.
  const cliFrame = hex(`04224d187c409800000000000000ba1e000000ff046370752c686f73743d6120757361676
                        53d310a13006d5067653d310abdd5b78800000000433bd958`);
  const flipped = Buffer.from(cliFrame);
  flipped[24] = (flipped[24] ?? 0) ^ 0x01; // one literal byte of the first block
  const wrongSize = Buffer.from(cliFrame);
  wrongSize[6] = 0x99; // content size 153 instead of 152

  const cases: [string, KafkaCodec, Buffer, string][] = [
    [
      'lz4 without the magic number',
      lz4Codec,
      Buffer.from('not an lz4 frame'),
      'lz4 decompression failed: not an LZ4 frame (bad magic number)',
    ],
    [
      'lz4 with a flipped data bit',
      lz4Codec,
      flipped,
      'lz4 decompression failed: LZ4 content checksum mismatch',
    ],
    [
      'lz4 with a wrong content size',
      lz4Codec,
      wrongSize,
      'lz4 decompression failed: LZ4 frame declares 153 bytes but holds 152',
    ],
    [
      'lz4 cut short',
      lz4Codec,
      cliFrame.subarray(0, 30),
      'lz4 decompression failed: LZ4 frame truncated in a block ending at 53',
    ],
    [
      'lz4 with a block larger than its maximum',
      lz4Codec,
      hex('04224d18 6040 82 ffff0100 00000000'),
      'lz4 decompression failed: LZ4 block of 131071 bytes exceeds 65536',
    ],
    [
      'zstd without the magic number',
      zstdCodec,
      Buffer.from('not a zstd frame'),
      'zstd decompression failed: invalid zstd data',
    ],
    [
      'snappy with a malformed length',
      snappyCodec,
      hex('ff ff ff ff 0f 00 61'),
      'snappy decompression failed: Invalid Snappy bitstream',
    ],
  ];
  it.each(cases)('rejects %s', async (_title, codec, frame, message) => {
    await expect(codec.decompress(frame)).rejects.toThrow(message);
  });

  it('refuses a snappy block claiming an impossible length before allocating it', async () => {
    // Claims 256 MiB from 5 bytes: more than any snappy stream can expand.
    await expect(snappyCodec.decompress(hex('80 80 80 80 01'))).rejects.toThrow(
      /uncompressed length of 268435456 is too big, expect at most 126/,
    );
  });
});

describe('registerCompressionCodecs', () => {
  it('plugs the codecs into kafkajs, idempotently', async () => {
    // Nothing in this file registered them before this test: kafkajs alone refuses zstd.
    expect(() => {
      CompressionCodecs[CompressionTypes.ZSTD]();
    }).toThrow(/not implemented/i);
    await registerCompressionCodecs();
    await registerCompressionCodecs();
    expect(CompressionCodecs[CompressionTypes.Snappy]()).toBe(snappyCodec);
    expect(CompressionCodecs[CompressionTypes.LZ4]()).toBe(lz4Codec);
    expect(CompressionCodecs[CompressionTypes.ZSTD]()).toBe(zstdCodec);
  });

  // kafkajs' record-batch encoder and decoder are internal modules, used here only to prove
  // our codecs fit the way kafkajs calls them (Encoder in, Buffer out) for a whole batch.
  const requireCjs = createRequire(import.meta.url);
  interface EncoderLike {
    readonly buffer: Buffer;
  }
  const { RecordBatch } = requireCjs('kafkajs/src/protocol/recordBatch/v0') as {
    RecordBatch: (options: {
      compression: number;
      firstTimestamp: number;
      maxTimestamp: number;
      lastOffsetDelta: number;
      records: EncoderLike[];
    }) => Promise<EncoderLike>;
  };
  const Record = requireCjs('kafkajs/src/protocol/recordBatch/record/v0') as (options: {
    offsetDelta: number;
    key: Buffer | null;
    value: Buffer;
  }) => EncoderLike;
  const decodeRecordBatch = requireCjs('kafkajs/src/protocol/recordBatch/v0/decoder') as (
    decoder: unknown,
  ) => Promise<{ records: { value: Buffer }[] }>;
  const Decoder = requireCjs('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown;

  const types: [string, number][] = [
    ['snappy', CompressionTypes.Snappy],
    ['lz4', CompressionTypes.LZ4],
    ['zstd', CompressionTypes.ZSTD],
  ];
  it.each(types)('kafkajs encodes and decodes a %s record batch', async (_name, compression) => {
    await registerCompressionCodecs();
    const values = Array.from({ length: 50 }, (_, i) => Buffer.from(`cpu,host=h${i} usage=${i}`));
    const batch = await RecordBatch({
      compression,
      firstTimestamp: 1_700_000_000_000,
      maxTimestamp: 1_700_000_000_000,
      lastOffsetDelta: values.length - 1,
      records: values.map((value, offsetDelta) => Record({ offsetDelta, key: null, value })),
    });
    const decoded = await decodeRecordBatch(new Decoder(batch.buffer));
    expect(decoded.records.map((record) => record.value.toString())).toEqual(
      values.map((value) => value.toString()),
    );
  });
});
