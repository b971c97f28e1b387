/**
 * Kafka record-batch compression codecs that kafkajs lacks (it ships gzip only), so the worker
 * can read topics written by Java, librdkafka or Go (Telegraf) producers with any codec. All are
 * pure JavaScript or WebAssembly shipped inside the npm package: nothing is compiled or
 * downloaded at install time.
 *
 * - snappy: `snappyjs` (pure JS) for raw snappy blocks. Java producers (snappy-java's
 *   SnappyOutputStream) wrap blocks in the xerial framing (`\x82SNAPPY\0` header, then
 *   length-prefixed blocks); the deframing is done here rather than through `kafkajs-snappy`,
 *   which does the same on an older snappyjs but neither bounds-checks chunk lengths nor
 *   avoids quadratic concatenation. We compress to raw snappy, as kafkajs-snappy and
 *   librdkafka do; Java and librdkafka consumers read both forms.
 * - lz4: `lz4js` (pure JS) for its LZ4 *block* coder only; the frame format Kafka uses is read
 *   and written here. Its frame writer emits linked blocks, which Kafka's Java consumer
 *   refuses ("Dependent block stream is unsupported"), in 4 MiB blocks whose last match may
 *   start inside the final 12 bytes, which liblz4 rejects for a full block. Its frame reader
 *   misplaces block checksums and verifies nothing. So frames are written like Kafka's Java
 *   producer (independent 64 KiB blocks, no checksums), each block filled to 16 bytes short of
 *   the size so that end-of-block rule is never hit, and read with bounds checks and content
 *   checksum verification. Checked both ways against kafka-clients 4.1.1 and the lz4 CLI when
 *   written; the unit test keeps frames they produced.
 * - zstd decompression: `fzstd` (pure JS). Java and librdkafka producers stream zstd and so
 *   omit the frame content size; fzstd handles that and concatenated frames, whereas the
 *   one-shot decompressor of @bokuweb/zstd-wasm caps unknown-size output at 1 MiB.
 * - zstd compression: `@bokuweb/zstd-wasm`, the reference C library compiled to wasm, at
 *   level 3 (Kafka's default). Loading the wasm is asynchronous, hence
 *   {@link registerCompressionCodecs} returns a promise.
 */
import { createRequire } from 'node:module';
import { compress as zstdCompress, init as zstdInit } from '@bokuweb/zstd-wasm';
import { decompress as zstdDecompress } from 'fzstd';
import kafkajs from 'kafkajs';
import { HealcastError } from '../../errors.js';

const { CompressionCodecs, CompressionTypes } = kafkajs;

/** The part of kafkajs' Encoder a codec reads: the serialised, uncompressed records. */
export interface CodecInput {
  readonly buffer: Buffer;
}

