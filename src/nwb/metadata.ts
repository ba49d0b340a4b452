/**
 * Session metadata for the NWB file root and /general, read from a YAML or JSON file
 * (docs/metadata.md). Unknown keys are an error, so a typo never silently drops a field.
 */
import { readFile } from "node:fs/promises";
import { MetadataError } from "../errors.js";

export interface SubjectMetadata {
  subject_id?: string;
  species?: string;
  sex?: string;
  age?: string;
  /** ISO 8601 date or date-time (DANDI takes it instead of age). */
  date_of_birth?: Date;
  description?: string;
  genotype?: string;
  strain?: string;
  /** Text with units, e.g. "25 g". */
  weight?: string;
}

export interface NwbMetadata {
  session_description: string;
  identifier?: string;
  session_start_time?: Date;
  experimenter?: string[];
  experiment_description?: string;
  session_id?: string;
  institution?: string;
  lab?: string;
  keywords?: string[];
  notes?: string;
  protocol?: string;
  related_publications?: string[];
  subject?: SubjectMetadata;
}

export const DEFAULT_SESSION_DESCRIPTION = "Pipeline settings recorded by nwb-settings";

const TEXT_FIELDS = ["session_description", "identifier", "experiment_description", "session_id", "institution", "lab", "notes", "protocol"] as const;
const LIST_FIELDS = ["experimenter", "keywords", "related_publications"] as const;
const SUBJECT_FIELDS = ["subject_id", "species", "sex", "age", "date_of_birth", "description", "genotype", "strain", "weight"] as const;

export { MetadataError };

/** Validate a parsed metadata document (from YAML/JSON) into {@link NwbMetadata}. */
export function parseMetadata(doc: unknown, source: string): NwbMetadata {
  if (doc === null || doc === undefined) return { session_description: DEFAULT_SESSION_DESCRIPTION };
  if (typeof doc !== "object" || Array.isArray(doc)) throw new MetadataError(`${source}: metadata must be a mapping of field names to values`);
  const d = doc as Record<string, unknown>;
  const known = new Set<string>([...TEXT_FIELDS, ...LIST_FIELDS, "subject", "session_start_time"]);
  for (const k of Object.keys(d))
    if (!known.has(k)) throw new MetadataError(`${source}: unknown metadata field "${k}" (known: ${[...known].sort().join(", ")})`);
  const meta: NwbMetadata = { session_description: DEFAULT_SESSION_DESCRIPTION };
  for (const k of TEXT_FIELDS) {
    const v = d[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== "string" && typeof v !== "number") throw new MetadataError(`${source}: "${k}" must be text`);
    meta[k] = String(v);
  }
  for (const k of LIST_FIELDS) {
    const v = d[k];
    if (v === undefined || v === null) continue;
    const list = Array.isArray(v) ? v : [v];
    if (!list.every((x) => typeof x === "string")) throw new MetadataError(`${source}: "${k}" must be text or a list of text`);
    meta[k] = list as string[];
  }
  if (d.session_start_time !== undefined && d.session_start_time !== null) {
    const raw = d.session_start_time;
    const t = raw instanceof Date ? raw : new Date(String(raw));
    if (Number.isNaN(t.getTime())) throw new MetadataError(`${source}: "session_start_time" is not an ISO 8601 date-time`);
    meta.session_start_time = t;
  }
  if (d.subject !== undefined && d.subject !== null) {
    if (typeof d.subject !== "object" || Array.isArray(d.subject)) throw new MetadataError(`${source}: "subject" must be a mapping`);
    const s = d.subject as Record<string, unknown>;
    const subject: SubjectMetadata = {};
    for (const k of Object.keys(s)) {
      if (!(SUBJECT_FIELDS as readonly string[]).includes(k))
        throw new MetadataError(`${source}: unknown subject field "${k}" (known: ${SUBJECT_FIELDS.join(", ")})`);
      const v = s[k];
      if (v === undefined || v === null) continue;
      if (k === "date_of_birth") {
        const t = v instanceof Date ? v : new Date(String(v));
        if (Number.isNaN(t.getTime())) throw new MetadataError(`${source}: subject "date_of_birth" is not an ISO 8601 date`);
        subject.date_of_birth = t;
        continue;
      }
      if (typeof v !== "string" && typeof v !== "number") throw new MetadataError(`${source}: subject "${k}" must be text`);
      subject[k as Exclude<keyof SubjectMetadata, "date_of_birth">] = String(v);
    }
    meta.subject = subject;
  }
  return meta;
}

/** The YAML parser, loaded when metadata is first read from YAML (it is the CLI's largest dependency). */
async function loadYamlParser(): Promise<(text: string) => unknown> {
  const yaml = (await import("yaml")) as { parse?: (text: string) => unknown; default?: { parse: (text: string) => unknown } };
  // a CommonJS package imported from a bundle may come as its `default` export
  return yaml.parse ?? yaml.default!.parse;
}

/** Parse metadata from YAML text (`source` names it in errors). */
export async function parseYaml(text: string, source: string): Promise<NwbMetadata> {
  const parseYamlText = await loadYamlParser();
  let doc: unknown;
  try {
    doc = parseYamlText(text);
  } catch (err) {
    throw new MetadataError(`${source}: not valid YAML: ${(err as Error).message}`);
  }
  return parseMetadata(doc, source);
}

/** Read metadata from a `.yaml`/`.yml`/`.json` file. */
export async function loadMetadataFile(path: string): Promise<NwbMetadata> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new MetadataError(`cannot read metadata file ${path}: ${(err as Error).message}`);
  }
  if (!/\.json$/i.test(path)) return parseYaml(text, path);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new MetadataError(`${path}: not valid JSON: ${(err as Error).message}`);
  }
  return parseMetadata(doc, path);
}
