/**
 * HDF5 boolean columns as h5py writes them (enum of int8 with FALSE=0, TRUE=1), for files written
 * with h5wasm, which cannot create enum types.
 *
 * How: a bool dataset is first created with a 1-byte placeholder type that h5wasm can create, a
 * compound with a single int8 member named {@link BOOL_PLACEHOLDER_MEMBER}. With the file's default
 * format bounds (h5wasm 0.10.3 bundles HDF5 2.0, low bound v1.8) its datatype message is version 3
 * and exactly as long (33 bytes) as the enum's, and both types are 1 byte wide. While the file is
 * closed, {@link convertToBoolEnum} rewrites only that message's body with the enum's encoding and
 * recomputes the checksum of the object header chunk that holds it. Nothing else changes: the
 * element size (which the fill value and layout messages depend on) stays 1, no message moves or
 * changes length, and the object header's message count and chunk sizes stay as they are.
 *
 * Every byte-level rule lives in this module. References are to section names of the "HDF5 File
 * Format Specification Version 3.0" (docs.hdfgroup.org; numbering as in that document):
 *   - II.A "Disk Format: Level 0A - Format Signature and Superblock" (superblock versions 2 and 3),
 *   - IV.A.1.b "Version 2 Data Object Header Prefix" (messages, gap, checksum; "OCHK" chunks),
 *   - IV.A.2.b "The Dataspace Message", IV.A.2.d "The Datatype Message",
 *     IV.A.2.e "The Data Storage - Fill Value (Old) Message",
 *     IV.A.2.f "The Data Storage - Fill Value Message", IV.A.2.i "The Data Layout Message",
 *     IV.A.2.q "The Object Header Continuation Message",
 *   - the checksum fields: Bob Jenkins' lookup3 `hashlittle`, initial value 0 (HDF5's
 *     H5_checksum_metadata).
 *
 * Anything outside what this module understands (version 1 object headers, datatype versions other
 * than 3, a non-empty dataset, a checksum that does not verify, a datatype that is not byte-for-byte
 * the placeholder, …) makes it throw before a single byte is written.
 */
import { closeSync, fsyncSync, openSync, readSync, writeSync } from "node:fs";
import type { Metadata } from "h5wasm/node";
import type { H5File, H5Group } from "./h5wasm.js";
import { errorText, h5wasm, openHdf5 } from "./h5wasm.js";
import { defaultChunkRows } from "./appendable-dataset.js";
import { BoolPatchError, NwbError } from "../../errors.js";

/**
 * Name of the placeholder compound's only member. Its length (11) is what makes the placeholder's
 * datatype message exactly as long as the enum's: 8 + (11 + 1) + 1 + 12 = 33 bytes.
 */
export const BOOL_PLACEHOLDER_MEMBER = "__nwb_bool_";

/** The h5wasm dtype of a placeholder dataset: a 1-byte compound `{__nwb_bool_: int8}`. */
export const BOOL_PLACEHOLDER_DTYPE: [string, string][] = [[BOOL_PLACEHOLDER_MEMBER, "<b"]];

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

/**
 * Fixed-point datatype, version 1, 1 byte, little-endian, signed, bit offset 0, precision 8
 * (IV.A.2.d, class 0: bit field bit 3 = signed; properties: bit offset u16, bit precision u16).
 * It is both the placeholder's member type and the enum's base type, as HDF5 encodes them.
 */
const INT8_TYPE = [0x10, 0x08, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00];

/**
 * The placeholder's datatype message body (IV.A.2.d, class 6 "Compound", version 3): class and
 * version byte 0x36, bit field = number of members (1), size 1; then the member: its name
 * NUL-terminated and not padded (version 3), its byte offset in as many bytes as the compound's
 * size needs (1 byte: 0), its datatype.
 */
export const PLACEHOLDER_DTYPE_BODY = Uint8Array.from([
  0x36,
  0x01,
  0x00,
  0x00,
  0x01,
  0x00,
  0x00,
  0x00,
  ...ascii(BOOL_PLACEHOLDER_MEMBER),
  0x00,
  0x00,
  ...INT8_TYPE,
]);

