/**
 * An NWB 2.x file: the root layout pynwb writes (required groups and datasets, typed-object
 * attributes), session metadata in /general, and the lifecycle (flush, close) of the typed
 * objects created inside it. It knows NWB and HDF5, nothing of where the data comes from.
 *
 * Capabilities are in the types (as zarrita's Readable / Mutable): {@link NwbFileReader.open}
 * opens a file read-only and gives a reader, which has no method that writes; {@link NwbFile}
 * (created, or opened to append) is a reader that can also write. Objects are found by their
 * neurodata_type ({@link NwbFileReader.findByType}), so files we did not write can be used.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppendableDataset } from "./hdf5/appendable-dataset.js";
import { setTextAttr, setTypeAttrs } from "./hdf5/attributes.js";
import { coreVersion, writeCachedSpec } from "./cached-spec.js";
import { type H5Dataset, type H5File, type H5Group, type H5Module, errorText, h5wasm, loadHdf5, openHdf5 } from "./hdf5/h5wasm.js";
import type { NwbMetadata } from "./metadata.js";
import { NwbError, OutputRefusedError } from "../errors.js";

/** Something holding staged rows that must reach the file on flush. */
export interface Flushable {
  flush(): void;
}

/**
 * An instant to the microsecond: a JS `Date` keeps only milliseconds, so a time that must stay
 * exact (a reference time taken from an event's timestamp) is given as integer µs since the epoch.
 */
export interface UnixMicros {
  unixMicros: number;
}

/** ISO 8601 with microseconds and a numeric UTC offset, as Python's datetime.isoformat writes. */
export function isoTimestamp(t: Date | UnixMicros): string {
  const micros = t instanceof Date ? t.getTime() * 1000 : Math.round(t.unixMicros);
  const ms = Math.floor(micros / 1000);
  const iso = new Date(ms).toISOString(); // 2026-01-01T00:00:00.000Z
  const sub = String(micros - ms * 1000).padStart(3, "0");
  return `${iso.slice(0, 19)}.${iso.slice(20, 23)}${sub}+00:00`;
}

export interface CreateOptions {
  /** Fail if the file exists (default) or replace it. */
  overwrite?: boolean;
  /** Reference time of all timestamps in the file; defaults to the session start time. */
  timestampsReferenceTime?: Date | UnixMicros;
  /** When the file is created (default: now). */
  now?: Date;
}

/** An object of the file with a neurodata_type: where it is and what it is. */
export interface TypedObject {
  /** Path from the root, without a leading slash (e.g. "acquisition/settings_annotations"). */
  path: string;
  neurodataType: string;
  namespace: string;
  kind: "group" | "dataset";
}

/** Session metadata as stored at the root of the file. */
export interface NwbFileInfo {
  identifier: string;
  sessionDescription: string;
  sessionStartTime: string;
  timestampsReferenceTime: string;
  nwbVersion: string;
}

/** An NWB file opened read-only: find objects, read datasets and attributes. It cannot write. */
export class NwbFileReader {
  protected closed = false;

  protected constructor(
    readonly module: H5Module,
    protected h5: H5File,
    readonly path: string,
  ) {}

  /** Open an existing NWB file read-only. Throws NwbError when it is not HDF5 or not NWB. */
  static async open(path: string): Promise<NwbFileReader> {
    const { module, file } = await openNwb(path, "r");
    return new NwbFileReader(module, file, path);
  }

  /** The object at `path`, or null when it (or a parent) does not exist. */
  get(path: string): ReturnType<H5File["get"]> {
    try {
      return this.h5.get(path);
    } catch {
      return null;
    }
  }

  /** The dataset at `path`; throws when it is missing or not a dataset. */
  dataset(path: string): H5Dataset {
    const d = this.get(path);
    if (!(d instanceof h5wasm.Dataset)) throw new NwbError(`${this.path}: ${path} is not a dataset`, this.path);
    return d;
  }

  has(path: string): boolean {
    return this.get(path) !== null;
  }

  /** A text or numeric attribute of the object at `path` (undefined when absent). */
  attr(path: string, name: string): unknown {
    const o = path === "" || path === "/" ? this.h5 : this.get(path);
    if (!(o instanceof h5wasm.Group) && !(o instanceof h5wasm.Dataset)) return undefined;
    return o.attrs[name]?.value;
  }

