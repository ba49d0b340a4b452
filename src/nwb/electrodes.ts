/**
 * The extracellular-electrodes metadata an `ElectricalSeries` points to: a `Device`, one
 * `ElectrodeGroup` per series, and the file's `ElectrodesTable`
 * (/general/extracellular_ephys/electrodes: id, location, group (object reference), group_name,
 * label), laid out as pynwb 4 writes them. Rows are appended in place when a series is added.
 */
import { randomUUID } from "node:crypto";
import type { AppendableDataset } from "./hdf5/appendable-dataset.js";
import { setTextArrayAttr, setTextAttr, setTypeAttrs } from "./hdf5/attributes.js";
import { errorText, type h5wasm } from "./hdf5/h5wasm.js";
import type { NwbFile } from "./nwb-file.js";
import { NwbError } from "../errors.js";

const EPHYS = "general/extracellular_ephys";
const TABLE = `${EPHYS}/electrodes`;

export interface DeviceSpec {
  name: string;
  description: string;
}

export class ElectrodesTable {
  private constructor(
    private readonly nwb: NwbFile,
    private readonly id: AppendableDataset,
    private readonly location: AppendableDataset,
    private readonly groupName: AppendableDataset,
    private readonly label: AppendableDataset,
  ) {}

  /** The file's table, created on first use. */
  static forFile(nwb: NwbFile): ElectrodesTable {
    const existing = tables.get(nwb);
    if (existing) return existing;
    const g = nwb.group(TABLE);
    setTextArrayAttr(g, "colnames", ["location", "group", "group_name", "label"]);
    setTextAttr(g, "description", "metadata about extracellular electrodes");
    setTypeAttrs(g, "core", "ElectrodesTable", randomUUID());
    const col = (name: string, description: string): AppendableDataset => {
      const ds = nwb.createAppendable(`${TABLE}/${name}`, { type: "text", chunkRows: 256 });
      const h = nwb.dataset(`${TABLE}/${name}`);
      setTextAttr(h, "description", description);
      setTypeAttrs(h, "hdmf-common", "VectorData", randomUUID());
      return ds;
    };
    const location = col("location", "Location of the electrode (channel).");
    g.create_dataset({ name: "group", data: [], shape: [0], maxshape: [null], chunks: [256], dtype: "Reference" });
    const gd = nwb.dataset(`${TABLE}/group`);
    setTextAttr(gd, "description", "Reference to the ElectrodeGroup.");
    setTypeAttrs(gd, "hdmf-common", "VectorData", randomUUID());
    const groupName = col("group_name", "Name of the ElectrodeGroup.");
    const label = col("label", "Channel label, as the source named the channel.");
    const id = nwb.createAppendable(`${TABLE}/id`, { type: "int64", chunkRows: 256 });
    setTypeAttrs(nwb.dataset(`${TABLE}/id`), "hdmf-common", "ElementIdentifiers", randomUUID());
    const t = new ElectrodesTable(nwb, id, location, groupName, label);
    tables.set(nwb, t);
    return t;
  }

  get length(): number {
    return this.id.length;
  }

  /**
   * Add a device (once per name) and an electrode group, and one row per label in that group.
   * Written at once (flushed), so the rows exist before any series points at them. Returns the
   * new rows' indices.
   */
  addGroup(device: DeviceSpec, groupName: string, groupDescription: string, labels: readonly string[], location = "unknown"): number[] {
    const devPath = `general/devices/${device.name}`;
    if (!this.nwb.has(devPath)) {
      const d = this.nwb.group(devPath);
      setTextAttr(d, "description", device.description);
      setTypeAttrs(d, "core", "Device", randomUUID());
    }
    const groupPath = `${EPHYS}/${groupName}`;
    if (this.nwb.has(groupPath)) throw new NwbError(`${this.nwb.path} already has ${groupPath}`);
    const g = this.nwb.group(groupPath);
    setTextAttr(g, "description", groupDescription);
    setTextAttr(g, "location", location);
    setTypeAttrs(g, "core", "ElectrodeGroup", randomUUID());
    g.create_soft_link(`/${devPath}`, "device");
    const first = this.length;
    for (let i = 0; i < labels.length; i++) {
      this.id.append(BigInt(first + i));
      this.location.append(location);
      this.groupName.append(groupName);
      this.label.append(labels[i]!);
    }
    const gd = this.nwb.dataset(`${TABLE}/group`);
    const n = labels.length;
    try {
      gd.resize([first + n]);
      if (n > 0) {
        const ref = g.create_reference();
        gd.write_slice(
          [[first, first + n]],
          Array.from({ length: n }, () => ref),
        );
      }
    } catch (err) {
      throw new NwbError(`cannot add ${n} electrode(s) to ${TABLE}: ${errorText(err)}`);
    }
    this.id.flush();
    this.location.flush();
    this.groupName.flush();
    this.label.flush();
    return Array.from({ length: n }, (_, i) => first + i);
  }

  /** An object reference to the table (for a DynamicTableRegion's `table` attribute). */
  reference(): ReturnType<InstanceType<typeof h5wasm.Group>["create_reference"]> {
    return this.nwb.group(TABLE).create_reference();
  }
}

const tables = new WeakMap<NwbFile, ElectrodesTable>();