/**
 * The enum's datatype message body, byte for byte what HDF5 writes for h5py's bool with format
 * bounds (v108, latest) (IV.A.2.d, class 8 "Enumeration", version 3): class and version byte 0x38,
 * bit field = number of members (2), size 1; base type; member names NUL-terminated, not padded
 * (version 3); member values packed in base type order (0, 1).
 */
export const BOOL_ENUM_DTYPE_BODY = Uint8Array.from([
  0x38,
  0x02,
  0x00,
  0x00,
  0x01,
  0x00,
  0x00,
  0x00,
  ...INT8_TYPE,
  ...ascii("FALSE"),
  0x00,
  ...ascii("TRUE"),
  0x00,
  0x00,
  0x01,
]);

if (PLACEHOLDER_DTYPE_BODY.length !== BOOL_ENUM_DTYPE_BODY.length) {
  throw new NwbError("internal: placeholder and enum datatype encodings differ in length");
}

/** Options for {@link createBoolPlaceholder}; the same meaning as for AppendableDataset. */
export interface BoolPlaceholderSpec {
  /** Shape of one row: `[]` for scalars, `[3]` for a 3-vector, … */
  rowShape?: readonly number[];
  /** Rows per chunk (first axis). */
  chunkRows?: number;
}

/**
 * Create an empty, chunked dataset at `path` (parent group must exist) that grows along axis 0
 * (`maxshape (None, *rowShape)`) with the placeholder type. Run {@link convertToBoolEnum} on it
 * (with the file closed) before writing any row. Attach for appends afterwards as an `int8`
 * AppendableDataset: values are raw bytes 0 (FALSE) and 1 (TRUE).
 */
export function createBoolPlaceholder(file: H5File, path: string, spec: BoolPlaceholderSpec = {}): void {
  const rowShape = spec.rowShape ?? [];
  // The default of AppendableDataset.create, so chunking matches the other columns.
  const chunkRows = spec.chunkRows ?? defaultChunkRows(rowShape);
  const slash = path.lastIndexOf("/");
  const parent: H5Group | null = slash <= 0 ? file : (file.get(path.slice(0, slash)) as H5Group | null);
  if (!parent || !(parent instanceof h5wasm.Group)) throw new NwbError(`cannot create ${path}: parent group is missing`);
  try {
    parent.create_dataset({
      name: path.slice(slash + 1),
      data: new Map([[BOOL_PLACEHOLDER_MEMBER, new Int8Array(0)]]),
      shape: [0, ...rowShape],
      maxshape: [null, ...rowShape],
      chunks: [chunkRows, ...rowShape.map((d) => Math.max(1, d))],
      dtype: BOOL_PLACEHOLDER_DTYPE,
    });
  } catch (err) {
    throw new NwbError(`cannot create bool dataset ${path}: ${errorText(err)}`);
  }
}

/** h5wasm metadata of a dataset (or type) that is the placeholder compound. */
export function isBoolPlaceholderMetadata(m: Metadata): boolean {
  const members = m.compound_type?.members;
  const member = members?.[0];
  return (
    m.type === 6 &&
    m.size === 1 &&
    members?.length === 1 &&
    member !== undefined &&
    member.name === BOOL_PLACEHOLDER_MEMBER &&
    member.type === 0 &&
    member.size === 1 &&
    member.signed === true &&
    member.offset === 0
  );
}

/** h5wasm metadata of a dataset that is h5py's bool: enum of a 1-byte integer, FALSE=0, TRUE=1. */
export function isBoolEnumMetadata(m: Metadata): boolean {
  const e = m.enum_type;
  if (m.type !== 8 || m.size !== 1 || !e) return false;
  const names = Object.keys(e.members);
  return names.length === 2 && e.members["FALSE"] === 0 && e.members["TRUE"] === 1;
}

