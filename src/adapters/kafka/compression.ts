/**
 * Kafka record-batch compression codecs that kafkajs lacks (it ships gzip only), so the worker
 * can read topics written by Java, librdkafka or Telegraf producers with any codec. All are
 * pure JavaScript or WebAssembly shipped inside the npm package: nothing is compiled or
 * downloaded at install time.
 *
 * - snappy: `snappyjs` (pure JS) for raw snappy blocks. Java producers (snappy-java's
 *   SnappyOutputStream) wrap blocks in the xerial framing (`\x82SNAPPY\0` header, then
 *   length-prefixed blocks); the deframing is done here rather than through `kafkajs-snappy`,
 *   which does the same on an older snappyjs but neither bounds-checks chunk lengths nor
 *   avoids quadratic concatenation. We compress to raw snappy, as kafkajs-snappy and
 *   librdkafka do; Java and librdkafka consumers read both forms.
 * - lz4: `lz4js` (pure JS) for the LZ4 frame format Kafka uses. Its decoder reads any frame
 *   (linked or independent blocks; checksums are skipped, not verified). Its own frame
 *   *writer* is not used: it emits 4 MiB blocks whose last match may start inside the final
 *   12 bytes, which the reference decoders (liblz4, lz4-java) reject for a full block. Frames
 *   are written here from its block compressor instead, shaped like Kafka's Java producer
 *   (independent 64 KiB blocks, no checksums) and filled to 16 bytes short of the block size
 *   so that rule can never be hit.
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
  compress(input: Buffer): Buffer;
  uncompress(input: Buffer): Buffer;
}

interface Lz4Js {
  decompress(input: Uint8Array): Uint8Array;
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

/** Decompresses raw snappy or xerial-framed snappy (what Java's snappy-java writes). */
function snappyDecompress(buffer: Buffer): Buffer {
  if (!isXerialFramed(buffer)) return asBuffer(snappy.uncompress(buffer));
  if (buffer.length < XERIAL_HEADER_LENGTH) {
    throw new Error(`snappy: xerial header truncated (${buffer.length} bytes)`);
  }
  const chunks: Buffer[] = [];
  let offset = XERIAL_HEADER_LENGTH;
  while (offset < buffer.length) {
    if (offset + 4 > buffer.length) {
      throw new Error(`snappy: xerial chunk length truncated at byte ${offset}`);
    }
    const length = buffer.readUInt32BE(offset);
    offset += 4;
    if (offset + length > buffer.length) {
      throw new Error(
        `snappy: xerial chunk of ${length} bytes at byte ${offset} overruns the ${buffer.length}-byte frame`,
      );
    }
    chunks.push(asBuffer(snappy.uncompress(buffer.subarray(offset, offset + length))));
    offset += length;
  }
  return Buffer.concat(chunks);
}

/** Codec for Kafka compression type 2 (snappy). */
export const snappyCodec: KafkaCodec = {
  compress: (encoder) => Promise.resolve(asBuffer(snappy.compress(encoder.buffer))),
  decompress: (buffer) => Promise.resolve(snappyDecompress(buffer)),
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

/** Codec for Kafka compression type 3 (LZ4 frame format). */
export const lz4Codec: KafkaCodec = {
  compress: (encoder) => Promise.resolve(lz4CompressFrame(encoder.buffer)),
  decompress: (buffer) => Promise.resolve(asBuffer(lz4.decompress(buffer))),
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
    return asBuffer(zstdCompress(encoder.buffer, ZSTD_LEVEL));
  },
  decompress: (buffer) => Promise.resolve(asBuffer(zstdDecompress(buffer))),
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
