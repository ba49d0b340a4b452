/**
 * The warning `record --streams` prints when labeled streams would get electrode location
 * "unknown" for a mouse subject (nwbinspector's check_electrodes_location_allen_ccf applies to the
 * species it takes for mouse only, and is a BEST_PRACTICE_VIOLATION with and without --config dandi).
 */
import { describe, expect, it } from "vitest";
import { electrodeLocationWarning } from "../../../src/nwb/dandi-requirements.js";

describe("electrodeLocationWarning", () => {
  it.each(["Mus musculus", "mouse", "Mouse", "http://purl.obolibrary.org/obo/NCBITaxon_10090"])("warns for %s without a location", (species) => {
    const w = electrodeLocationWarning({ session_description: "x", subject: { subject_id: "m1", species } }, undefined);
    expect(w).toMatch(/location "unknown", which is not an Allen Mouse Brain CCF term/);
    expect(w).toMatch(/--electrode-location/);
  });

  it("is silent with a location, another species or no subject", () => {
    expect(electrodeLocationWarning({ session_description: "x", subject: { subject_id: "m1", species: "Mus musculus" } }, "VISp")).toBeUndefined();
    expect(electrodeLocationWarning({ session_description: "x", subject: { subject_id: "r1", species: "Rattus norvegicus" } }, undefined)).toBeUndefined();
    expect(electrodeLocationWarning({ session_description: "x" }, undefined)).toBeUndefined();
  });
});
