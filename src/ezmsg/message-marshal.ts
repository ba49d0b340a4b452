/**
 * ezmsg 3.9's data-plane framing: a `TX_TCP` frame from a publisher, and the `MessageMarshal`
 * payload inside it (`core/messagemarshal.py`).
 *
 * ```
 * frame:   0x0D  u64 msg_id  u64 payload_size  payload
 * payload: "EZ"  u64 msg_id  u64 n_buffers (>= 1)  u64[n] lengths  buffer 0 (pickle 5) … buffer n-1
 * ```
 * All integers little-endian; buffers packed back to back with no alignment. Buffers are returned
 * as views into the input (no copy): whoever keeps them past the input's lifetime copies.
 */
import { Command } from "./wire.js";

const TX_TCP = Command.TX_TCP;

export type FrameErrorCode = "truncated" | "bad_command" | "bad_preamble" | "msg_id_mismatch" | "bad_buffer_count" | "size_mismatch" | "limit_exceeded";

/** A frame or payload that is not what ezmsg writes. `offset` is into the frame/payload given. */
export class MessageFrameError extends Error {
  constructor(
    readonly code: FrameErrorCode,
    readonly offset: number,
    readonly problem: string,
  ) {
    super(`ezmsg message frame rejected (${code}) at byte ${offset}: ${problem}`);
    this.name = "MessageFrameError";
  }
}

export interface MarshalPayload {
  msgId: bigint;
  /** buffers[0] is the pickle stream, buffers[1..] the out-of-band buffers, in order. */
  buffers: Uint8Array[];
}

/** Most buffers a payload may declare (each costs 8 header bytes; ezmsg uses one per array). */
export const MAX_BUFFERS = 65536;

function u64(dv: DataView, at: number): bigint {
  return dv.getBigUint64(at, true);
}

/** Split a MessageMarshal payload. `expectedMsgId`, if given, must equal the payload's. */
export function parseMarshalPayload(payload: Uint8Array, expectedMsgId?: bigint): MarshalPayload {
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (payload.length < 18) throw new MessageFrameError("truncated", payload.length, `payload of ${payload.length} bytes is shorter than its 18-byte header`);
  if (payload[0] !== 0x45 || payload[1] !== 0x5a)
    throw new MessageFrameError("bad_preamble", 0, `payload starts 0x${hex(payload[0]!)} 0x${hex(payload[1]!)}, not "EZ"`);
  const msgId = u64(dv, 2);
  if (expectedMsgId !== undefined && msgId !== expectedMsgId) {
    throw new MessageFrameError("msg_id_mismatch", 2, `payload msg_id ${msgId} differs from the frame's ${expectedMsgId}`);
  }
  const n = u64(dv, 10);
  if (n < 1n || n > BigInt(MAX_BUFFERS)) throw new MessageFrameError("bad_buffer_count", 10, `n_buffers ${n} (must be 1 to ${MAX_BUFFERS})`);
  const count = Number(n);
  const headerEnd = 18 + 8 * count;
  if (headerEnd > payload.length)
    throw new MessageFrameError("truncated", 18, `${count} buffer lengths need ${headerEnd} bytes, payload has ${payload.length}`);
  const buffers: Uint8Array[] = [];
  let at = headerEnd;
  for (let i = 0; i < count; i++) {
    const len = u64(dv, 18 + 8 * i);
    if (len > BigInt(payload.length - at)) {
      throw new MessageFrameError("size_mismatch", 18 + 8 * i, `buffer ${i} declares ${len} bytes, only ${payload.length - at} remain`);
    }
    buffers.push(payload.subarray(at, at + Number(len)));
    at += Number(len);
  }
  if (at !== payload.length) throw new MessageFrameError("size_mismatch", at, `${payload.length - at} bytes after the last buffer`);
  return { msgId, buffers };
}

/** Size of a TX_TCP frame header (command + msg_id + payload_size). */
export const TX_TCP_HEADER = 17;

/** Parse a TX_TCP frame header: msg_id and payload size. */
export function parseTxTcpHeader(header: Uint8Array): { msgId: bigint; payloadSize: bigint } {
  if (header.length < TX_TCP_HEADER) throw new MessageFrameError("truncated", header.length, "frame shorter than its 17-byte header");
  if (header[0] !== TX_TCP) throw new MessageFrameError("bad_command", 0, `command byte 0x${hex(header[0]!)} is not TX_TCP (0x0d)`);
  const dv = new DataView(header.buffer, header.byteOffset, header.byteLength);
  return { msgId: u64(dv, 1), payloadSize: u64(dv, 9) };
}

/** Parse one whole TX_TCP frame (header + payload, nothing after). */
export function parseTxTcpFrame(frame: Uint8Array): MarshalPayload {
  const { msgId, payloadSize } = parseTxTcpHeader(frame);
  if (payloadSize !== BigInt(frame.length - TX_TCP_HEADER)) {
    throw new MessageFrameError(
      payloadSize > BigInt(frame.length - TX_TCP_HEADER) ? "truncated" : "size_mismatch",
      9,
      `payload_size ${payloadSize}, frame carries ${frame.length - TX_TCP_HEADER} bytes`,
    );
  }
  return parseMarshalPayload(frame.subarray(TX_TCP_HEADER), msgId);
}

function hex(b: number): string {
  return b.toString(16).padStart(2, "0");
}