/** A kafkajs compression codec, as `CompressionCodecs[type]()` must return it. */
export interface KafkaCodec {
  compress(encoder: CodecInput): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

interface SnappyJs {
  compress(input: Uint8Array): Uint8Array;
  uncompress(input: Uint8Array, maxLength?: number): Uint8Array;
}

interface Lz4Js {
  decompressBlock(
    source: Uint8Array,
    destination: Uint8Array,
    sourceIndex: number,
    sourceLength: number,
    destinationIndex: number,
  ): number;
  compressBlock(
    source: Uint8Array,
    destination: Uint8Array,
    sourceIndex: number,
    sourceLength: number,
    hashTable: Uint32Array,
  ): number;
  compressBound(length: number): number;
}

interface Xxh32 {
  hash(seed: number, data: Uint8Array, index: number, length: number): number;
}

// These three packages are CommonJS without type declarations: load them through require and
// describe the few functions used above.
const requireCjs = createRequire(import.meta.url);
const snappy = requireCjs('snappyjs') as SnappyJs;
const lz4 = requireCjs('lz4js') as Lz4Js;
const xxh32 = requireCjs('lz4js/xxh32.js') as Xxh32;

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * Runs a synchronous codec step as a promise that rejects (never throws synchronously) with
 * an error naming the codec, the library's error kept as `cause`. kafkajs reports it as a
 * failed fetch; which batch it was is in kafkajs' own log context.
 */
function attempt(step: string, run: () => Buffer): Promise<Buffer> {
  try {
    return Promise.resolve(run());
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return Promise.reject(new Error(`${step} failed: ${message}`, { cause: error }));
  }
}

// --- snappy -------------------------------------------------------------------------------

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
/** Magic, then two big-endian int32 versions (current, minimum compatible). */
const XERIAL_HEADER_LENGTH = 16;

function isXerialFramed(buffer: Buffer): boolean {
  return (
    buffer.length >= XERIAL_MAGIC.length &&
    buffer.compare(XERIAL_MAGIC, 0, XERIAL_MAGIC.length, 0, XERIAL_MAGIC.length) === 0
  );
}

/**
 * No snappy element expands more than 64/3-fold (a 3-byte copy of 64 bytes), so a block whose
 * header claims more is corrupt; checking before snappyjs allocates the claimed length keeps a
 * flipped bit from costing gigabytes.
 */
const SNAPPY_MAX_EXPANSION = 22;

function snappyUncompressBlock(block: Buffer): Buffer {
  return asBuffer(snappy.uncompress(block, block.length * SNAPPY_MAX_EXPANSION + 16));
}

/** Decompresses raw snappy or xerial-framed snappy (what Java's snappy-java writes). */
function snappyDecompress(buffer: Buffer): Buffer {
  if (!isXerialFramed(buffer)) return snappyUncompressBlock(buffer);
  if (buffer.length < XERIAL_HEADER_LENGTH) {
    throw new Error(`xerial header truncated (${buffer.length} bytes)`);
  }
  const chunks: Buffer[] = [];
  let offset = XERIAL_HEADER_LENGTH;
  while (offset < buffer.length) {
    if (offset + 4 > buffer.length) {
      throw new Error(`xerial chunk length truncated at byte ${offset}`);
    }
    const length = buffer.readUInt32BE(offset);
    offset += 4;
    if (offset + length > buffer.length) {
      throw new Error(
        `xerial chunk of ${length} bytes at byte ${offset} overruns the ${buffer.length}-byte frame`,
      );
    }
    chunks.push(snappyUncompressBlock(buffer.subarray(offset, offset + length)));
    offset += length;
  }
  return Buffer.concat(chunks);
}

/** Codec for Kafka compression type 2 (snappy). */
export const snappyCodec: KafkaCodec = {
  compress: (encoder) =>
    attempt('snappy compression', () => asBuffer(snappy.compress(encoder.buffer))),
  decompress: (buffer) => attempt('snappy decompression', () => snappyDecompress(buffer)),
};

// --- lz4 ----------------------------------------------------------------------------------

const LZ4_MAGIC = 0x184d2204;
/** FLG: version 01, independent blocks, no block or content checksum, no content size. */
const LZ4_FLG = 0x60;
/** BD: 64 KiB maximum block size, as Kafka's Java producer writes. */
const LZ4_BD = 0x40;
const LZ4_MAX_BLOCK = 64 * 1024;
/**
 * Bytes put in one block. LZ4 requires the last match to start at least 12 bytes before the
 * end of a block, and lz4js only keeps 9; staying 16 bytes below the declared size keeps
 * decoders that check against the block capacity (liblz4, lz4-java) happy.
 */
const LZ4_BLOCK_PAYLOAD = LZ4_MAX_BLOCK - 16;
const LZ4_UNCOMPRESSED_FLAG = 0x8000_0000;
const LZ4_HASH_TABLE_SIZE = 1 << 16;

/** Second byte of the xxh32 of the descriptor (FLG, BD), as the frame format requires. */
const LZ4_HEADER_CHECKSUM = (xxh32.hash(0, Uint8Array.of(LZ4_FLG, LZ4_BD), 0, 2) >>> 8) & 0xff;

/** Writes an LZ4 frame of independent blocks (see the file comment for why not lz4js'). */
function lz4CompressFrame(source: Uint8Array): Buffer {
  const blockCount = Math.ceil(source.length / LZ4_BLOCK_PAYLOAD);
  // Worst case: every block stored uncompressed, each with its 4-byte size.
  const output = Buffer.allocUnsafe(7 + blockCount * 4 + source.length + 4);
  output.writeUInt32LE(LZ4_MAGIC, 0);
  output[4] = LZ4_FLG;
  output[5] = LZ4_BD;
  output[6] = LZ4_HEADER_CHECKSUM;
  let out = 7;
  const hashTable = new Uint32Array(LZ4_HASH_TABLE_SIZE);
  const scratch = new Uint8Array(lz4.compressBound(LZ4_BLOCK_PAYLOAD));
  for (let start = 0; start < source.length; start += LZ4_BLOCK_PAYLOAD) {
    const block = source.subarray(start, Math.min(start + LZ4_BLOCK_PAYLOAD, source.length));
    // A fresh table keeps every match inside its block: blocks stay independent.
    hashTable.fill(0);
    const compressedLength = lz4.compressBlock(block, scratch, 0, block.length, hashTable);
    if (compressedLength > 0 && compressedLength < block.length) {
      output.writeUInt32LE(compressedLength, out);
      output.set(scratch.subarray(0, compressedLength), out + 4);
      out += 4 + compressedLength;
    } else {
      output.writeUInt32LE((LZ4_UNCOMPRESSED_FLAG | block.length) >>> 0, out);
      output.set(block, out + 4);
      out += 4 + block.length;
    }
  }
  output.writeUInt32LE(0, out);
  return output.subarray(0, out + 4);
}

const LZ4_FLG_VERSION_MASK = 0xc0;
const LZ4_FLG_VERSION_1 = 0x40;
const LZ4_FLG_BLOCK_CHECKSUM = 0x10;
const LZ4_FLG_CONTENT_SIZE = 0x08;
const LZ4_FLG_CONTENT_CHECKSUM = 0x04;
const LZ4_FLG_DICTIONARY_ID = 0x01;
/** Maximum block size by the BD byte's 3-bit code (4..7). */
const LZ4_BLOCK_SIZES: Readonly<Record<number, number>> = {
  4: 64 * 1024,
  5: 256 * 1024,
  6: 1024 * 1024,
  7: 4 * 1024 * 1024,
};
/** An LZ4 sequence turns one input byte into at most 255 output bytes. */
const LZ4_MAX_EXPANSION = 255;

/**
 * Reads an LZ4 frame (linked or independent blocks, with or without checksums and content
 * size). The header checksum is not verified: Kafka's pre-0.10 messages carry a wrong one
 * (KAFKA-3160). Throws on a truncated frame, a block that decodes past its maximum size, or a
 * content size or content checksum that does not match.
 */
function lz4DecompressFrame(source: Buffer): Buffer {
  if (source.length < 7 || source.readUInt32LE(0) !== LZ4_MAGIC) {
    throw new Error('not an LZ4 frame (bad magic number)');
  }
  const flg = source[4] ?? 0;
  const bd = source[5] ?? 0;
  if ((flg & LZ4_FLG_VERSION_MASK) !== LZ4_FLG_VERSION_1) {
    throw new Error(`unsupported LZ4 frame version (FLG 0x${flg.toString(16)})`);
  }
  if ((flg & LZ4_FLG_DICTIONARY_ID) !== 0)
    throw new Error('LZ4 frames with a dictionary are unsupported');
  const maxBlock = LZ4_BLOCK_SIZES[(bd >> 4) & 0x07];
  if (maxBlock === undefined)
    throw new Error(`invalid LZ4 block size code (BD 0x${bd.toString(16)})`);
  const hasBlockChecksum = (flg & LZ4_FLG_BLOCK_CHECKSUM) !== 0;
  let declaredSize: number | undefined;
  let start = 6;
  if ((flg & LZ4_FLG_CONTENT_SIZE) !== 0) {
    if (source.length < 15) throw new Error('LZ4 frame truncated in its header');
    declaredSize = source.readUInt32LE(6) + source.readUInt32LE(10) * 2 ** 32;
    start = 14;
  }
  start += 1; // header checksum

  // First pass: check the block structure and bound the output, so one allocation suffices
  // and a corrupt size cannot make it huge.
  let capacity = 0;
  let pos = start;
  for (;;) {
    if (pos + 4 > source.length) throw new Error(`LZ4 frame truncated at byte ${pos}`);
    const word = source.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break;
    const size = word & 0x7fff_ffff;
    if (size > maxBlock) throw new Error(`LZ4 block of ${size} bytes exceeds ${maxBlock}`);
    pos += size + (hasBlockChecksum ? 4 : 0);
    if (pos > source.length) throw new Error(`LZ4 frame truncated in a block ending at ${pos}`);
    capacity +=
      (word & LZ4_UNCOMPRESSED_FLAG) !== 0 ? size : Math.min(maxBlock, size * LZ4_MAX_EXPANSION);
  }
  const end = pos;

  const output = new Uint8Array(capacity);
  let out = 0;
  pos = start;
  for (;;) {
    const word = source.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break;
    const size = word & 0x7fff_ffff;
    if ((word & LZ4_UNCOMPRESSED_FLAG) !== 0) {
      output.set(source.subarray(pos, pos + size), out);
      out += size;
    } else {
      const next = lz4.decompressBlock(source, output, pos, size, out);
      if (next - out > maxBlock || next > capacity) {
        throw new Error(`LZ4 block at byte ${pos - 4} decodes past its maximum size`);
      }
      out = next;
    }
    pos += size + (hasBlockChecksum ? 4 : 0);
  }
  if (declaredSize !== undefined && declaredSize !== out) {
    throw new Error(`LZ4 frame declares ${declaredSize} bytes but holds ${out}`);
  }
  if ((flg & LZ4_FLG_CONTENT_CHECKSUM) !== 0) {
    if (end + 4 > source.length) throw new Error('LZ4 frame truncated before its content checksum');
    const expected = source.readUInt32LE(end);
    if (xxh32.hash(0, output, 0, out) >>> 0 !== expected) {
      throw new Error('LZ4 content checksum mismatch');
    }
  }
  return Buffer.from(output.buffer, output.byteOffset, out);
}

/** Codec for Kafka compression type 3 (LZ4 frame format). */
export const lz4Codec: KafkaCodec = {
  compress: (encoder) => attempt('lz4 compression', () => lz4CompressFrame(encoder.buffer)),
  decompress: (buffer) => attempt('lz4 decompression', () => lz4DecompressFrame(buffer)),
};

// --- zstd ---------------------------------------------------------------------------------

/** Kafka's default zstd level. */
const ZSTD_LEVEL = 3;

let zstdReady: Promise<void> | undefined;

function loadZstd(): Promise<void> {
  zstdReady ??= zstdInit().catch((error: unknown) => {
    zstdReady = undefined;
    throw new HealcastError('FILE_UNREADABLE', 'the zstd WebAssembly module could not be loaded', {
      retriable: false,
      cause: error,
    });
  });
  return zstdReady;
}

/** Codec for Kafka compression type 4 (zstd). Loads the wasm compressor on first use. */
export const zstdCodec: KafkaCodec = {
  async compress(encoder) {
    await loadZstd();
    return attempt('zstd compression', () => asBuffer(zstdCompress(encoder.buffer, ZSTD_LEVEL)));
  },
  decompress: (buffer) => attempt('zstd decompression', () => asBuffer(zstdDecompress(buffer))),
};

// --- registration -------------------------------------------------------------------------

let registered: Promise<void> | undefined;

/**
 * Makes kafkajs (process-wide: its codec table is global) able to read and write snappy, LZ4
 * and zstd batches. Idempotent; call and await it before creating consumers or producers.
 * Rejects with a `FILE_UNREADABLE` HealcastError if the zstd wasm cannot be loaded, and may
 * then be called again.
 */
export function registerCompressionCodecs(): Promise<void> {
  registered ??= loadZstd().then(
    () => {
      CompressionCodecs[CompressionTypes.Snappy] = () => snappyCodec;
      CompressionCodecs[CompressionTypes.LZ4] = () => lz4Codec;
      CompressionCodecs[CompressionTypes.ZSTD] = () => zstdCodec;
    },
    (error: unknown) => {
      registered = undefined;
      throw error;
    },
  );
  return registered;
}