  /** Session metadata at the root. */
  info(): NwbFileInfo {
    const text = (p: string): string => {
      const v = this.get(p);
      return v instanceof h5wasm.Dataset ? String(v.value) : "";
    };
    return {
      identifier: text("identifier"),
      sessionDescription: text("session_description"),
      sessionStartTime: text("session_start_time"),
      timestampsReferenceTime: text("timestamps_reference_time"),
      nwbVersion: String(this.h5.attrs["nwb_version"]?.value ?? ""),
    };
  }

  /**
   * Every object with a neurodata_type (optionally: of these types), anywhere in the file, in
   * tree order. /specifications (the cached schema) is not searched.
   */
  findByType(...types: string[]): TypedObject[] {
    const want = types.length > 0 ? new Set(types) : undefined;
    const out: TypedObject[] = [];
    const walk = (group: H5Group, prefix: string): void => {
      for (const name of group.keys()) {
        const path = prefix === "" ? name : `${prefix}/${name}`;
        if (path === "specifications") continue;
        let obj: ReturnType<H5File["get"]>;
        try {
          obj = group.get(name);
        } catch {
          continue; // a dangling link or an unreadable object: not something we can use
        }
        if (!(obj instanceof h5wasm.Group) && !(obj instanceof h5wasm.Dataset)) continue;
        const type = obj.attrs["neurodata_type"]?.value;
        if (typeof type === "string" && (!want || want.has(type))) {
          const kind = obj instanceof h5wasm.Group ? "group" : "dataset";
          out.push({ path, neurodataType: type, namespace: String(obj.attrs["namespace"]?.value ?? ""), kind });
        }
        if (obj instanceof h5wasm.Group) walk(obj, path);
      }
    };
    walk(this.h5, "");
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.h5.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

/**
 * The part of an NWB file that is the same in every file we create: the root's type attributes,
 * the standard groups and the cached schema in /specifications (~147 KB of text that h5wasm copies
 * into the wasm heap string by string). Creating it is most of the cost of a small file.
 */
function writeFixedLayout(f: H5File): void {
  setTextAttr(f, "namespace", "core");
  setTextAttr(f, "neurodata_type", "NWBFile");
  setTextAttr(f, "nwb_version", coreVersion());
  for (const g of ["acquisition", "analysis", "processing", "stimulus", "stimulus/presentation", "stimulus/templates", "general"]) {
    f.create_group(g);
  }
  writeCachedSpec(f);
}

/** Files {@link NwbFile.create} has made in this thread. */
let filesCreated = 0;
let template: Promise<Uint8Array> | undefined;

/**
 * The fixed layout as the bytes of a closed HDF5 file, built once per thread (on its second file,
 * so a one-file run pays nothing for it): in a private temporary folder that is removed at once.
 * A file created from it is a byte copy, opened by HDF5 and completed with what is its own, which
 * took ~4× less time than laying it out (docs/benchmarks.md). The .specloc reference stays valid:
 * it is an address inside the copied bytes.
 */
function layoutTemplate(): Promise<Uint8Array> {
  template ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "nwb-settings-layout-"));
    try {
      const path = join(dir, "layout.nwb");
      const { file } = await openHdf5(path, "x");
      try {
        writeFixedLayout(file);
      } finally {
        file.close();
      }
      return readFileSync(path);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  })();
  // a failure (no temporary folder) is not kept: the next file tries again, or is laid out itself
  template.catch(() => {
    template = undefined;
  });
  return template;
}

/** Open an HDF5 file and check it is NWB (neurodata_type NWBFile at the root). */
async function openNwb(path: string, mode: "a" | "r"): Promise<{ module: H5Module; file: H5File }> {
  let opened: { module: H5Module; file: H5File };
  try {
    opened = await openHdf5(path, mode);
  } catch (err) {
    throw new NwbError(errorText(err), path, err);
  }
  if (opened.file.attrs["neurodata_type"]?.value !== "NWBFile") {
    opened.file.close();
    throw new NwbError(`${path} is not an NWB file (no neurodata_type NWBFile at the root)`, path);
  }
  return opened;
}

