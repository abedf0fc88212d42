// The mutation run only: a fixed seed makes the property tests sample the same inputs for every
// mutant and every run, so a score at the break threshold cannot flip on a lucky draw.
import fc from "fast-check";

fc.configureGlobal({ seed: 16 });
