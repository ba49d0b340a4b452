/** A short inventory of what an NWB file holds (for summaries): series and tables with sizes. */
import { h5wasm, openHdf5 } from "./hdf5/h5wasm.js";

export interface ObjectSummary {
  path: string;
  neurodataType: string;
  rows: number;
  columns?: string[];
}

export async function describeNwb(path: string): Promise<ObjectSummary[]> {
  const { file } = await openHdf5(path, "r");
  try {
    const out: ObjectSummary[] = [];
    for (const groupName of ["acquisition", "intervals"]) {
      const group = file.get(groupName);
      if (!(group instanceof h5wasm.Group)) continue;
      for (const name of group.keys()) {
        const obj = group.get(name);
        if (!(obj instanceof h5wasm.Group)) continue;
        const type = String(obj.attrs["neurodata_type"]?.value ?? "");
        const rowsOf = (ds: string): number => {
          const d = obj.get(ds);
          return d instanceof h5wasm.Dataset ? (d.shape?.[0] ?? 0) : 0;
        };
        const colnames = obj.attrs["colnames"]?.value;
        out.push({
          path: `/${groupName}/${name}`,
          neurodataType: type,
          rows: type === "AnnotationSeries" ? rowsOf("timestamps") : rowsOf("id"),
          ...(Array.isArray(colnames) ? { columns: colnames.map(String) } : {}),
        });
      }
    }
    return out;
  } finally {
    file.close();
  }
}