/** An NWB file we write: created, or an existing one opened to append. */
export class NwbFile extends NwbFileReader {
  /**
   * Start loading HDF5 now, so that it overlaps with whatever the caller does before its first
   * file (reading input). Failures surface at the first open or create.
   */
  static preload(): void {
    loadHdf5().catch(() => undefined);
  }

  private readonly flushables: Flushable[] = [];
  private readonly appendables: AppendableDataset[] = [];
  /**
   * Set by whoever owns the file: returns why the file may not be closed and reopened now (e.g. a
   * data stream is open), or undefined when it may. {@link reopen} refuses while it returns a reason.
   */
  reopenBlocker: (() => string | undefined) | undefined;

  /** The open HDF5 file; a different object after {@link reopen}. */
  get file(): H5File {
    return this.h5;
  }

  static async create(path: string, meta: NwbMetadata, options: CreateOptions = {}): Promise<NwbFile> {
    // The first file of a process is laid out by HDF5 as it goes; later ones (a batch, segments)
    // start as a copy of the fixed layout (see layoutTemplate).
    const template = filesCreated++ > 0 ? await layoutTemplate().catch(() => undefined) : undefined;
    let opened: { module: H5Module; file: H5File };
    if (template) {
      try {
        await writeFile(path, template, { flag: options.overwrite ? "w" : "wx" });
      } catch (err) {
        throw new NwbError(`cannot create ${path}: ${errorText(err)}`, path, err);
      }
      opened = await openHdf5(path, "a");
    } else {
      opened = await openHdf5(path, options.overwrite ? "w" : "x");
    }
    const { module, file } = opened;
    const nwb = new NwbFile(module, file, path);
    try {
      if (!template) writeFixedLayout(file);
      nwb.writeRoot(meta, options);
      file.flush();
    } catch (err) {
      file.close();
      throw new NwbError(`cannot lay out NWB file ${path}: ${errorText(err)}`);
    }
    return nwb;
  }

  /** Open an existing NWB file to append to it (read-only: {@link NwbFileReader.open}). */
  static override async open(path: string): Promise<NwbFile> {
    const { module, file } = await openNwb(path, "a");
    return new NwbFile(module, file, path);
  }

  /** What differs from file to file (the rest is {@link writeFixedLayout}). */
  private writeRoot(meta: NwbMetadata, options: CreateOptions): void {
    const f = this.file;
    const start = meta.session_start_time ?? options.now ?? new Date();
    setTextAttr(f, "object_id", randomUUID());
    f.create_dataset({ name: "file_create_date", data: [isoTimestamp(options.now ?? new Date())], shape: [1], maxshape: [null], chunks: [1], dtype: "A" });
    this.scalarText("identifier", meta.identifier ?? randomUUID());
    this.scalarText("session_description", meta.session_description);
    this.scalarText("session_start_time", isoTimestamp(start), "A");
    this.scalarText("timestamps_reference_time", isoTimestamp(options.timestampsReferenceTime ?? start), "A");
    this.writeGeneral(meta);
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
        if (v instanceof Date) {
          this.scalarText(`general/subject/${k}`, isoTimestamp(v), "A");
          continue;
        }
        this.scalarText(`general/subject/${k}`, v as string);
        if (k === "age") setTextAttr(this.dataset(`general/subject/age`), "reference", "birth");
      }
    }
  }

  /** The group at `path`, created (with parents) if missing. */
  group(path: string): H5Group {
    const existing = this.get(path);
    if (existing) {
      if (!(existing instanceof h5wasm.Group)) throw new NwbError(`${this.path}: ${path} exists and is not a group`, this.path);
      return existing;
    }
    const slash = path.lastIndexOf("/");
    if (slash > 0) this.group(path.slice(0, slash));
    return this.file.create_group(path);
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
    if (this.closed) throw new NwbError(`${this.path} is closed`);
    const blocked = this.reopenBlocker?.();
    if (blocked !== undefined) throw new OutputRefusedError(`${this.path}: cannot close and reopen the file now (${blocked})`, this.path);
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

  override close(): void {
    if (this.closed) return;
    try {
      this.flush();
    } finally {
      this.closed = true;
      this.file.close();
    }
  }
}
