/**
 * Data streams into an NWB output: one {@link StreamWriter} per stream and output file. Used live
 * by `record --streams` and by `recover` when it replays the sample journal, so both write the
 * same series the same way. A new segment of the output (a rotation) starts new writers: each
 * stream continues there in a series of its own (docs/stream-writer.md).
 */
import { setTextAttr } from "../nwb/hdf5/attributes.js";
import type { NwbFile } from "../nwb/nwb-file.js";
import { type NewSeriesReason, type SampleChunk, StreamWriter } from "../nwb/stream-writer.js";
import type { NwbOutput } from "../output/output.js";

export interface StreamSinkOptions {
  output: NwbOutput;
  /** Location of the electrodes of ElectricalSeries (default: the stream writer's "unknown"). */
  electrodeLocation?: string;
  /** Description of a stream's series. Default `ezmsg stream <topic>`. */
  describe?: (topic: string) => string;
  /** Device of ElectricalSeries. Default: the ezmsg pipeline. */
  device?: { name: string; description: string };
}

export interface StreamWrite {
  /** Set when the chunk started a series: why, and its name. */
  newSeries?: { reason: NewSeriesReason; name: string };
}

export class StreamSink {
  private file: NwbFile | null = null;
  private writers = new Map<string, StreamWriter>();
  private taken = new Set<string>();

  constructor(private readonly options: StreamSinkOptions) {}

  /** Append a chunk of `topic` to the output's current file. */
  async write(topic: string, chunk: SampleChunk): Promise<StreamWrite> {
    const nwb = await this.options.output.current();
    if (nwb !== this.file) {
      this.file = nwb;
      this.writers = new Map();
      this.taken = new Set();
    }
    let w = this.writers.get(topic);
    if (!w) {
      w = new StreamWriter(
        nwb,
        topic,
        {
          description: this.options.describe?.(topic) ?? `ezmsg stream ${topic}`,
          device: this.options.device ?? {
            name: "ezmsg_pipeline",
            description: "The ezmsg pipeline that published the recorded streams (hardware not described by the source).",
          },
          ...(this.options.electrodeLocation !== undefined ? { electrodeLocation: this.options.electrodeLocation } : {}),
        },
        this.taken,
      );
      this.writers.set(topic, w);
    }
    const before = w.series.length;
    const reason = w.write(chunk);
    this.options.output.countRows(chunk.rows);
    return reason !== null && w.series.length > before ? { newSeries: { reason, name: w.series.at(-1)! } } : {};
  }

  /** Note in the open file's series of `topic` that messages were dropped. */
  noteDrops(topic: string, text: string): void {
    const nwb = this.file;
    const w = this.writers.get(topic);
    if (!nwb || nwb.isClosed || !w) return;
    for (const name of w.series) setTextAttr(nwb.group(`acquisition/${name}`), "comments", text);
  }

  /** Topics with a writer in the current file. */
  get topics(): string[] {
    return [...this.writers.keys()];
  }
}
