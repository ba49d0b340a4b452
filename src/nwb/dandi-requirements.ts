/**
 * What DANDI requires of a file's session metadata before `dandi upload` accepts it (nwbinspector's
 * DANDI configuration rates these CRITICAL; `dandi validate` reports them as errors). Used to warn
 * before writing, naming the field and the fix (docs/metadata.md).
 */
import type { NwbMetadata } from "./metadata.js";

export interface MetadataGap {
  /** The field, as written in a --meta file (`subject.species`). */
  field: string;
  /** What is wrong and what DANDI does about it. */
  problem: string;
  /** What to write in the --meta file. */
  fix: string;
}

const REJECTED_MISSING = "is missing: dandi validate reports an error and dandi upload refuses the file";
const SEXES = ["M", "F", "U", "O"];
/** ISO 8601 duration as DANDI takes an age: P90D, P3Y6M, P12W, P1DT12H, or a range P90D/P120D. */
const ISO_DURATION =
  /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?(\/P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?)?$/;
/** "Genus species" (optionally a subspecies), or an NCBI taxonomy URL. */
const SPECIES = /^([A-Z][a-z]+ [a-z]+( [a-z]+)?|https?:\/\/purl\.obolibrary\.org\/obo\/NCBITaxon_\d+)$/;
/** DANDI identifiers (subject and session entities of a file name) keep to these. */
const DANDI_ID = /^[A-Za-z0-9-]+$/;

/** Gaps DANDI will reject, in the order a user would fill them in; empty when the metadata is complete. */
export function dandiGaps(meta: NwbMetadata): MetadataGap[] {
  const gaps: MetadataGap[] = [];
  const s = meta.subject;
  if (!s) {
    gaps.push({ field: "subject", problem: REJECTED_MISSING, fix: "a subject with subject_id, species, sex and age (or date_of_birth)" });
    return gaps;
  }
  if (!s.subject_id) gaps.push({ field: "subject.subject_id", problem: REJECTED_MISSING, fix: "subject_id: M1" });
  else if (!DANDI_ID.test(s.subject_id)) {
    gaps.push({
      field: "subject.subject_id",
      problem: `"${s.subject_id}" has characters DANDI file names (sub-<id>) cannot carry; dandi organize would rename it`,
      fix: "letters, digits and '-' only, e.g. subject_id: M1",
    });
  }
  if (!s.species) gaps.push({ field: "subject.species", problem: REJECTED_MISSING, fix: "species: Mus musculus (Latin binomial, or an NCBI taxonomy URL)" });
  else if (!SPECIES.test(s.species)) {
    gaps.push({
      field: "subject.species",
      problem: `"${s.species}" is not a Latin binomial or an NCBI taxonomy URL: dandi validate reports an error`,
      fix: "species: Mus musculus",
    });
  }
  if (!s.sex) gaps.push({ field: "subject.sex", problem: REJECTED_MISSING, fix: "sex: M (one of M, F, U for unknown, O for other)" });
  else if (!SEXES.includes(s.sex))
    gaps.push({ field: "subject.sex", problem: `"${s.sex}" is not one of M, F, U, O: dandi validate reports an error`, fix: "sex: U (unknown), M, F or O" });
  if (!s.age && !s.date_of_birth) {
    gaps.push({
      field: "subject.age",
      problem: "is missing (and so is date_of_birth): dandi validate reports an error and dandi upload refuses the file",
      fix: "age: P90D (ISO 8601 duration), or date_of_birth: 2026-01-15",
    });
  } else if (s.age && !ISO_DURATION.test(s.age)) {
    gaps.push({
      field: "subject.age",
      problem: `"${s.age}" is not an ISO 8601 duration: dandi validate reports an error`,
      fix: "age: P90D (90 days), P12W, P2Y",
    });
  }
  return gaps;
}

/** One warning line per gap: the field, the problem and the fix. */
export function describeGaps(gaps: readonly MetadataGap[], source: string): string[] {
  return gaps.map((g) => `warning: ${source}: ${g.field} ${g.problem}. Fix: ${g.fix}`);
}

/** The species nwbinspector takes for mouse (its check_electrodes_location_allen_ccf applies to them). */
const MOUSE_SPECIES = new Set(["Mus musculus", "Mouse", "mouse", "http://purl.obolibrary.org/obo/NCBITaxon_10090"]);

/**
 * Electrodes of a mouse subject must be located with an Allen Mouse Brain CCF term, or nwbinspector
 * reports a BEST_PRACTICE_VIOLATION (also under `--config dandi`). Recorded streams carry no
 * location, so their electrodes get `location` "unknown" unless one is given: that is honest, but
 * not a CCF term, and no valid term can be guessed ("root" claims "somewhere in the brain", which a
 * scalp EEG or EMG channel is not). Returns the warning to show, or undefined when none applies.
 */
export function electrodeLocationWarning(meta: NwbMetadata, location: string | undefined): string | undefined {
  if (location !== undefined) return undefined;
  const species = meta.subject?.species;
  if (species === undefined || !MOUSE_SPECIES.has(species)) return undefined;
  return (
    `labeled streams become ElectricalSeries whose electrodes get location "unknown", which is not an Allen Mouse Brain CCF term: ` +
    `with subject.species ${JSON.stringify(species)} nwbinspector (and --config dandi) reports a BEST_PRACTICE_VIOLATION. ` +
    `Give the location with --electrode-location (a CCF name or acronym, e.g. VISp; "root" when only "in the brain" is known)`
  );
}
