/**
 * An NWB 2.x file: the root layout pynwb writes (required groups and datasets, typed-object
 * attributes), session metadata in /general, and the lifecycle (flush, close) of the typed
 * objects created inside it. It knows NWB and HDF5, nothing of where the data comes from.
 */
import { randomUUID } from "node:crypto";
import { AppendableDataset } from "./hdf5/appendable-dataset.js";
import { setTextAttr, setTypeAttrs } from "./hdf5/attributes.js";
import { coreVersion, writeCachedSpec } from "./cached-spec.js";
import { type H5Dataset, type H5File, type H5Group, type H5Module, errorText, h5wasm, loadHdf5, openHdf5 } from "./hdf5/h5wasm.js";
import type { NwbMetadata } from "./metadata.js";


/** Something holding staged rows that must reach the file on flush. */
export interface Flushable {
  flush(): void;
}

/** ISO 8601 with microseconds and a numeric UTC offset, as Python's datetime.isoformat writes. */
export function isoTimestamp(t: Date): string {
  const iso = t.toISOString(); // 2026-01-01T00:00:00.000Z
  return `${iso.slice(0, 19)}.${iso.slice(20, 23)}000+00:00`;
}

export interface CreateOptions {
  /** Fail if the file exists (default) or replace it. */
  overwrite?: boolean;
  /** Reference time of all timestamps in the file; defaults to the session start time. */
  timestampsReferenceTime?: Date;
  /** When the file is created (default: now). */
  now?: Date;
}

export class NwbFile {
  /**
   * Start loading HDF5 now, so that it overlaps with whatever the caller does before its first
   * file (reading input). Failures surface at the first open or create.
   */
  static preload(): void {
    loadHdf5().catch(() => undefined);
  }

  private readonly flushables: Flushable[] = [];
  private readonly appendables: AppendableDataset[] = [];
  private closed = false;

  private constructor(
    readonly module: H5Module,
    private h5: H5File,
    readonly path: string,
  ) {}

  /** The open HDF5 file; a different object after {@link reopen}. */
  get file(): H5File {
    return this.h5;
  }

  static async create(path: string, meta: NwbMetadata, options: CreateOptions = {}): Promise<NwbFile> {
    const { module, file } = await openHdf5(path, options.overwrite ? "w" : "x");
    const nwb = new NwbFile(module, file, path);
    try {
      nwb.writeRoot(meta, options);
      file.flush();
    } catch (err) {
      file.close();
      throw new Error(`cannot lay out NWB file ${path}: ${errorText(err)}`);
    }
    return nwb;
  }

  /** Reopen an existing NWB file to append to it. */
  static async open(path: string, mode: "a" | "r" = "a"): Promise<NwbFile> {
    const { module, file } = await openHdf5(path, mode);
    if (file.attrs["neurodata_type"]?.value !== "NWBFile") {
      file.close();
      throw new Error(`${path} is not an NWB file (no neurodata_type NWBFile at the root)`);
    }
    return new NwbFile(module, file, path);
  }

  private writeRoot(meta: NwbMetadata, options: CreateOptions): void {
    const f = this.file;
    const start = meta.session_start_time ?? options.now ?? new Date();
    setTextAttr(f, "namespace", "core");
    setTextAttr(f, "neurodata_type", "NWBFile");
    setTextAttr(f, "nwb_version", coreVersion());
    setTextAttr(f, "object_id", randomUUID());
    for (const g of ["acquisition", "analysis", "processing", "stimulus", "stimulus/presentation", "stimulus/templates", "general"]) {
      f.create_group(g);
    }
    f.create_dataset({ name: "file_create_date", data: [isoTimestamp(options.now ?? new Date())], shape: [1], maxshape: [null], chunks: [1], dtype: "A" });
    this.scalarText("identifier", meta.identifier ?? randomUUID());
    this.scalarText("session_description", meta.session_description);
    this.scalarText("session_start_time", isoTimestamp(start), "A");
    this.scalarText("timestamps_reference_time", isoTimestamp(options.timestampsReferenceTime ?? start), "A");
    this.writeGeneral(meta);
    writeCachedSpec(f);
  }