export interface BoolConversion {
  /** Datasets whose datatype was rewritten. */
  converted: string[];
  /** Datasets that already were h5py bools (nothing written). */
  alreadyBool: string[];
}

/**
 * Turn placeholder datasets (see {@link createBoolPlaceholder}) of the HDF5 file at `filePath` into
 * h5py bool datasets. The file must not be open anywhere — not in this process (h5wasm shares an
 * open file's cache with a second open, which would then overwrite the patch) and not elsewhere.
 *
 * Steps: (1) open read-only with h5wasm, check that every path is an empty placeholder (or already
 * a bool) and take its object header address from an object reference; close. (2) Parse each
 * object header, verify all its chunk checksums, find the one datatype message and check it is
 * byte-for-byte the placeholder; compute all patches. Only if every dataset passes, (3) write the
 * 33-byte message bodies and the recomputed chunk checksums, fsync. (4) Reopen read-only with
 * h5wasm and check that every path now reads as an enum FALSE=0/TRUE=1 with unchanged shape,
 * maximum shape and chunks. Idempotent: converted datasets are skipped.
 */
export async function convertToBoolEnum(filePath: string, datasetPaths: readonly string[]): Promise<BoolConversion> {
  const result: BoolConversion = { converted: [], alreadyBool: [] };
  if (datasetPaths.length === 0) return result;

  // (1) What h5wasm sees, and where each object header is.
  const targets: { path: string; address: bigint; meta: Metadata }[] = [];
  {
    const { file } = await openHdf5(filePath, "r");
    try {
      for (const p of datasetPaths) {
        const ds = file.get(p);
        if (!(ds instanceof h5wasm.Dataset)) throw new BoolPatchError(filePath, p, "is not a dataset");
        const meta = ds.metadata;
        if (isBoolEnumMetadata(meta)) {
          result.alreadyBool.push(p);
          continue;
        }
        if (!isBoolPlaceholderMetadata(meta)) throw new BoolPatchError(filePath, p, "does not have the bool placeholder type");
        if (!meta.shape || meta.shape.length === 0 || meta.shape[0] !== 0) {
          throw new BoolPatchError(filePath, p, `is not empty (shape ${JSON.stringify(meta.shape)}); convert right after creation`);
        }
        // An object reference (H5R_OBJECT, hobj_ref_t) is the object header's address. h5wasm
        // hands it over as a plain array despite its Uint8Array typing.
        const ref = Uint8Array.from(ds.create_reference().ref_data);
        if (ref.length !== 8) throw new BoolPatchError(filePath, p, `object reference of ${ref.length} bytes, expected 8`);
        const address = view(ref).getBigUint64(0, true);
        if (targets.some((t) => t.address === address)) throw new BoolPatchError(filePath, p, "is the same object as another path in the list");
        targets.push({ path: p, address, meta });
      }
    } finally {
      file.close();
    }
  }
  if (targets.length === 0) return result;

  // (2) Parse and plan; (3) write only when everything is understood.
  const fd = openSync(filePath, "r+");
  try {
    const reader = new FileReader(fd);
    const sb = readSuperblock(reader, filePath);
    const patches: Patch[] = [];
    for (const t of targets) {
      try {
        patches.push(...planPatch(reader, sb, t.address));
      } catch (err) {
        throw new BoolPatchError(filePath, t.path, errorText(err));
      }
    }
    for (const patch of patches) {
      const n = writeSync(fd, patch.bytes, 0, patch.bytes.length, patch.at);
      if (n !== patch.bytes.length) throw new NwbError(`short write to ${filePath} at ${patch.at}`);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }

  // (4) Read back through HDF5 itself.
  {
    const { file } = await openHdf5(filePath, "r");
    try {
      for (const t of targets) {
        const ds = file.get(t.path);
        const meta = ds instanceof h5wasm.Dataset ? ds.metadata : undefined;
        if (!meta || !isBoolEnumMetadata(meta)) throw new BoolPatchError(filePath, t.path, "does not read as a bool enum after patching");
        for (const k of ["shape", "maxshape", "chunks"] as const) {
          if (JSON.stringify(meta[k]) !== JSON.stringify(t.meta[k])) {
            throw new BoolPatchError(filePath, t.path, `${k} changed by patching: ${JSON.stringify(t.meta[k])} → ${JSON.stringify(meta[k])}`);
          }
        }
        result.converted.push(t.path);
      }
    } finally {
      file.close();
    }
  }
  return result;
}

export { BoolPatchError };

// ---------------------------------------------------------------------------------------------
// Byte level
// ---------------------------------------------------------------------------------------------

interface Patch {
  at: number;
  bytes: Uint8Array;
}

class FileReader {
  constructor(private readonly fd: number) {}

  read(at: number | bigint, length: number): Uint8Array {
    const pos = Number(at);
    if (!Number.isSafeInteger(pos) || pos < 0) throw new NwbError(`address ${at} out of range`);
    const buf = new Uint8Array(length);
    const n = readSync(this.fd, buf, 0, length, pos);
    if (n !== length) throw new NwbError(`unexpected end of file reading ${length} bytes at ${pos}`);
    return buf;
  }
}

interface Superblock {
  /** Base address: every address in the file is relative to it. */
  base: bigint;
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * II.A "Format Signature and Superblock", versions 2 and 3: signature (8), version (1), size of offsets (1), size
 * of lengths (1), file consistency flags (1), base address, superblock extension address, end of
 * file address, root group object header address, checksum (4). Only a superblock at offset 0 (no
 * user block) with 8-byte offsets and lengths is accepted.
 */
function readSuperblock(r: FileReader, filePath: string): Superblock {
  const b = r.read(0, 48);
  for (let i = 0; i < 8; i++) {
    if (b[i] !== HDF5_SIGNATURE[i]) throw new NwbError(`${filePath}: no HDF5 superblock at offset 0 (a user block is not supported)`);
  }
  const version = b[8]!;
  if (version !== 2 && version !== 3) {
    throw new NwbError(`${filePath}: superblock version ${version}; only versions 2 and 3 (file format bounds v1.8 or later) are supported`);
  }
  if (b[9] !== 8 || b[10] !== 8) throw new NwbError(`${filePath}: sizes of offsets/lengths ${b[9]}/${b[10]}; only 8/8 is supported`);
  const v = view(b);
  const stored = v.getUint32(44, true);
  if (lookup3(b.subarray(0, 44)) !== stored) throw new NwbError(`${filePath}: superblock checksum does not verify`);
  return { base: v.getBigUint64(12, true) };
}

/** One message in an object header chunk, with absolute file positions. */
interface Message {
  type: number;
  flags: number;
  /** File position of the message data. */
  at: number;
  data: Uint8Array;
}

/** One object header chunk: its image (all bytes the checksum covers) and messages. */
interface Chunk {
  at: number;
  image: Uint8Array;
  messages: Message[];
}

const MSG_DATASPACE = 0x0001;
const MSG_DATATYPE = 0x0003;
const MSG_FILL_OLD = 0x0004;
const MSG_FILL = 0x0005;
const MSG_LAYOUT = 0x0008;
const MSG_CONTINUATION = 0x0010;

/** Parse the object header at `address`, check it, and return the patches that make it a bool. */
function planPatch(r: FileReader, sb: Superblock, address: bigint): Patch[] {
  const chunks = readObjectHeader(r, sb, address);
  const all = chunks.flatMap((c) => c.messages.map((m) => ({ chunk: c, m })));
  const dtypes = all.filter((x) => x.m.type === MSG_DATATYPE);
  if (dtypes.length !== 1) throw new NwbError(`object header has ${dtypes.length} datatype messages, expected 1`);
  const { chunk, m } = dtypes[0]!;
  // Message flags (IV.A.1.b): bit 0 "constant" is what HDF5 sets for a dataset's datatype; any
  // other bit (shared, shareable, fail-if-unknown, …) means a storage form this module does not
  // rewrite.
  if (m.flags !== 0x01) throw new NwbError(`datatype message flags 0x${m.flags.toString(16)}, expected 0x01 (constant only)`);
  if (!equalBytes(m.data, PLACEHOLDER_DTYPE_BODY)) {
    throw new NwbError(`datatype message is not the bool placeholder (${hex(m.data.subarray(0, 8))}…, ${m.data.length} bytes)`);
  }
  checkDataspaceEmpty(all.map((x) => x.m));
  checkLayout(all.map((x) => x.m));
  checkFillValue(all.map((x) => x.m));

  // New chunk image: same bytes, the datatype body replaced; then the chunk checksum.
  const image = chunk.image.slice();
  image.set(BOOL_ENUM_DTYPE_BODY, m.at - chunk.at);
  const checksum = new Uint8Array(4);
  view(checksum).setUint32(0, lookup3(image), true);
  return [
    { at: m.at, bytes: BOOL_ENUM_DTYPE_BODY },
    { at: chunk.at + chunk.image.length, bytes: checksum },
  ];
}

/**
 * IV.A.1.b "Version 2 Data Object Header Prefix": signature "OHDR", version 2, flags; access,
 * modification, change and birth times (4 bytes each) if flags bit 5; maximum compact / minimum
 * dense attribute counts (2 bytes each) if flags bit 4; size of chunk #0 in 1, 2, 4 or 8 bytes
 * (flags bits 0–1); the messages; a gap (shorter than a message header); checksum (4) over all
 * preceding bytes of the chunk. Continuation chunks (IV.A.2.q, "OCHK") hold messages and a gap
 * between their signature and checksum. Every chunk's checksum must verify.
 */
function readObjectHeader(r: FileReader, sb: Superblock, address: bigint): Chunk[] {
  const abs = (a: bigint): number => Number(sb.base + a);
  const at = abs(address);
  const pre = r.read(at, 4 + 1 + 1 + 16 + 4 + 8);
  if (String.fromCharCode(...pre.subarray(0, 4)) !== "OHDR") {
    throw new NwbError(
      pre[0] === 1 ? "version 1 object header (file format bounds 'earliest') is not supported" : "no object header signature at the object's address",
    );
  }
  if (pre[4] !== 2) throw new NwbError(`object header version ${pre[4]}, expected 2`);
  const flags = pre[5]!;
  if (flags & 0xc0) throw new NwbError(`object header flags 0x${flags.toString(16)} have reserved bits set`);
  let p = 6;
  if (flags & 0x20) p += 16;
  if (flags & 0x10) p += 4;
  const sizeBytes = 1 << (flags & 0x03);
  let size0 = 0n;
  for (let i = 0; i < sizeBytes; i++) size0 |= BigInt(pre[p + i]!) << BigInt(8 * i);
  p += sizeBytes;
  const withCreationOrder = (flags & 0x04) !== 0;

  const chunks: Chunk[] = [];
  const first = readChunk(r, at, p, Number(size0), withCreationOrder);
  chunks.push(first);
  const queue = [...first.messages];
  const seen = new Set<number>([at]);
  while (queue.length > 0) {
    const m = queue.shift()!;
    if (m.type !== MSG_CONTINUATION) continue;
    // IV.A.2.q: offset (size of offsets) and length (size of lengths) of the continuation chunk.
    if (m.data.length !== 16) throw new NwbError(`continuation message of ${m.data.length} bytes, expected 16`);
    const dv = view(m.data);
    const cAt = abs(dv.getBigUint64(0, true));
    const cLen = Number(dv.getBigUint64(8, true));
    if (seen.has(cAt)) throw new NwbError("object header continuation loop");
    seen.add(cAt);
    const sig = r.read(cAt, 4);
    if (String.fromCharCode(...sig) !== "OCHK") throw new NwbError("continuation chunk lacks its OCHK signature");
    if (cLen < 8) throw new NwbError(`continuation chunk of ${cLen} bytes`);
    const c = readChunk(r, cAt, 4, cLen - 8, withCreationOrder);
    chunks.push(c);
    queue.push(...c.messages);
  }
  return chunks;
}

/** Read a chunk whose messages start `prefix` bytes after `at` and span `size` bytes; check its checksum. */
function readChunk(r: FileReader, at: number, prefix: number, size: number, withCreationOrder: boolean): Chunk {
  if (!Number.isSafeInteger(size) || size < 0 || size > 1 << 24) throw new NwbError(`implausible object header chunk size ${size}`);
  const image = r.read(at, prefix + size);
  const stored = view(r.read(at + prefix + size, 4)).getUint32(0, true);
  if (lookup3(image) !== stored) throw new NwbError(`object header chunk at ${at}: checksum does not verify`);
  const headerSize = withCreationOrder ? 6 : 4;
  const messages: Message[] = [];
  let p = prefix;
  const end = prefix + size;
  // Message header (IV.A.1.b): type (1), size of message data (2), flags (1), creation order (2)
  // if the header's flags bit 2 is set; then the data.
  while (end - p >= headerSize) {
    const type = image[p]!;
    const len = image[p + 1]! | (image[p + 2]! << 8);
    const flags = image[p + 3]!;
    const dataAt = p + headerSize;
    if (dataAt + len > end) throw new NwbError(`message of type ${type} runs past its chunk`);
    messages.push({ type, flags, at: at + dataAt, data: image.subarray(dataAt, dataAt + len) });
    p = dataAt + len;
  }
  // What is left is a gap, which must be smaller than a message header (IV.A.1.b).
  return { at, image, messages };
}

/** IV.A.2.b "The Dataspace Message", versions 1 and 2: the first dimension must be 0 (empty). */
function checkDataspaceEmpty(messages: Message[]): void {
  const m = one(messages, MSG_DATASPACE, "dataspace");
  const d = m.data;
  const version = d[0]!;
  const rank = d[1]!;
  if (rank < 1) throw new NwbError("dataset is scalar or null, expected at least one dimension");
  const dimsAt = version === 1 ? 8 : version === 2 ? 4 : -1;
  if (dimsAt < 0) throw new NwbError(`dataspace message version ${version}, expected 1 or 2`);
  if (d.length < dimsAt + 8 * rank) throw new NwbError("dataspace message too short");
  if (view(d).getBigUint64(dimsAt, true) !== 0n) throw new NwbError("dataset is not empty");
}

/**
 * IV.A.2.i "The Data Layout Message", version 3 (class 2 "chunked": dimensionality,
 * B-tree address, dimension sizes of 4 bytes, the last being the element size) or version 4
 * (class 2: flags, dimensionality, encoded dimension size width, dimension sizes, …, the last
 * again the element size). The element size must be 1 — it is what the layout depends on, and it
 * is the same for placeholder and enum.
 */
function checkLayout(messages: Message[]): void {
  const m = one(messages, MSG_LAYOUT, "layout");
  const d = m.data;
  const version = d[0]!;
  if (d[1] !== 2) throw new NwbError(`layout class ${d[1]}, expected 2 (chunked)`);
  let last: number;
  if (version === 3) {
    const ndims = d[2]!;
    last = view(d).getUint32(3 + 8 + 4 * (ndims - 1), true);
  } else if (version === 4) {
    const ndims = d[3]!;
    const width = d[4]!;
    let v = 0;
    const at = 5 + width * (ndims - 1);
    for (let i = 0; i < width; i++) v += d[at + i]! * 2 ** (8 * i);
    last = v;
  } else {
    throw new NwbError(`layout message version ${version}, expected 3 or 4`);
  }
  if (last !== 1) throw new NwbError(`layout element size ${last}, expected 1`);
}

/**
 * IV.A.2.f "The Data Storage - Fill Value Message" (versions 1–3) and IV.A.2.e (old): a defined
 * fill value must be one byte, 0 or 1, so it means FALSE or TRUE once the type is the enum.
 */
function checkFillValue(messages: Message[]): void {
  for (const m of messages) {
    const d = m.data;
    let value: Uint8Array | undefined;
    if (m.type === MSG_FILL_OLD) {
      const n = view(d).getUint32(0, true);
      value = d.subarray(4, 4 + n);
    } else if (m.type === MSG_FILL) {
      const version = d[0]!;
      if (version === 3) {
        if (d[1]! & 0x20) value = d.subarray(6, 6 + view(d).getUint32(2, true));
      } else if (version === 1 || version === 2) {
        if (d[3] === 1 || version === 1) {
          const n = d.length >= 8 ? view(d).getUint32(4, true) : 0;
          value = d.subarray(8, 8 + n);
        }
      } else {
        throw new NwbError(`fill value message version ${version}, expected 1–3`);
      }
    } else {
      continue;
    }
    if (value && value.length > 0 && (value.length !== 1 || value[0]! > 1)) {
      throw new NwbError(`fill value ${hex(value)} is not one byte 0 or 1`);
    }
  }
}

function one(messages: Message[], type: number, what: string): Message {
  const found = messages.filter((m) => m.type === type);
  if (found.length !== 1) throw new NwbError(`object header has ${found.length} ${what} messages, expected 1`);
  return found[0]!;
}

/**
 * Bob Jenkins' lookup3 `hashlittle` with initial value 0, which HDF5 uses for metadata checksums
 * (H5_checksum_metadata → H5_checksum_lookup3). Exported for tests.
 */
export function lookup3(k: Uint8Array, initval = 0): number {
  let length = k.length;
  let a = (0xdeadbeef + length + initval) | 0;
  let b = a;
  let c = a;
  let i = 0;
  const rot = (x: number, n: number): number => (x << n) | (x >>> (32 - n));
  while (length > 12) {
    a = (a + (k[i]! | (k[i + 1]! << 8) | (k[i + 2]! << 16) | (k[i + 3]! << 24))) | 0;
    b = (b + (k[i + 4]! | (k[i + 5]! << 8) | (k[i + 6]! << 16) | (k[i + 7]! << 24))) | 0;
    c = (c + (k[i + 8]! | (k[i + 9]! << 8) | (k[i + 10]! << 16) | (k[i + 11]! << 24))) | 0;
    // mix(a, b, c)
    a = (a - c) | 0;
    a ^= rot(c, 4);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rot(a, 6);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rot(b, 8);
    b = (b + a) | 0;
    a = (a - c) | 0;
    a ^= rot(c, 16);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rot(a, 19);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rot(b, 4);
    b = (b + a) | 0;
    length -= 12;
    i += 12;
  }
  if (length === 0) return c >>> 0;
  // The last 1–12 bytes (the fall-through switch of hashlittle).
  const tail = (o: number): number => (o < length ? k[i + o]! : 0);
  c = (c + (tail(8) | (tail(9) << 8) | (tail(10) << 16) | (tail(11) << 24))) | 0;
  b = (b + (tail(4) | (tail(5) << 8) | (tail(6) << 16) | (tail(7) << 24))) | 0;
  a = (a + (tail(0) | (tail(1) << 8) | (tail(2) << 16) | (tail(3) << 24))) | 0;
  // final(a, b, c)
  c ^= b;
  c = (c - rot(b, 14)) | 0;
  a ^= c;
  a = (a - rot(c, 11)) | 0;
  b ^= a;
  b = (b - rot(a, 25)) | 0;
  c ^= b;
  c = (c - rot(b, 16)) | 0;
  a ^= c;
  a = (a - rot(c, 4)) | 0;
  b ^= a;
  b = (b - rot(a, 14)) | 0;
  c ^= b;
  c = (c - rot(b, 24)) | 0;
  return c >>> 0;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}
