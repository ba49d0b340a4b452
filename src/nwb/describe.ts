/** A short inventory of what an NWB file holds (for summaries): series and tables with sizes. */
import { inventory } from "./inventory.js";
import { NwbFileReader } from "./nwb-file.js";

export interface ObjectSummary {
  path: string;
  neurodataType: string;
  rows: number;
  columns?: string[];
}

export async function describeNwb(path: string): Promise<ObjectSummary[]> {
  const nwb = await NwbFileReader.open(path);
  try {
    return inventory(nwb, { check: false }).objects.map((o) => ({
      path: `/${o.path}`,
      neurodataType: o.neurodataType,
      rows: o.rows,
      ...(o.columns ? { columns: o.columns } : {}),
    }));
  } finally {
    nwb.close();
  }
}