  private scalarText(path: string, value: string, dtype: "S" | "A" = "S"): void {
    this.file.create_dataset({ name: path, data: value, shape: [], dtype });
  }

  private textList(path: string, values: readonly string[]): void {
    this.file.create_dataset({ name: path, data: [...values], shape: [values.length], dtype: "S" });
  }

  private writeGeneral(meta: NwbMetadata): void {
    const text = ["experiment_description", "session_id", "institution", "lab", "notes", "protocol"] as const;
    for (const k of text) {
      const v = meta[k];
      if (v !== undefined) this.scalarText(`general/${k}`, v);
    }
    const lists = ["experimenter", "keywords", "related_publications"] as const;
    for (const k of lists) {
      const v = meta[k];
      if (v !== undefined && v.length > 0) this.textList(`general/${k}`, v);
    }
    if (meta.subject) {
      const subject = this.file.create_group("general/subject");
      setTypeAttrs(subject, "core", "Subject", randomUUID());
      for (const [k, v] of Object.entries(meta.subject)) {
        if (v === undefined) continue;
        this.scalarText(`general/subject/${k}`, v);
        if (k === "age") setTextAttr(this.dataset(`general/subject/age`), "reference", "birth");
      }
    }
  }

  /** The dataset at `path`; throws when it is missing or not a dataset. */
  dataset(path: string): H5Dataset {
    const d = this.get(path);
    if (!(d instanceof h5wasm.Dataset)) throw new Error(`${path} is not a dataset`);
    return d;
  }

  /** The object at `path`, or null when it (or a parent) does not exist. */
  get(path: string): ReturnType<H5File["get"]> {
    try {
      return this.file.get(path);
    } catch {
      return null;
    }
  }

  /** The group at `path`, created (with parents) if missing. */
  group(path: string): H5Group {
    const existing = this.get(path);
    if (existing) {
      if (!(existing instanceof h5wasm.Group)) throw new Error(`${path} exists and is not a group`);
      return existing;
    }
    const slash = path.lastIndexOf("/");
    if (slash > 0) this.group(path.slice(0, slash));
    return this.file.create_group(path);
  }

  has(path: string): boolean {
    return this.get(path) !== null;
  }

  createAppendable(path: string, spec: Parameters<typeof AppendableDataset.create>[3]): AppendableDataset {
    return this.track(AppendableDataset.create(this.module, this.file, path, spec));
  }

  openAppendable(path: string, type: Parameters<typeof AppendableDataset.open>[3]): AppendableDataset {
    return this.track(AppendableDataset.open(this.module, this.file, path, type));
  }

  private track(ds: AppendableDataset): AppendableDataset {
    this.appendables.push(ds);
    return ds;
  }

  /**
   * Flush, close the HDF5 file, run `patch` on the closed file, and reopen it ("a"). Every
   * AppendableDataset made through this file follows to the reopened file. Objects taken from
   * {@link file} before (groups, datasets) belong to the closed file: get them again. If reopening
   * fails, this NwbFile is closed.
   */
  async reopen(patch: (path: string) => Promise<unknown>): Promise<void> {
    if (this.closed) throw new Error(`${this.path} is closed`);
    this.flush();
    this.closed = true;
    this.h5.close();
    try {
      await patch(this.path);
    } finally {
      const { file } = await openHdf5(this.path, "a");
      this.h5 = file;
      for (const ds of this.appendables) ds.rebind(file);
      this.closed = false;
    }
  }

  /** Typed objects register here so that {@link flush} writes their staged rows. */
  register(f: Flushable): void {
    this.flushables.push(f);
  }

  /** Write every staged row, then flush HDF5's buffers to disk. The file is readable afterwards. */
  flush(): void {
    if (this.closed) return;
    for (const f of this.flushables) f.flush();
    this.file.flush();
  }

  close(): void {
    if (this.closed) return;
    try {
      this.flush();
    } finally {
      this.closed = true;
      this.file.close();
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
