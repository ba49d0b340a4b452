/**
 * What an HDF5 file's superblock says, read with plain file reads (HDF5 is not opened): version,
 * base and end-of-file addresses, and the file consistency flags. References are to "HDF5 File
 * Format Specification Version 3.0", II.A "Disk Format: Level 0A - Format Signature and
 * Superblock". Only a superblock at offset 0 with 8-byte offsets and lengths is understood (what
 * h5py, pynwb and h5wasm write); anything else is reported, never guessed.
 *
 * - versions 0 and 1 (HDF5 1.6 format, h5py's default): signature (8), versions (5 bytes), sizes of
 *   offsets and lengths, group K values, 4 bytes of consistency flags (unused by HDF5 ≥ 1.8),
 *   version 1 only: indexed storage K + reserved (4), then base, free-space, end-of-file and
 *   driver-information addresses;
 * - versions 2 and 3 (`libver="latest"`, our own files): signature, version, sizes, one byte of
 *   flags, base, extension, end-of-file, root addresses, lookup3 checksum. In version 3 flag bit 0
 *   means "open for write" and bit 2 "open for SWMR write": a file left so by a crashed writer
 *   cannot be opened by HDF5 until `h5clear -s` resets it.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

export const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

export interface SuperblockInfo {
  version: number;
  /** Address every other address is relative to (0 without a user block). */
  base: bigint;
  /** The end-of-file address HDF5 recorded (relative to base). */
  endOfFile: bigint;
  /** The file's real size in bytes. */
  fileSize: number;
  /** Version 3: the file is marked open for writing (bit 0) or SWMR writing (bit 2). */
  openForWrite: boolean;
}

/** Whether a file starts with the HDF5 signature (reads 8 bytes). */
export function isHdf5File(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const b = Buffer.alloc(8);
    const n = readSync(fd, b, 0, 8, 0);
    return n === 8 && HDF5_SIGNATURE.every((x, i) => b[i] === x);
  } finally {
    closeSync(fd);
  }
}

/** Read the superblock at offset 0; throws an Error naming the problem when it is not one we understand. */
export function readSuperblockInfo(path: string): SuperblockInfo {
  const fd = openSync(path, "r");
  try {
    const b = Buffer.alloc(96);
    const n = readSync(fd, b, 0, b.length, 0);
    const fileSize = fstatSync(fd).size;
    if (n < 48 || !HDF5_SIGNATURE.every((x, i) => b[i] === x)) throw new Error("no HDF5 signature at offset 0 (not an HDF5 file, or one with a user block)");
    return parseSuperblock(b.subarray(0, n), fileSize);
  } finally {
    closeSync(fd);
  }
}

/** Parse superblock bytes (from offset 0 of the file). */
export function parseSuperblock(b: Uint8Array, fileSize: number): SuperblockInfo {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const version = b[8]!;
  if (version === 0 || version === 1) {
    if (b[13] !== 8 || b[14] !== 8) throw new Error(`sizes of offsets/lengths ${b[13]}/${b[14]}; only 8/8 is supported`);
    const at = version === 0 ? 24 : 28;
    if (b.length < at + 32) throw new Error("the superblock is cut short");
    return { version, base: v.getBigUint64(at, true), endOfFile: v.getBigUint64(at + 16, true), fileSize, openForWrite: false };
  }
  if (version === 2 || version === 3) {
    if (b[9] !== 8 || b[10] !== 8) throw new Error(`sizes of offsets/lengths ${b[9]}/${b[10]}; only 8/8 is supported`);
    const flags = b[11]!;
    return {
      version,
      base: v.getBigUint64(12, true),
      endOfFile: v.getBigUint64(28, true),
      fileSize,
      openForWrite: version === 3 && (flags & 0b101) !== 0,
    };
  }
  throw new Error(`superblock version ${version} is not known`);
}
